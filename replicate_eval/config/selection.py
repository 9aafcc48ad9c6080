"""Which tests a run covers: --filter-pattern, --shard I/N, --filter-first-n, --var overrides.

A shard is chosen by a hash of the test itself (its description and vars), so a test stays in
its shard when other tests are added, removed or reordered, and N jobs cover every test once.
Tests keep their index in the config, so shard results merge back into one report.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import regex

from replicate_eval.assertions.base import flat_assertions
from replicate_eval.canonical import canonical_json
from replicate_eval.config.datasets import read_var_file
from replicate_eval.config.types import EvalConfig, TestCase
from replicate_eval.errors import ConfigError


@dataclass(frozen=True)
class Selection:
    pattern: regex.Pattern[str] | None = None  # on test descriptions
    shard: tuple[int, int] | None = None  # (I, N), I counted from 1
    first_n: int | None = None
    overrides: Mapping[str, str] = field(default_factory=dict)  # --var KEY=VALUE


# A description is short: a pattern that takes longer than this on one backtracks
# catastrophically (the `regex` engine checks the clock now and then, so it may overrun a little).
FILTER_TIME_LIMIT = 0.5


def _matches(pattern: regex.Pattern[str], test: TestCase) -> bool:
    assert test.description is not None
    try:
        return pattern.search(test.description, timeout=FILTER_TIME_LIMIT) is not None
    except TimeoutError:
        raise ConfigError(
            f"--filter-pattern /{pattern.pattern}/ did not finish matching the description of "
            f"tests[{test.index}] within {FILTER_TIME_LIMIT:g} s: the pattern backtracks "
            "catastrophically; simplify it (nested repeats such as `(a+)+` are the usual cause)"
        ) from None


def shard_of(test: TestCase, shards: int) -> int:
    """The shard (counted from 1) that a test belongs to among ``shards``."""
    identity = canonical_json({"description": test.description, "vars": dict(test.vars)})
    return int(hashlib.sha256(identity.encode()).hexdigest()[:12], 16) % shards + 1


def parse_selection(
    pattern: str | None,
    first_n: int | None,
    overrides: Mapping[str, str] | None,
    shard: str | None,
) -> Selection:
    """The options as a Selection; a malformed one is a ConfigError naming the option."""
    compiled = None
    if pattern is not None:
        try:
            compiled = regex.compile(pattern)
        except (regex.error, ValueError, OverflowError, RecursionError) as exc:
            raise ConfigError(
                f"--filter-pattern {pattern!r}: not a regular expression ({exc})"
            ) from None
    if first_n is not None and first_n < 1:
        raise ConfigError(f"--filter-first-n {first_n}: expected a whole number of at least 1")
    return Selection(compiled, _shard(shard), first_n, dict(overrides or {}))


def _shard(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if not match or not 1 <= int(match.group(1)) <= int(match.group(2)):
        raise ConfigError(f"--shard {text!r}: expected I/N with 1 <= I <= N, e.g. --shard 2/3")
    return int(match.group(1)), int(match.group(2))


def select_tests(config: EvalConfig, selection: Selection) -> EvalConfig:
    tests = list(config.tests)
    if selection.pattern is not None:
        tests = [t for t in tests if t.description and _matches(selection.pattern, t)]
    if selection.shard is not None:
        number, shards = selection.shard
        tests = [t for t in tests if shard_of(t, shards) == number]
    if selection.first_n is not None:
        tests = tests[: selection.first_n]
    if selection.overrides:
        base_dir = config.path.parent
        try:
            overrides = {k: read_var_file(v, base_dir) for k, v in selection.overrides.items()}
        except ConfigError as exc:
            raise ConfigError(f"--var: {exc}") from None
        tests = [replace(t, vars={**t.vars, **overrides}) for t in tests]
    # Only the judges of the selected tests: the others are not checked or called.
    used = {
        index
        for t in tests
        for s in flat_assertions(t.assertions)
        if s.grading is not None
        for index in (s.grading.grader, s.grading.embedder)
        if index is not None
    }
    graders = tuple(g for g in config.graders if g.index in used)
    shard = f"{selection.shard[0]}/{selection.shard[1]}" if selection.shard else None
    selected = shard is not None or len(tests) < len(config.tests)
    return replace(config, tests=tuple(tests), graders=graders, shard=shard, selected=selected)
