"""Checks on how the output was produced rather than on its text."""

from __future__ import annotations

from typing import Any

from replicate_eval.assertions.base import AssertionProblem, AssertionSpec, CheckContext, Outcome


def latency(output: str, value: Any, spec: AssertionSpec, ctx: CheckContext) -> Outcome:
    if ctx.latency_ms is None:
        raise AssertionProblem("no latency was measured for this output")
    limit = spec.threshold
    assert limit is not None  # enforced at load time
    if ctx.latency_ms <= limit:
        return Outcome(True, f"latency {ctx.latency_ms:.0f} ms is within {limit:g} ms")
    return Outcome(False, f"latency {ctx.latency_ms:.0f} ms exceeds {limit:g} ms")
