"""What the promptfoo-compatibility tests share: models of the fake, and what it was sent."""

from __future__ import annotations

from typing import Any

from tests.fake_replicate import FakeReplicate, Reply, tokens


def says_ok(model_input: dict[str, Any]) -> Reply:
    return Reply(tokens("ok"))


def says_its_prompt(model_input: dict[str, Any]) -> Reply:
    return Reply(tokens(str(model_input["prompt"])))


def inputs_sent(fake: FakeReplicate) -> list[dict[str, Any]]:
    return [request.body["input"] for request in fake.received("POST")]


def prompts_sent(fake: FakeReplicate) -> list[str]:
    return [sent["prompt"] for sent in inputs_sent(fake)]
