"""Prompt templates: Jinja2 in a sandbox with ``<< >>`` delimiters.

Angle delimiters keep ``{{ }}``, ``{% %}`` and ``{# #}`` free for the prompt text itself (JSON,
code, other template languages). ``template_syntax: curly`` switches to Jinja's usual delimiters
so promptfoo configs run verbatim. Var values are inserted as text and never rendered again.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import jinja2
from jinja2 import meta
from jinja2.sandbox import SandboxedEnvironment

from replicate_eval.errors import TemplateError

TemplateSyntax = Literal["angle", "curly"]

_DELIMITERS: dict[TemplateSyntax, dict[str, str]] = {
    "angle": {
        "variable_start_string": "<<",
        "variable_end_string": ">>",
        "block_start_string": "<%",
        "block_end_string": "%>",
        "comment_start_string": "<#",
        "comment_end_string": "#>",
    },
    "curly": {},
}


def _finalize(value: Any) -> Any:
    # A mapping or list var reads better (and parses) as JSON than as a Python repr.
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return value


@dataclass(frozen=True)
class TemplateSyntaxProblem:
    line: int | None
    message: str


class Templates:
    """Compiles each template source once and renders it for many tests."""

    def __init__(self, syntax: TemplateSyntax = "angle") -> None:
        self.syntax = syntax
        self._env = SandboxedEnvironment(
            undefined=jinja2.StrictUndefined,
            autoescape=False,
            finalize=_finalize,
            **_DELIMITERS[syntax],
        )
        self._compiled: dict[str, tuple[jinja2.Template, frozenset[str]]] = {}

    def check(self, source: str) -> TemplateSyntaxProblem | None:
        """A syntax problem in ``source``, or None when it compiles."""
        try:
            self._compile(source)
        except jinja2.TemplateSyntaxError as exc:
            return TemplateSyntaxProblem(exc.lineno, exc.message or str(exc))
        return None

    def variables(self, source: str) -> frozenset[str]:
        """The vars ``source`` reads from the test (names it sets itself are excluded)."""
        return self._compile(source)[1]

    def render(self, source: str, variables: Mapping[str, Any]) -> str:
        template, needed = self._compile(source)
        missing = sorted(needed - variables.keys())
        if missing:
            names = ", ".join(f"`{name}`" for name in missing)
            defined = ", ".join(sorted(variables)) or "none"
            noun = "var" if len(missing) == 1 else "vars"
            raise TemplateError(f"missing {noun} {names} (this test defines: {defined})")
        try:
            return template.render(variables)
        except jinja2.UndefinedError as exc:
            raise TemplateError(f"undefined value in template: {exc.message}") from None
        except jinja2.TemplateError as exc:
            raise TemplateError(f"template error: {exc}") from None

    def _compile(self, source: str) -> tuple[jinja2.Template, frozenset[str]]:
        compiled = self._compiled.get(source)
        if compiled is None:
            ast = self._env.parse(source)
            variables = frozenset(meta.find_undeclared_variables(ast))
            compiled = (self._env.from_string(ast), variables)
            self._compiled[source] = compiled
        return compiled


def may_be_template(text: str) -> bool:
    """True when ``text`` holds markers of either syntax: check its value only once rendered."""
    return any(marker in text for marker in ("<<", "<%", "{{", "{%"))


_CURLY_VAR = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


def curly_vars(source: str, var_names: Iterable[str]) -> list[str]:
    """Names of defined vars written as ``{{name}}``: under angle syntax they stay literal text."""
    defined = set(var_names)
    return sorted({name for name in _CURLY_VAR.findall(source) if name in defined})
