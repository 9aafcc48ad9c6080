"""What the model-graded tests share: a model under test, its judges, a config to run."""

from __future__ import annotations

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


def config(
    asserts: str, *, question: str = "What is the capital of France?", extra: str = ""
) -> str:
    return f"""
prompts: ['<<question>>']
providers: [replicate:{MODEL}]
tests:
  - vars: {{question: "{question}"}}
    assert:
{asserts}
{extra}
"""


def grader_prompts(fake: FakeReplicate) -> list[str]:
    return [request.body["input"]["prompt"] for request in fake.received("POST", GRADER_PATH)]


def assertion(run: Any, index: int = 0) -> dict[str, Any]:
    result: dict[str, Any] = run.cells[0]["assertions"][index]
    return result
