"""promptfoo's provider keys in a config reval runs unchanged: `env`, `config: null`, empty
options, and keys that are promptfoo's own (never model inputs)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import RunConfig
from tests.fake_replicate import FakeReplicate, Reply, tokens

CREATE = "/v1/models/meta/llama/predictions"
OWN_TOKEN = "r8_providerEnvToken0123456789abcdefghijk"


def llama(model_input: dict[str, Any]) -> Reply:
    return Reply(tokens("ok"))


def test_a_providers_env_token_is_its_token_and_never_an_input_or_written(
    fake_replicate: FakeReplicate, run_config: RunConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_replicate.tokens.add(OWN_TOKEN)
    fake_replicate.add_model("meta/llama", llama, official=True)
    monkeypatch.setenv("REPLICATE_API_TOKEN", "r8_the_process_token_is_not_this_ones")
    run = run_config(
        {
            "prompts": ["hi"],
            "providers": [
                {
                    "id": "replicate:meta/llama",
                    "env": {"REPLICATE_API_KEY": OWN_TOKEN, "REPLICATE_MAX_LENGTH": 77},
                }
            ],
        }
    )
    assert run.result.exit_code == 0, run.result.stderr
    [request] = fake_replicate.received("POST", CREATE)
    assert request.token == OWN_TOKEN
    # The provider's REPLICATE_MAX_LENGTH is its option, read as a number, as the process's is.
    assert request.body["input"] == {"max_length": 77, "prompt": "hi"}
    everything = run.result.stdout + run.result.stderr + json.dumps(run.json)
    assert OWN_TOKEN not in everything
    assert "env" not in json.dumps(run.json["providers"])


def test_the_providers_env_wins_over_the_process_and_apikey_over_both(
    fake_replicate: FakeReplicate, run_config: RunConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_replicate.tokens.update({OWN_TOKEN, "r8_apiKeyWinsOverEverything0123456789ab"})
    fake_replicate.add_model("meta/llama", llama, official=True)
    monkeypatch.setenv("REPLICATE_TEMPERATURE", "0.9")
    run = run_config(
        {
            "prompts": ["hi"],
            "providers": [
                {
                    "id": "replicate:meta/llama",
                    "label": "own env",
                    "env": {"REPLICATE_API_TOKEN": OWN_TOKEN, "REPLICATE_TEMPERATURE": "0.1"},
                },
                {
                    "id": "replicate:meta/llama",
                    "label": "apiKey",
                    "apiKey": "r8_apiKeyWinsOverEverything0123456789ab",
                    "env": {"REPLICATE_API_TOKEN": OWN_TOKEN},
                },
            ],
        }
    )
    assert run.result.exit_code == 0, run.result.stderr
    sent = {(r.token, r.body["input"].get("temperature")) for r in fake_replicate.received("POST")}
    assert sent == {(OWN_TOKEN, 0.1), ("r8_apiKeyWinsOverEverything0123456789ab", 0.9)}


def test_a_bad_token_in_a_providers_env_names_the_key(
    fake_replicate: FakeReplicate, run_config: RunConfig
) -> None:
    run = run_config(
        {
            "prompts": ["hi"],
            "providers": [{"id": "replicate:meta/llama", "env": {"REPLICATE_API_KEY": "r8 a b"}}],
        }
    )
    assert run.result.exit_code == 2
    assert "providers[0].env.REPLICATE_API_KEY" in run.result.stderr
    assert "Traceback" not in run.result.stderr
    assert fake_replicate.requests == []


def test_config_null_and_an_empty_system_prompt_are_promptfoos(
    fake_replicate: FakeReplicate, run_config: RunConfig
) -> None:
    fake_replicate.add_model("meta/llama", llama, official=True)
    fake_replicate.add_model("meta/other", llama, official=True)
    run = run_config(
        "prompts: [hi]\n"
        "providers:\n"
        "  - id: replicate:meta/llama\n"
        "    config:\n"
        "  - id: replicate:meta/other\n"
        "    config:\n"
        "      system_prompt: ''\n"
    )
    assert run.result.exit_code == 0, run.result.stderr
    bodies = {r.path: r.body["input"] for r in fake_replicate.received("POST")}
    assert bodies == {
        CREATE: {"prompt": "hi"},
        "/v1/models/meta/other/predictions": {"system_prompt": "", "prompt": "hi"},
    }
