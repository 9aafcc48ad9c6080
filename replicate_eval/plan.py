"""The plan: every cell (test x prompt x provider) with its prompt and assertions rendered.

Pure: no I/O and no model calls. A cell whose templates cannot be rendered (a missing var)
carries the error and is reported without a call; the rest of the run goes on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from replicate_eval.assertions import AssertionSpec
from replicate_eval.config.types import EvalConfig, Prompt, ProviderConfig, TestCase
from replicate_eval.errors import TemplateError
from replicate_eval.templating import Templates, time_limits


@dataclass(frozen=True)
class Cell:
    test: TestCase
    prompt: Prompt
    provider: ProviderConfig
    rendered_prompt: str | None  # None when rendering failed
    assertions: tuple[AssertionSpec, ...]  # values rendered with the test's vars
    error: str | None = None  # why this cell cannot run
    repeat: int = 0  # which of the --repeat runs of this test x prompt x provider


@dataclass(frozen=True)
class Plan:
    config: EvalConfig
    cells: tuple[Cell, ...]


def build_plan(config: EvalConfig, *, repeat: int = 1) -> Plan:
    """Every test x prompt x provider, ``repeat`` times (each a prediction of its own)."""
    templates = Templates(config.template_syntax)
    cells = []
    with time_limits():  # one handler for every render's time limit, not one per render
        for test in config.tests:
            assertions, assertion_error = _render_assertions(test, templates)
            for prompt in config.prompts:
                rendered, error = None, assertion_error
                try:
                    rendered = templates.render(prompt.template, test.vars)
                    if test.prefix or test.suffix:  # promptfoo's test `options.prefix`/`suffix`
                        rendered = f"{test.prefix}{rendered}{test.suffix}"
                except TemplateError as exc:
                    error = f"prompt `{prompt.label}`: {exc}"
                for provider in config.providers:
                    for run in range(repeat):
                        cells.append(Cell(test, prompt, provider, rendered, assertions, error, run))
    return Plan(config, tuple(cells))


def _render_assertions(
    test: TestCase, templates: Templates
) -> tuple[tuple[AssertionSpec, ...], str | None]:
    rendered = []
    for number, spec in enumerate(test.assertions, start=1):
        try:
            rendered.append(_rendered(spec, templates, test.vars))
        except TemplateError as exc:
            return test.assertions, f"assertion {number} (`{spec.type}`): {exc}"
    # Most values hold no template (`contains: ok`): the test's own specs are kept, one
    # object for every cell, instead of a copy per test.
    changed = any(new is not old for new, old in zip(rendered, test.assertions, strict=True))
    return (tuple(rendered) if changed else test.assertions), None


def _rendered(
    spec: AssertionSpec, templates: Templates, variables: Mapping[str, Any]
) -> AssertionSpec:
    """``spec`` with its value (and an assert-set's members') rendered; itself if unchanged."""
    if spec.children:
        children = tuple(_rendered(child, templates, variables) for child in spec.children)
        same = all(new is old for new, old in zip(children, spec.children, strict=True))
        return spec if same else replace(spec, children=children)
    value = _render_value(spec, templates, variables)
    if value == spec.value and type(value) is type(spec.value):
        return spec
    return replace(spec, value=value)


def _render_value(spec: AssertionSpec, templates: Templates, variables: Mapping[str, Any]) -> Any:
    if spec.value_kind in ("code", "none"):
        return spec.value

    def render(value: Any) -> Any:
        if isinstance(value, str):
            return templates.render(value, variables)
        if isinstance(value, list):
            return [render(item) for item in value]
        if isinstance(value, dict):
            return {key: render(item) for key, item in value.items()}
        return value

    return render(spec.value)
