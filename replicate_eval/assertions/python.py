"""The `python` assertion: the config's own code judges the output.

The config is trusted code, like a test file, but code that misbehaves must not take reval
down: it runs in worker processes (``replicate_eval.usercode``) with a time limit per call, so
an ``exit(0)``, a ``KeyboardInterrupt``, an endless loop or a crash is a failed assertion that
says what happened. Three forms are accepted:

* an expression: ``len(output) < 200``
* a function body (several lines, or any ``return``): receives ``output``, ``vars``, ``context``
  (``context["images"]`` lists an image model's saved files: path, format, width, height)
* ``file://checks.py`` or ``file://checks.py:name``: a function ``get_assert(output, context)``
  (promptfoo's convention), relative to the config file

The result may be a bool, a score (number; passes when above 0, or at least the assertion's
``threshold`` when one is set), or a mapping ``{"pass": bool, "score": float, "reason": str}``.

At load time the code is only compiled (and a file's function looked for in its source), so that
``reval validate`` reports a syntax error without running anything.
"""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path
from typing import Any, Protocol

from replicate_eval.assertions.base import (
    AssertionProblem,
    AssertionSpec,
    CheckContext,
    InvalidAssertion,
    Outcome,
)
from replicate_eval.usercode.worker import CheckProblem, PythonSource

# A module of checks is source code, not data.
MAX_MODULE_BYTES = 16 * 1024 * 1024


class UserCode(Protocol):
    """Where the code runs (``replicate_eval.usercode.UserCodePool``)."""

    async def check(
        self,
        source: PythonSource,
        output: Any,
        variables: Any,
        context: dict[str, Any],
        threshold: float | None,
    ) -> Any: ...


def prepare_python(value: Any, base_dir: Path) -> PythonSource:
    if not isinstance(value, str) or not value.strip():
        raise InvalidAssertion("value", "`python` needs its code as text")
    return python_source(value, base_dir, function="get_assert", what="python check")


def python_source(value: str, base_dir: Path, *, function: str, what: str) -> PythonSource:
    """The config's Python code (an expression, a function body or ``file://x.py[:name]``, whose
    function is ``function`` by default), compiled to check it. Raises InvalidAssertion."""
    source = value.strip()
    if source.startswith("file://"):
        return _from_file(source.removeprefix("file://"), base_dir, function)
    label = source if len(source) <= 60 and "\n" not in source else what
    try:
        compile(source, f"<{what}>", "eval")
    except SyntaxError:
        _check_body(source, what)
        return PythonSource(label, "body", source)
    return PythonSource(label, "expression", source)


def _check_body(source: str, what: str) -> None:
    wrapped = "def __reval_check(output, vars, context):\n" + textwrap.indent(source, "    ")
    try:
        compile(wrapped, f"<{what}>", "exec")
    except SyntaxError as exc:
        line = (exc.lineno or 2) - 1
        of = "check" if what == "python check" else what
        raise InvalidAssertion(
            "value", f"the Python code does not compile: {exc.msg} (line {line} of the {of})"
        ) from None


def _from_file(reference: str, base_dir: Path, default_function: str) -> PythonSource:
    path_text, _, name = reference.partition(":")
    name = name or default_function
    path = (base_dir / path_text).resolve()
    try:
        if not path.is_file():
            raise InvalidAssertion("value", f"no such Python file: {path}")
        if path.stat().st_size > MAX_MODULE_BYTES:
            raise InvalidAssertion("value", f"{path} is over {MAX_MODULE_BYTES >> 20} MiB")
        tree = ast.parse(path.read_bytes(), filename=str(path))
    except (OSError, ValueError, RecursionError, MemoryError) as exc:
        raise InvalidAssertion("value", f"cannot read {path}: {exc}") from None
    except SyntaxError as exc:
        raise InvalidAssertion(
            "value", f"{path.name}:{exc.lineno}: the Python code does not compile: {exc.msg}"
        ) from None
    names = _top_level_names(tree)
    if name not in names and "*" not in names:  # `from x import *` may define it
        raise InvalidAssertion("value", f"{path} has no function `{name}`")
    return PythonSource(f"{path.name}:{name}", "file", str(path), name)


def _top_level_names(tree: ast.Module) -> set[str]:
    """Names a module defines at its top level, read from its source without running it."""
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        else:
            for child in ast.walk(node):
                if isinstance(child, ast.Name) and isinstance(child.ctx, ast.Store):
                    names.add(child.id)
    return names


async def python_check(
    output: str, value: Any, spec: AssertionSpec, ctx: CheckContext, code: UserCode
) -> Outcome:
    source: PythonSource = spec.prepared
    context = {
        "vars": dict(ctx.vars),
        "prompt": ctx.prompt,
        "provider": ctx.provider_id,
        "latency_ms": ctx.latency_ms,
        # An image model's saved files: check them with Pillow or anything else.
        "images": [image.model_dump() for image in ctx.images],
        "config": dict(spec.config),  # promptfoo's assertion `config`
    }
    # A transform's JSON value is what promptfoo's check would be given; else the text.
    given = ctx.value if ctx.value is not None else output
    return await worker_verdict(code, source, given, ctx.vars, context, spec.threshold)


async def worker_verdict(
    code: UserCode,
    source: PythonSource,
    output: Any,
    variables: Any,
    context: dict[str, Any],
    threshold: float | None,
) -> Outcome:
    """What the config's code (Python or JavaScript) says of ``output``, run in the workers; a
    check that gave no verdict is the assertion's problem."""
    try:
        answer = await code.check(source, output, variables, context, threshold)
    except CheckProblem as problem:
        raise AssertionProblem(str(problem)) from None
    return Outcome(answer.passed, answer.reason, answer.score)
