"""Assertions: pure checks of an output, one function per type, looked up by name."""

from replicate_eval.assertions.base import AssertionSpec, CheckContext, InvalidAssertion
from replicate_eval.assertions.registry import (
    KINDS,
    Grade,
    Verdict,
    compile_assertion,
    evaluate,
    grade,
)

__all__ = [
    "KINDS",
    "AssertionSpec",
    "CheckContext",
    "Grade",
    "InvalidAssertion",
    "Verdict",
    "compile_assertion",
    "evaluate",
    "grade",
]
