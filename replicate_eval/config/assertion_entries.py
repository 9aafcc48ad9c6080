"""A test's assertions from the config: compiled (with promptfoo's `transform`, `metric` and
`assert-set`), then given their graders, and the test's own transform."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from replicate_eval.assertions import AssertionSpec, InvalidAssertion
from replicate_eval.assertions.base import ASSERT_SET
from replicate_eval.assertions.registry import compile_assertion
from replicate_eval.config.problems import Problem
from replicate_eval.config.providers import ProviderProblems
from replicate_eval.config.schema import AssertionEntry, ProviderEntry, TestEntry, TestOptions
from replicate_eval.config.yaml_source import Loc
from replicate_eval.errors import ConfigError
from replicate_eval.judging.settings import GraderResolver
from replicate_eval.templating import Templates
from replicate_eval.transforms import prepare_transform
from replicate_eval.usercode.worker import PythonSource

# An assert-set inside an assert-set inside ...: promptfoo allows one level (AssertionSet's
# items are Assertions); reval allows a few, and no more, so a hostile file cannot recurse.
MAX_SET_DEPTH = 4


@dataclass(frozen=True)
class CompiledAssertion:
    spec: AssertionSpec
    provider: ProviderEntry | None  # its `provider:` entry, for the grader
    loc: Loc  # where it is in the file
    children: tuple[CompiledAssertion, ...] = ()  # an assert-set's


def compile_entries(
    entries: list[AssertionEntry],
    owner: Loc,
    base_dir: Path,
    problems: list[Problem],
    depth: int = 0,
) -> list[CompiledAssertion]:
    """Each valid assertion of ``entries`` (under ``owner``); problems for the others."""
    compiled = []
    for index, entry in enumerate(entries):
        loc: Loc = (*owner, "assert", index)
        try:
            item = _compile(entry, loc, base_dir, problems, depth)
        except InvalidAssertion as exc:
            problems.append(Problem((*loc, exc.field), str(exc)))
            continue
        if item is None:
            continue
        if entry.transform is not None:
            try:
                spec = replace(item.spec, transform=prepare_transform(entry.transform, base_dir))
            except ConfigError as exc:
                problems.append(Problem((*loc, "transform"), str(exc)))
                continue
            item = replace(item, spec=spec)
        compiled.append(item)
    return compiled


def _compile(
    entry: AssertionEntry, loc: Loc, base_dir: Path, problems: list[Problem], depth: int
) -> CompiledAssertion | None:
    if entry.type != ASSERT_SET:
        if entry.assert_ is not None:
            raise InvalidAssertion("assert", f"only `{ASSERT_SET}` holds assertions of its own")
        spec = compile_assertion(
            entry.type,
            entry.value,
            weight=entry.weight,
            threshold=entry.threshold,
            base_dir=base_dir,
        )
        spec = replace(spec, metric=entry.metric, config=entry.config or {})
        return CompiledAssertion(spec, entry.provider, loc)
    if not entry.assert_:
        raise InvalidAssertion("assert", f"`{ASSERT_SET}` needs a list of assertions in `assert`")
    for key in ("value", "provider"):
        if getattr(entry, key) is not None:
            raise InvalidAssertion(key, f"`{ASSERT_SET}` takes no `{key}`")
    if entry.threshold is not None and not 0 <= entry.threshold <= 1:
        raise InvalidAssertion("threshold", f"`{ASSERT_SET}`'s `threshold` is a score from 0 to 1")
    if depth >= MAX_SET_DEPTH:
        raise InvalidAssertion("assert", f"assert-sets nest at most {MAX_SET_DEPTH} deep")
    count = len(problems)
    children = compile_entries(entry.assert_, loc, base_dir, problems, depth + 1)
    for child in children:
        if child.spec.comparative:
            problems.append(
                Problem(
                    (*child.loc, "type"),
                    f"`{child.spec.kind}` compares a test's outputs: it cannot be in an assert-set",
                )
            )
    if len(problems) > count:
        return None  # its members' problems are reported; the set is not kept half-built
    spec = AssertionSpec(
        type=ASSERT_SET,
        kind=ASSERT_SET,
        negate=False,
        value=None,
        value_kind="none",
        weight=entry.weight,
        threshold=entry.threshold,
        metric=entry.metric,
    )
    return CompiledAssertion(spec, None, loc, tuple(children))


def settle_all(
    compiled: list[CompiledAssertion],
    graders: GraderResolver,
    options: TestOptions | None,
    test_loc: Loc,
    templates: Templates,
    problems: list[Problem],
) -> list[AssertionSpec]:
    """The assertions with their graders chosen (the test's ``options`` say which)."""
    settled = []
    for item in compiled:
        if item.spec.kind == ASSERT_SET:
            members = settle_all(
                list(item.children), graders, options, test_loc, templates, problems
            )
            settled.append(replace(item.spec, children=tuple(members)))
            continue
        try:
            settled.append(
                graders.settle(
                    item.spec,
                    item.provider,
                    options,
                    assertion_loc=item.loc,
                    test_loc=test_loc,
                    syntax=templates.syntax,
                )
            )
        except ProviderProblems as exc:
            problems.extend(exc.problems)  # raise_problems drops repeats
    return settled


def test_transform(
    entry: TestEntry, default: TestEntry, test_loc: Loc, base_dir: Path, problems: list[Problem]
) -> PythonSource | None:
    """promptfoo's test transform: options merged over defaultTest's, then `transform` before
    its older name `postprocess` (src/evaluator.ts)."""
    for key in ("transform", "postprocess"):
        for options, loc in ((entry.options, test_loc), (default.options, ("defaultTest",))):
            code = getattr(options, key) if options is not None else None
            if code is None:
                continue
            try:
                return prepare_transform(code, base_dir)
            except ConfigError as exc:
                problems.append(Problem((*loc, "options", key), str(exc)))
                return None
    return None
