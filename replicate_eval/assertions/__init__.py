"""Assertions: pure checks of an output, one function per type, looked up by name in
``assertions.registry``. This package exports only the types every check shares."""

from replicate_eval.assertions.base import (
    AssertionProblem,
    AssertionSpec,
    CheckContext,
    GraderCalls,
    GraderPrompt,
    GraderRole,
    Grading,
    InvalidAssertion,
    JudgeUnavailable,
)

__all__ = [
    "AssertionProblem",
    "AssertionSpec",
    "CheckContext",
    "GraderCalls",
    "GraderPrompt",
    "GraderRole",
    "Grading",
    "InvalidAssertion",
    "JudgeUnavailable",
]
