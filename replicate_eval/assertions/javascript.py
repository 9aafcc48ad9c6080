"""promptfoo's `javascript` assertion, run as promptfoo runs it, in an embedded QuickJS engine.

promptfoo's semantics (src/assertions/javascript.ts): code on one line is an expression
(``return`` is put before it), code on several lines a function body; it receives ``output``
and ``context`` (``vars``, ``prompt``, ``provider``) and returns a bool, a score, or
``{pass, score, reason}``. For an image model, ``output`` is what promptfoo's image provider
returns, ``![prompt](url)`` of the first image, so promptfoo's checks of it still hold.

The code runs in the worker processes of ``python`` checks (``replicate_eval.usercode``), with
their time limit (``--check-timeout``: an endless loop stops its worker, not reval), in a fresh
QuickJS context per call with no file system, network, ``require`` or environment
(``process.env`` is empty: no token), 128 MiB of memory and a bounded stack.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from replicate_eval.assertions.base import (
    AssertionSpec,
    CheckContext,
    InvalidAssertion,
    Outcome,
)
from replicate_eval.assertions.python import UserCode, worker_verdict
from replicate_eval.usercode.worker import PythonSource

_ALT_LIMIT = 50  # promptfoo's image alt text: 47 characters and "..." past 50
_LABEL_LIMIT = 60  # an expression longer than this is called "javascript check" in reasons


def prepare_javascript(value: Any, base_dir: Path) -> PythonSource:
    """The check as a JavaScript function's source, compiled here (not run) so that a syntax
    error is reported when the config loads."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidAssertion("value", "`javascript` needs its code as text")
    code = value.strip()
    if code.startswith("file://"):
        raise InvalidAssertion(
            "value",
            "reval runs inline JavaScript only, not `file://` modules (they may `require` "
            "anything); put the check inline, or write it as a `python` assertion",
        )
    # As promptfoo (src/assertions/javascript.ts): several lines are a function body, and so is
    # one line that starts with a statement (`return ...`, `const n = ...; return n > 3`).
    is_body = "\n" in code or re.match(r"(return|const|let|var)\b", code) is not None
    body = code if is_body else f"return {code}"
    source = f"(function (output, context, process) {{\n{body}\n}})"
    import quickjs  # type: ignore[import-untyped]  # no stubs

    try:
        quickjs.Context().eval(source)  # makes the function; calls nothing
    except quickjs.JSException as exc:
        message = f"the JavaScript does not compile: {str(exc).strip().splitlines()[0]}"
        raise InvalidAssertion("value", message) from None
    one_line = "\n" not in code and len(code) <= _LABEL_LIMIT
    return PythonSource(code if one_line else "javascript check", "javascript", source)


async def javascript_check(
    output: str, value: Any, spec: AssertionSpec, ctx: CheckContext, code: UserCode
) -> Outcome:
    context = {
        "vars": dict(ctx.vars),
        "prompt": ctx.prompt,
        "provider": {"id": ctx.provider_id},
        "latency_ms": ctx.latency_ms,
        "config": dict(spec.config),  # promptfoo's assertion `config`
    }
    # A transform's JSON value is what promptfoo's check would be given; else the text.
    shown = ctx.value if ctx.value is not None else _promptfoo_output(output, ctx)
    return await worker_verdict(code, spec.prepared, shown, ctx.vars, context, spec.threshold)


def _promptfoo_output(output: str, ctx: CheckContext) -> str:
    """An image cell's output as promptfoo's image provider writes it; text as it is."""
    if not ctx.images:
        return output
    alt = " ".join(ctx.prompt.split()).replace("[", "(").replace("]", ")")
    if len(alt) > _ALT_LIMIT:
        alt = alt[: _ALT_LIMIT - 3] + "..."
    return f"![{alt}]({ctx.images[0].source})"
