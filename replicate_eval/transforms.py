"""promptfoo's output transforms, as Python: a provider's, a test's and an assertion's.

A transform is the config's code, run in the same worker processes as ``python`` checks
(``replicate_eval.usercode``): an expression (``output.strip()``), a function body, or
``file://x.py[:name]`` (promptfoo's ``get_transform(output, context)``). promptfoo's inline
transforms are JavaScript; reval refuses those at load time, naming the key and giving the Python
equivalent when one is obvious, rather than running them as Python and failing on every cell.

Order, as promptfoo applies them (src/evaluator.ts, src/assertions/index.ts): the provider's
``transform``, then the test's ``options.transform`` (or its older name ``postprocess``); the
result is the cell's output. An assertion's own ``transform`` changes only what that assertion
sees. A transform may return any JSON value; assertions on text see a non-string as compact JSON
(promptfoo's JSON.stringify), ``python`` and ``javascript`` checks get the value itself.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from replicate_eval.assertions.base import InvalidAssertion
from replicate_eval.assertions.python import python_source
from replicate_eval.errors import CellError, ConfigError
from replicate_eval.usercode.worker import CheckProblem, PythonSource


class TransformRunner(Protocol):
    """Where transforms run (``replicate_eval.usercode.UserCodePool``)."""

    async def transform(
        self,
        source: PythonSource,
        output: Any,
        variables: Mapping[str, Any],
        context: dict[str, Any],
    ) -> Any: ...


class TransformFailed(CellError):
    """A transform raised, returned nothing usable, or overran its time limit."""


def prepare_transform(value: Any, base_dir: Path) -> PythonSource:
    """A transform from the config, compiled to check it. Raises ConfigError (JavaScript is named
    as such, with its Python equivalent when there is an obvious one)."""
    if not isinstance(value, str) or not value.strip():
        raise ConfigError("a transform is Python code as text (or file://transform.py)")
    code = value.strip()
    if code.startswith("file://"):
        path = code.removeprefix("file://").partition(":")[0]
        if not path.endswith(".py"):
            raise ConfigError(
                f"reval runs transforms written in Python; `{path}` is not a .py file"
            )
    elif javascript_in(code):
        raise ConfigError(_javascript_message(code))
    try:
        return python_source(code, base_dir, function="get_transform", what="transform")
    except InvalidAssertion as exc:
        raise ConfigError(str(exc)) from None


def output_text(value: Any) -> str:
    """What text assertions see of a transformed output: text as it is, else compact JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


async def apply_transforms(
    runner: TransformRunner,
    chain: Sequence[tuple[str, PythonSource]],
    value: Any,
    variables: Mapping[str, Any],
    context: dict[str, Any],
) -> Any:
    """``value`` through each (where, transform) of ``chain`` in turn. Raises TransformFailed
    naming where the failing one was configured."""
    for where, source in chain:
        try:
            value = await runner.transform(source, value, variables, context)
        except CheckProblem as problem:
            raise TransformFailed(f"{where} transform {problem}") from None
    return value


# -- JavaScript, recognised -------------------------------------------------------------------

# Written only in JavaScript: never valid Python, or names Python code would not use.
_JS_SYNTAX = re.compile(r"=>|===|!==|&&|\|\||\b(?:const|let|var)\s+\w|\bfunction\s*\w*\s*\(")
_JS_NAMES = frozenset({"JSON", "undefined", "null", "true", "false", "console", "parseInt"})
_JS_NAMES |= {"parseFloat", "Math", "Object", "Array", "String", "Number"}
_JS_METHODS = frozenset(
    {"trim", "trimStart", "trimEnd", "toLowerCase", "toUpperCase", "startsWith", "endsWith"}
)
_JS_METHODS |= {"includes", "length", "toString", "indexOf", "substring", "forEach", "push"}


def javascript_in(code: str) -> bool:
    """Whether ``code`` is JavaScript: syntax Python has not, or Python that only names
    JavaScript's objects and methods (``output.trim()`` parses as Python, and fails on every
    cell)."""
    tree = _parsed(code)
    if tree is None:
        return bool(_JS_SYNTAX.search(_without_strings(code)))
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in _JS_METHODS:
            return True
        if isinstance(node, ast.Name) and node.id in _JS_NAMES:
            return True
    return False


def _parsed(code: str) -> ast.AST | None:
    for mode in ("eval", "exec"):
        try:
            return ast.parse(code, mode=mode)
        except (SyntaxError, ValueError):
            continue
    # `return x` at the top level: a function body.
    try:
        return ast.parse("def f():\n" + "\n".join(f" {line}" for line in code.splitlines()))
    except (SyntaxError, ValueError):
        return None


def _without_strings(code: str) -> str:
    return re.sub(r"'(?:\\.|[^'\\])*'|\"(?:\\.|[^\"\\])*\"|`(?:\\.|[^`\\])*`", "''", code)


# Obvious one-to-one rewrites of single-line JavaScript into Python.
_REWRITES: tuple[tuple[str, str], ...] = (
    (r"^return\s+", ""),
    (r";\s*$", ""),
    (r"\bJSON\.parse\(", "json.loads("),
    (r"\bJSON\.stringify\(", "json.dumps("),
    (r"\.trim\(\)", ".strip()"),
    (r"\.trimStart\(\)", ".lstrip()"),
    (r"\.trimEnd\(\)", ".rstrip()"),
    (r"\.toLowerCase\(\)", ".lower()"),
    (r"\.toUpperCase\(\)", ".upper()"),
    (r"\.startsWith\(", ".startswith("),
    (r"\.endsWith\(", ".endswith("),
    (r"((?:[\w.\]\[\"']|\(\))+)\.length\b", r"len(\1)"),
    (r"([\w.]+)\.includes\(([^(),]*)\)", r"\2 in \1"),
    (r"\s*===\s*", " == "),
    (r"\s*!==\s*", " != "),
    (r"\s*&&\s*", " and "),
    (r"\s*\|\|\s*", " or "),
    (r"\btrue\b", "True"),
    (r"\bfalse\b", "False"),
    (r"\bnull\b", "None"),
)


def python_equivalent(code: str) -> str | None:
    """The Python that does what a one-line JavaScript transform does, when it is obvious."""
    if "\n" in code.strip():
        return None
    python = code.strip()
    for pattern, replacement in _REWRITES:
        python = re.sub(pattern, replacement, python)
    # JSON.parse(output).answer: a dict's key, not an attribute.
    python = re.sub(
        r"(json\.loads\([^()]*\))((?:\.\w+)+)",
        lambda m: m[1] + "".join(f'["{key}"]' for key in m[2].split(".")[1:]),
        python,
    )
    try:
        ast.parse(python, mode="eval")
    except (SyntaxError, ValueError):
        return None
    return None if javascript_in(python) else python


def _javascript_message(code: str) -> str:
    shown = code if len(code) <= 80 and "\n" not in code else code.splitlines()[0][:77] + "…"
    message = (
        f"this transform is JavaScript (`{shown}`); reval runs transforms written in Python: "
        "an expression of `output` (and `context`), a function body that returns the new output, "
        "or file://transform.py with get_transform(output, context)"
    )
    equivalent = python_equivalent(code)
    if equivalent is not None:
        message += f". In Python: `{equivalent}`"
    return message
