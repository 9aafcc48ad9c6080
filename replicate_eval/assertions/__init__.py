"""Assertions: pure checks of an output, one function per type, looked up by name."""

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
from replicate_eval.assertions.registry import (
    KINDS,
    Grade,
    Verdict,
    compile_assertion,
    evaluate,
    evaluate_graded,
    evaluate_user_code,
    grade,
)

__all__ = [
    "KINDS",
    "AssertionProblem",
    "AssertionSpec",
    "CheckContext",
    "Grade",
    "GraderCalls",
    "GraderPrompt",
    "GraderRole",
    "Grading",
    "InvalidAssertion",
    "JudgeUnavailable",
    "Verdict",
    "compile_assertion",
    "evaluate",
    "evaluate_graded",
    "evaluate_user_code",
    "grade",
]
