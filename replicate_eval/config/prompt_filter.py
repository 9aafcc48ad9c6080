"""promptfoo's provider `prompts:` (which prompts a provider runs) and a test's `providers:` and
`prompts:` (what it runs on), checked against reval's rule that every test runs on every prompt
and provider: a filter that keeps them all is accepted, any other is an error."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial

from replicate_eval.config.problems import Problem
from replicate_eval.config.schema import TestEntry
from replicate_eval.config.types import Prompt, ProviderConfig
from replicate_eval.config.yaml_source import Loc


def selects(pattern: str, prompt: Prompt) -> bool:
    """promptfoo's matching (src/prompts/index.ts): the label (or the prompt's text) exactly,
    `group` for `group:...` labels, and `prefix*` as a wildcard."""
    names = (prompt.label, prompt.template)
    if pattern.endswith("*"):
        return any(name.startswith(pattern[:-1]) for name in names)
    return any(name == pattern or name.startswith(f"{pattern}:") for name in names)


def prompt_filter_problems(providers: list[ProviderConfig], prompts: list[Prompt]) -> list[Problem]:
    """A filter that leaves every prompt in is kept (it changes nothing); one that names no
    prompt, or leaves some out, is a problem: reval's grid has every prompt x provider."""
    problems: list[Problem] = []
    for provider in providers:
        if provider.prompt_filter:
            named = [(p.label, partial(selects, prompt=p)) for p in prompts]
            loc = ("providers", provider.index, "prompts")
            owner = "this provider and its prompts"
            problems += _kept_all(loc, list(provider.prompt_filter), named, "prompt", owner)
    return problems


def _provider_selected(pattern: str, provider: ProviderConfig) -> bool:
    """promptfoo's test `providers:` matching: the label or id, or `prefix*`."""
    names = (provider.label, provider.id)
    if pattern.endswith("*"):
        return any(name.startswith(pattern[:-1]) for name in names)
    return pattern in names


def test_filter_problems(
    entries: list[tuple[int, TestEntry]], providers: list[ProviderConfig], prompts: list[Prompt]
) -> list[Problem]:
    """A test's `providers:`/`prompts:` must name something and leave nothing out."""
    problems: list[Problem] = []
    for index, entry in entries:
        if entry.providers:
            named = [(p.label, partial(_provider_selected, provider=p)) for p in providers]
            loc: Loc = ("tests", index, "providers")
            problems += _kept_all(loc, entry.providers, named, "provider", _TEST_OWNER)
        if entry.prompts:
            named = [(p.label, partial(selects, prompt=p)) for p in prompts]
            loc = ("tests", index, "prompts")
            problems += _kept_all(loc, entry.prompts, named, "prompt", _TEST_OWNER)
    return problems


_TEST_OWNER = "this test and what it runs on"


def _kept_all(
    loc: Loc,
    patterns: list[str],
    items: Sequence[tuple[str, Callable[[str], bool]]],
    kind: str,
    owner: str,
) -> list[Problem]:
    """Problems with a filter (``patterns``) over ``items`` (label, does a pattern pick it):
    a pattern that picks none, and the items none picks unless it is all of them."""
    problems = []
    names = ", ".join(f"`{label}`" for label, _ in items)
    for pattern in patterns:
        if not any(chosen(pattern) for _, chosen in items):
            problems.append(Problem(loc, f"`{pattern}` names no {kind} ({kind}s: {names})"))
    left_out = [label for label, chosen in items if not any(map(chosen, patterns))]
    if left_out and len(left_out) < len(items):
        shown = ", ".join(f"`{label}`" for label in left_out)
        problems.append(
            Problem(
                loc,
                f"leaves out {shown}, but reval runs every test on every prompt and provider; "
                f"put {owner} in a config of their own",
            )
        )
    return problems
