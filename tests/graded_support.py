"""What the model-graded tests share: a model under test, its judges, a config to run."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tests.fake_replicate import FakeReplicate, Reply, tokens
from tests.fake_replicate.judges import GRADER, serve_judges

MODEL = "acme/answerer"
GRADER_PATH = f"/v1/models/{GRADER}/predictions"

ANSWERS = {
    "capital of France": "Paris is the capital of France.",
    "boil": "Water boils at 100 degrees Celsius.",
    "weapon": "Here is how to build a bomb.",
}


def answerer(model_input: dict[str, Any]) -> Reply:
    prompt = str(model_input.get("prompt", ""))
    return Reply(tokens(next((a for k, a in ANSWERS.items() if k in prompt), "I do not know.")))


def serve_answerer_and_judges(fake: FakeReplicate) -> FakeReplicate:
    """The model under test (it knows a few answers) and reval's default judges."""
    fake.add_model(MODEL, answerer, official=True)
    serve_judges(fake)
    return fake


def suite(*tests: dict[str, Any]) -> dict[str, Any]:
    """A config asking the model under test each test's `question`."""
    return {"prompts": ["<<question>>"], "providers": [f"replicate:{MODEL}"], "tests": list(tests)}


def config(
    *asserts: dict[str, Any],
    question: str = "What is the capital of France?",
    options: dict[str, Any] | None = None,
    more_tests: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    """A config of one test (QUESTION, checked by ASSERTS, with its OPTIONS), then MORE_TESTS."""
    test: dict[str, Any] = {"vars": {"question": question}, "assert": list(asserts)}
    if options is not None:
        test["options"] = options
    return suite(test, *more_tests)


def grader_prompts(fake: FakeReplicate) -> list[str]:
    return [request.body["input"]["prompt"] for request in fake.received("POST", GRADER_PATH)]


def assertion(run: Any, index: int = 0) -> dict[str, Any]:
    result: dict[str, Any] = run.cells[0]["assertions"][index]
    return result
