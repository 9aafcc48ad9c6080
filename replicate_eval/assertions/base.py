"""The shapes every assertion shares: a spec from the config, a context, an outcome."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from replicate_eval.errors import ConfigError, RevalError
from replicate_eval.media import SavedImage
from replicate_eval.usercode.worker import PythonSource

# How an assertion's `value` is written and rendered:
#   text       one string, rendered with the test's vars
#   texts      a list of strings (or one comma-separated string), each rendered
#   any        any YAML value; strings inside are rendered
#   code       Python source, never rendered
#   none       no value
#   optional   like any, or no value at all
ValueKind = Literal["text", "texts", "any", "optional", "code", "none"]


class InvalidAssertion(ConfigError):
    """An assertion in the config is malformed; ``field`` names the key to point at."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


# Which model judges a model-graded assertion: an instruction model reading a grader prompt,
# an embedding model, or a Llama Guard model.
GraderRole = Literal["text", "embedding", "moderation"]


# A grader prompt template from the config: text, or chat messages as (role, content).
GraderPrompt = str | tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Grading:
    """How a model-graded assertion is judged, settled at load time."""

    grader: int  # the grader's index in the run (EvalConfig.graders)
    origin: str = ""  # where it was chosen: `tests[0].options.provider`, `--grader`...
    prompt: GraderPrompt | None = None  # `options.rubricPrompt`, replacing the shipped one
    prompt_syntax: Literal["angle", "curly"] = "angle"  # the config's template syntax
    factuality: Mapping[str, float] = field(default_factory=dict)  # category -> score
    embedder: int | None = None  # kinds that also embed texts (answer-relevance): its index


@dataclass(frozen=True)
class AssertionSpec:
    """One assertion from the config, validated. ``value`` may still hold template markers."""

    type: str  # as written, including any `not-` prefix
    kind: str  # the registry name, without `not-`
    negate: bool
    value: Any
    value_kind: ValueKind
    weight: float = 1.0
    threshold: float | None = None
    # Kind-specific data prepared once at load time (a compiled check function, for instance).
    prepared: Any = field(default=None, compare=False)
    grading: Grading | None = None  # for model-graded kinds
    runs_user_code: bool = False  # a kind that runs the config's code (`python`)
    comparative: bool = False  # judged across a test's outputs (select-best, max-score)
    transform: PythonSource | None = None  # promptfoo's: what this assertion sees of the output
    metric: str | None = None  # promptfoo's named metric its score counts toward
    # promptfoo's assertion `config`: given to python and javascript checks as context.config.
    config: Mapping[str, Any] = field(default_factory=dict, compare=False)
    # promptfoo's `assert-set` (kind ASSERT_SET): its assertions, graded with its threshold.
    children: tuple[AssertionSpec, ...] = ()


ASSERT_SET = "assert-set"


def flat_assertions(specs: Iterable[AssertionSpec]) -> Iterator[AssertionSpec]:
    """Every assertion, those inside assert-sets included (depth first)."""
    for spec in specs:
        yield spec
        yield from flat_assertions(spec.children)


@dataclass(frozen=True)
class CheckContext:
    """What a check may look at besides the output."""

    vars: Mapping[str, Any]
    prompt: str
    latency_ms: float | None
    provider_id: str
    images: tuple[SavedImage, ...] = ()  # what an image model made, saved on disk
    # A transform's result when it is not text: what `python`/`javascript` checks are given.
    value: Any = None


@dataclass(frozen=True)
class Outcome:
    """A check's verdict. ``reason`` states what was observed, true in both directions."""

    passed: bool
    reason: str
    score: float | None = None  # None: 1.0 when passed, 0.0 when not

    @property
    def final_score(self) -> float:
        if self.score is not None:
            return self.score
        return 1.0 if self.passed else 0.0


class GraderCalls(Protocol):
    """The grader of one assertion: asks its model, remembering every call for the results."""

    async def ask(self, prompt: str, extra_input: Mapping[str, Any] | None = None) -> str:
        """The grader model's output for ``prompt`` (plus ``extra_input`` in the model input).

        Raises AssertionProblem when the grader could not answer."""
        ...

    async def embed(self, text: str) -> str:
        """The embedding model's output for ``text``, for kinds that also embed (``embeds``).

        Raises AssertionProblem when it could not answer."""
        ...


Check = Callable[[str, Any, AssertionSpec, CheckContext], Outcome]
Judge = Callable[[str, Any, AssertionSpec, CheckContext, GraderCalls], Awaitable[Outcome]]
# The config's own code, run where it cannot take reval down (replicate_eval.usercode).
RunUserCode = Callable[[str, Any, AssertionSpec, CheckContext, Any], Awaitable[Outcome]]
Prepare = Callable[[Any, Path], Any]


@dataclass(frozen=True)
class AssertionKind:
    name: str
    check: Check | None
    value: ValueKind
    # Validates the raw value at load time; returns data kept in AssertionSpec.prepared.
    prepare: Prepare | None = None
    needs_threshold: bool = False
    # Model-graded kinds: judged by a model in this role instead of `check`.
    judge: Judge | None = None
    grader: GraderRole | None = None
    embeds: bool = False  # a text grader that also needs an embedding model
    # Kinds that run the config's own code: given a UserCodePool instead of `check`.
    user_code: RunUserCode | None = None
    # Judged across the outputs of one test once they are all in (replicate_eval.comparisons).
    comparative: bool = False


class AssertionProblem(RevalError):
    """A check could not judge the output (bad regex, crashing Python check...).

    Unlike a failed check this is never inverted by a `not-` prefix: the assertion fails.
    """


class JudgeUnavailable(AssertionProblem):
    """The model that judges an assertion could not be asked (404, a server error, a network
    fault): nothing is known of the output, so the cell is an error, not the model's failure."""
