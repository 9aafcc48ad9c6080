"""The process that runs a config's own Python code (``python`` assertions), one call at a time.

Started by ``pool.py`` as ``python -m replicate_eval.usercode.worker``. It imports nothing of
reval's (a bare interpreter starts fast) and keeps reval's process out of reach of the code it
runs: an ``exit()``, a ``KeyboardInterrupt``, an endless loop or a crash ends or blocks this
process, never reval, which kills and replaces it.

Protocol: frames of a 4-byte big-endian length and a payload, on private copies of stdin and
stdout (the code's own ``print`` goes to /dev/null and ``input()`` reads nothing). Requests are
pickles from reval, the trusted side; replies are JSON, so nothing the code writes can make reval
run anything. A request is ``("load", source)``, ``("check", source, output, vars, context,
threshold)`` or ``("transform", source, output, vars, context)``; a reply is ``{"ok": [passed,
reason, score]}`` (for a transform ``{"ok": value}``) or ``{"problem": message}``.
"""

from __future__ import annotations

import builtins
import ctypes
import importlib.util
import json
import math
import os
import pickle
import re
import signal
import struct
import textwrap
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

# A reason longer than this is cut: a check could return megabytes of text.
MAX_REASON = 2000

_GLOBALS: dict[str, Any] = {"__builtins__": builtins, "json": json, "re": re, "math": math}

CheckFunction = Callable[[str, Mapping[str, Any], dict[str, Any]], Any]


@dataclass(frozen=True)
class PythonSource:
    """A ``python`` assertion's code, as reval validated it at load time (picklable)."""

    label: str  # how reasons refer to the code
    form: str  # "expression", "body", "file", or "javascript" (a function's source)
    code: str  # the source, or the file's path for "file"
    function: str = "get_assert"  # for "file": promptfoo's convention


class CheckProblem(Exception):
    """The code could not give a verdict; the message says why."""


def _describe_exit(error: BaseException, wanted: str = "a verdict") -> str:
    if isinstance(error, SystemExit):
        return f"called exit({error.code!r}) instead of returning {wanted}"
    if isinstance(error, KeyboardInterrupt):
        return "raised KeyboardInterrupt"
    return f"raised {type(error).__name__}: {error}"


class Checks:
    """Compiled code and imported modules, kept for the life of the worker."""

    def __init__(self) -> None:
        self._functions: dict[PythonSource, CheckFunction] = {}

    def load(self, source: PythonSource) -> CheckFunction:
        function = self._functions.get(source)
        if function is None:
            function = self._compile(source)
            self._functions[source] = function
        return function

    def _compile(self, source: PythonSource) -> CheckFunction:
        if source.form == "expression":
            code = compile(source.code, "<python assertion>", "eval")

            def expression(
                output: str, variables: Mapping[str, Any], context: dict[str, Any]
            ) -> Any:
                # Names go in globals so that comprehensions inside the expression see them.
                return eval(
                    code, {**_GLOBALS, "output": output, "vars": variables, "context": context}
                )

            return expression
        if source.form == "body":
            wrapped = "def __reval_check(output, vars, context):\n" + textwrap.indent(
                source.code, "    "
            )
            namespace = dict(_GLOBALS)
            exec(compile(wrapped, "<python assertion>", "exec"), namespace)
            body: CheckFunction = namespace["__reval_check"]
            return body
        if source.form == "javascript":
            return _javascript(source.code)
        return self._from_file(source)

    def _from_file(self, source: PythonSource) -> CheckFunction:
        path = Path(source.code)
        spec = importlib.util.spec_from_file_location(f"reval_check_{abs(hash(path))}", path)
        if spec is None or spec.loader is None:
            raise CheckProblem(f"cannot load {path} as a Python module")
        module = importlib.util.module_from_spec(spec)
        try:
            spec.loader.exec_module(module)
        except BaseException as error:
            raise CheckProblem(f"{path.name} failed to import: {_describe_exit(error)}") from None
        target = getattr(module, source.function, None)
        if not callable(target):
            raise CheckProblem(f"{path.name} has no function `{source.function}`")

        def call(output: str, variables: Mapping[str, Any], context: dict[str, Any]) -> Any:
            return target(output, context)

        return call


def interpret(result: Any, label: str, threshold: float | None) -> tuple[bool, str, float | None]:
    """What a check returned, as (passed, reason, score): a bool, a score, or a mapping
    ``{"pass": ..., "score": ..., "reason": ...}`` (promptfoo's GradingResult)."""
    if isinstance(result, bool):
        return result, f"`{label}` returned {result}", None
    if isinstance(result, (int, float)) and math.isfinite(result):
        score = float(result)
        if threshold is None:
            return score > 0, f"`{label}` scored {score:g} (passes above 0)", score
        return score >= threshold, f"`{label}` scored {score:g} (threshold {threshold:g})", score
    if isinstance(result, Mapping) and "pass" in result:
        passed = bool(result["pass"])
        given = result.get("score")
        reason = str(result.get("reason") or f"`{label}` returned pass={passed}")
        given_score = float(given) if isinstance(given, (int, float)) else None
        if given_score is not None and not math.isfinite(given_score):
            given_score = None
        return passed, reason, given_score
    shown = repr(result)
    # Not clip(): this process imports nothing of reval's (see the module docstring).
    shown = shown if len(shown) <= 200 else shown[:199] + "…"
    raise CheckProblem(
        f"`{label}` returned {shown}; return True/False, a score, "
        'or {"pass": ..., "score": ..., "reason": ...}'
    )


# promptfoo's `javascript` checks run in QuickJS, inside this worker (the pool's time limit
# stops an endless loop by stopping the worker); the engine bounds memory and stack itself.
_JS_MEMORY = 128 * 1024 * 1024
_JS_STACK = 1024 * 1024


def _javascript(source: str) -> CheckFunction:
    import quickjs  # type: ignore[import-untyped]  # no stubs

    def call(output: str, variables: Mapping[str, Any], context: dict[str, Any]) -> Any:
        engine = quickjs.Context()  # a fresh one per call: nothing leaks between cells
        engine.set_memory_limit(_JS_MEMORY)
        engine.set_max_stack_size(_JS_STACK)
        try:
            check = engine.eval(source)
            result = check(
                # A transform's JSON value is the JavaScript value promptfoo would pass.
                output if isinstance(output, str) else engine.parse_json(json.dumps(output)),
                engine.parse_json(json.dumps(context, default=str)),
                engine.parse_json('{"env": {}}'),  # promptfoo's `process`, without the token
            )
        except quickjs.JSException as error:
            raise CheckProblem(f"failed: {str(error).strip().splitlines()[0]}") from None
        return json.loads(result.json()) if isinstance(result, quickjs.Object) else result

    return call


def answer(checks: Checks, request: tuple[Any, ...]) -> dict[str, Any]:
    kind, source = request[0], request[1]
    wanted = "a value" if kind == "transform" else "a verdict"
    try:
        function = checks.load(source)
        if kind == "load":
            return {"ok": [True, "", None]}
        output, variables, context = request[2:5]
        try:
            result = function(output, variables, context)
        except CheckProblem as problem:
            raise CheckProblem(f"`{source.label}` {problem}") from None
        except BaseException as error:
            raise CheckProblem(f"`{source.label}` {_describe_exit(error, wanted)}") from None
        if kind == "transform":
            return {"ok": _json_value(result, source.label)}
        passed, reason, score = interpret(result, source.label, request[5])
    except CheckProblem as problem:
        return {"problem": _cut(str(problem))}
    except BaseException as error:
        return {"problem": _cut(f"`{source.label}` {_describe_exit(error, wanted)}")}
    return {"ok": [passed, _cut(reason), score]}


# A transform's value crosses back to reval as JSON: bounded, like a model's output.
MAX_VALUE_BYTES = 16 * 1024 * 1024


def _json_value(result: Any, label: str) -> Any:
    """A transform's result as JSON can carry it; None is an error, as promptfoo's is."""
    if result is None:
        raise CheckProblem(f"`{label}` returned None; a transform must return the new output")
    try:
        text = json.dumps(result, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError, RecursionError) as error:
        raise CheckProblem(
            f"`{label}` returned a {type(result).__name__} that JSON cannot hold ({error}); "
            "return text, a number, a list or a dict"
        ) from None
    if len(text) > MAX_VALUE_BYTES:
        raise CheckProblem(f"`{label}` returned over {MAX_VALUE_BYTES >> 20} MiB")
    return json.loads(text)


def _cut(text: str) -> str:
    # Not clip(): nothing of reval's is imported here, and a reason keeps its whitespace.
    return text if len(text) <= MAX_REASON else text[: MAX_REASON - 1] + "…"


def _read_frame(stream: BinaryIO) -> bytes | None:
    header = stream.read(4)
    if len(header) < 4:
        return None
    (size,) = struct.unpack(">I", header)
    return stream.read(size)


def _die_with_parent() -> None:
    """Linux: the kernel kills this process when reval ends, even by SIGKILL, even while the
    code loops in C. Elsewhere the closed pipe ends the worker at its next request."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def main() -> None:
    _die_with_parent()
    # The terminal's Ctrl-C is reval's to handle; this process only ever ends by reval's hand.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    requests = os.fdopen(os.dup(0), "rb")
    replies = os.fdopen(os.dup(1), "wb")
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1):
        os.dup2(null, fd)
    checks = Checks()
    while True:
        frame = _read_frame(requests)
        if frame is None:
            return  # reval closed the pipe
        reply = json.dumps(answer(checks, pickle.loads(frame))).encode()
        replies.write(struct.pack(">I", len(reply)) + reply)
        replies.flush()


if __name__ == "__main__":
    main()
