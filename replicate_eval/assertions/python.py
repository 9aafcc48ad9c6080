"""The `python` assertion: user code judges the output.

The config is trusted code, like a test file: the check runs in reval's own process with full
Python. Three forms are accepted:

* an expression: ``len(output) < 200``
* a function body (several lines, or any ``return``): receives ``output``, ``vars``, ``context``
  (``context["images"]`` lists an image model's saved files: path, format, width, height)
* ``file://checks.py`` or ``file://checks.py:name``: a function ``get_assert(output, context)``
  (promptfoo's convention), relative to the config file

The result may be a bool, a score (number; passes when above 0, or at least the assertion's
``threshold`` when one is set), or a mapping ``{"pass": bool, "score": float, "reason": str}``.
"""

from __future__ import annotations

import builtins
import importlib.util
import json
import math
import re
import textwrap
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from replicate_eval.assertions.base import (
    AssertionProblem,
    AssertionSpec,
    CheckContext,
    InvalidAssertion,
    Outcome,
)

_GLOBALS: dict[str, Any] = {"__builtins__": builtins, "json": json, "re": re, "math": math}

CheckFunction = Callable[[str, Mapping[str, Any], dict[str, Any]], Any]


@dataclass(frozen=True)
class PythonCheck:
    label: str  # how reasons refer to the code
    function: CheckFunction


def prepare_python(value: Any, base_dir: Path) -> PythonCheck:
    if not isinstance(value, str) or not value.strip():
        raise InvalidAssertion("value", "`python` needs its code as text")
    source = value.strip()
    if source.startswith("file://"):
        return _from_file(source.removeprefix("file://"), base_dir)
    label = source if len(source) <= 60 and "\n" not in source else "python check"
    try:
        code = compile(source, "<python assertion>", "eval")
    except SyntaxError:
        return PythonCheck(label, _function_body(source))

    def evaluate(output: str, variables: Mapping[str, Any], context: dict[str, Any]) -> Any:
        # Names go in globals so that comprehensions inside the expression can see them.
        scope = {**_GLOBALS, "output": output, "vars": variables, "context": context}
        return eval(code, scope)

    return PythonCheck(label, evaluate)


def _function_body(source: str) -> CheckFunction:
    wrapped = "def __reval_check(output, vars, context):\n" + textwrap.indent(source, "    ")
    namespace = dict(_GLOBALS)
    try:
        exec(compile(wrapped, "<python assertion>", "exec"), namespace)
    except SyntaxError as exc:
        line = (exc.lineno or 2) - 1
        raise InvalidAssertion(
            "value", f"the Python code does not compile: {exc.msg} (line {line} of the check)"
        ) from None
    function: CheckFunction = namespace["__reval_check"]
    return function


def _from_file(reference: str, base_dir: Path) -> PythonCheck:
    path_text, _, name = reference.partition(":")
    name = name or "get_assert"
    path = (base_dir / path_text).resolve()
    if not path.is_file():
        raise InvalidAssertion("value", f"no such Python file: {path}")
    spec = importlib.util.spec_from_file_location(f"reval_check_{abs(hash(path))}", path)
    if spec is None or spec.loader is None:
        raise InvalidAssertion("value", f"cannot load {path} as a Python module")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        raise InvalidAssertion("value", f"{path} failed to import: {exc!r}") from None
    target = getattr(module, name, None)
    if not callable(target):
        raise InvalidAssertion("value", f"{path} has no function `{name}`")

    def call(output: str, variables: Mapping[str, Any], context: dict[str, Any]) -> Any:
        return target(output, context)

    return PythonCheck(f"{path.name}:{name}", call)


def python_check(output: str, value: Any, spec: AssertionSpec, ctx: CheckContext) -> Outcome:
    check: PythonCheck = spec.prepared
    context = {
        "vars": dict(ctx.vars),
        "prompt": ctx.prompt,
        "provider": ctx.provider_id,
        "latency_ms": ctx.latency_ms,
        # An image model's saved files: check them with Pillow or anything else.
        "images": [image.as_dict() for image in ctx.images],
    }
    try:
        result = check.function(output, ctx.vars, context)
    except Exception as exc:
        raise AssertionProblem(f"`{check.label}` raised {type(exc).__name__}: {exc}") from None
    return _interpret(result, check.label, spec.threshold)


def _interpret(result: Any, label: str, threshold: float | None) -> Outcome:
    if isinstance(result, bool):
        return Outcome(result, f"`{label}` returned {result}")
    if isinstance(result, (int, float)) and math.isfinite(result):
        score = float(result)
        if threshold is None:
            return Outcome(score > 0, f"`{label}` scored {score:g} (passes above 0)", score)
        return Outcome(
            score >= threshold, f"`{label}` scored {score:g} (threshold {threshold:g})", score
        )
    if isinstance(result, Mapping) and "pass" in result:
        passed = bool(result["pass"])
        given = result.get("score")
        reason = str(result.get("reason") or f"`{label}` returned pass={passed}")
        return Outcome(passed, reason, float(given) if isinstance(given, (int, float)) else None)
    raise AssertionProblem(
        f"`{label}` returned {result!r}; return True/False, a score, "
        'or {"pass": ..., "score": ..., "reason": ...}'
    )
