"""Which template syntax a config is written in when it does not say: reval's ``<<var>>``, or
promptfoo's ``{{var}}`` for a promptfoo config that runs unchanged."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from replicate_eval.templating import TemplateSyntax, curly_vars

if TYPE_CHECKING:
    from replicate_eval.config.types import Prompt, TestCase

_ANGLE = ("<<", "<%")
# `{{ name`, `{{- name`, `{% if name`, `{% for x in name`: the first name a tag reads.
_CURLY_READ = re.compile(
    r"\{[{%]-?\s*(?:(?:if|elif|for\s+[A-Za-z_]\w*(?:\s*,\s*[A-Za-z_]\w*)*\s+in)\s+)?"
    r"([A-Za-z_]\w*)"
)


def inferred_syntax(templates: Iterable[str], var_names: Collection[str]) -> TemplateSyntax:
    """``curly`` when no template uses ``<<`` or ``<%`` and one reads a defined var with
    ``{{ }}`` or ``{% %}``; ``angle`` otherwise (a lone ``{{`` in a prompt stays text)."""
    curly = False
    for template in templates:
        if any(marker in template for marker in _ANGLE):
            return "angle"
        curly = curly or any(name in var_names for name in _CURLY_READ.findall(template))
    return "curly" if curly else "angle"


def template_texts(value: Any) -> Iterable[str]:
    """The strings inside an assertion value (text, lists, mappings), which are templates too."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from template_texts(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from template_texts(item)


INFERRED_CURLY_NOTE = (
    "{path}: no `template_syntax` is set and the templates read their vars as `{{{{name}}}}`, "
    "promptfoo's syntax, so they are rendered with it; add `template_syntax: curly` to say so, "
    "or `template_syntax: angle` to send the braces as text"
)


def chosen_syntax(
    written: TemplateSyntax | None,
    prompts: Iterable[str],
    assertion_values: Iterable[Any],
    var_names: Collection[str],
) -> tuple[TemplateSyntax, bool]:
    """The file's syntax (``written``, else inferred from its prompts and assertion values),
    and whether reval inferred promptfoo's, to say so."""
    if written is not None:
        return written, False
    texts = [*prompts, *(piece for value in assertion_values for piece in template_texts(value))]
    syntax = inferred_syntax(texts, var_names)
    return syntax, syntax == "curly"


def syntax_warnings(
    path: Path, prompts: Sequence[Prompt], tests: Sequence[TestCase], syntax: TemplateSyntax
) -> list[str]:
    """Warn once when `{{var}}` under angle syntax would be sent literally."""
    if syntax != "angle":
        return []
    names = {name for test in tests for name in test.vars}
    hits = {p.label: found for p in prompts if (found := curly_vars(p.template, names))}
    if not hits:
        return []
    listing = "; ".join(
        f"prompt `{label}` has " + ", ".join(f"{{{{{name}}}}}" for name in found)
        for label, found in hits.items()
    )
    return [
        f"{path}: {listing}. reval's default template syntax is `<<var>>`, so these are "
        "sent as literal text. Write `<<name>>` instead, or add `template_syntax: curly` at "
        "the top of the config to use `{{name}}` as promptfoo does."
    ]
