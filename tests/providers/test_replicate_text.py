"""`replicate:` text providers end to end: what reaches Replicate, and what comes back.

Every test runs `reval run` against the fake Replicate API through the real SDK and asserts on
the requests the server received.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import RunConfig
from tests.fake_replicate import FakeReplicate, Reply, tokens

GEMMA_VERSION = "2790a695e5dcae15506138cc4718d1106d0d475e6dca4b1d43f42414647993d5"

SEED = {
    "prompts": ["What is the capital of <<country>>?"],
    "providers": [
        {
            "id": "replicate:meta/llama-2-7b-chat",
            "temperature": 0.01,
            "max_length": 1024,
            "prefix": "[INST] ",
            "suffix": " [/INST]",
        },
        {
            "id": f"replicate:google-deepmind/gemma-7b-it:{GEMMA_VERSION}",
            "config": {
                "temperature": 0.01,
                "max_new_tokens": 1024,
                "prompt": {
                    "prefix": "<start_of_turn>user\n",
                    "suffix": "<end_of_turn>\n<start_of_turn>model",
                },
            },
        },
    ],
    "tests": [{"vars": {"country": "France"}, "assert": [{"type": "icontains", "value": "paris"}]}],
}


def hi(model: str = "meta/llama") -> dict[str, Any]:
    """The smallest config: one prompt, one Replicate model."""
    return {"prompts": ["hi"], "providers": [f"replicate:{model}"]}


def paris(model_input: dict[str, Any]) -> Reply:
    return Reply(tokens("The capital is Paris."))


def test_seed_entries_send_exactly_these_requests(
    fake_replicate: FakeReplicate, run_config: RunConfig
) -> None:
    fake_replicate.add_model("meta/llama-2-7b-chat", paris, official=True)
    fake_replicate.add_model("google-deepmind/gemma-7b-it", paris, versions=[GEMMA_VERSION])

    run = run_config(SEED)

    assert run.result.exit_code == 0, run.result.stdout + run.result.stderr
    [llama] = fake_replicate.received("POST", "/v1/models/meta/llama-2-7b-chat/predictions")
    assert llama.body == {
        "input": {
            "temperature": 0.01,
            "max_length": 1024,
            "prompt": "[INST] What is the capital of France? [/INST]",
        }
    }
    [gemma] = fake_replicate.received("POST", "/v1/predictions")
    assert gemma.body == {
        "version": GEMMA_VERSION,
        "input": {
            "temperature": 0.01,
            "max_new_tokens": 1024,
            "prompt": "<start_of_turn>user\nWhat is the capital of France?<end_of_turn>\n"
            "<start_of_turn>model",
        },
    }
    for request in (llama, gemma):
        assert request.headers["prefer"] == "wait=60"
        assert request.token == fake_replicate.token
        assert request.headers["user-agent"].startswith("reval/")
    assert [c["output"] for c in run.cells] == ["The capital is Paris."] * 2
    assert run.json["totals"]["predictions"] == 2


def test_environment_fallbacks_reach_the_model_as_numbers(
    fake_replicate: FakeReplicate,
    run_config: RunConfig,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake_replicate.add_model("meta/llama", official=True)
    for name, value in {
        "REPLICATE_TEMPERATURE": "0.5",
        "REPLICATE_MAX_NEW_TOKENS": "64",
        "REPLICATE_SEED": "7",
        "REPLICATE_SYSTEM_PROMPT": "Be terse.",
    }.items():
        monkeypatch.setenv(name, value)
    run = run_config(
        {
            "prompts": ["hi"],
            "providers": [{"id": "replicate:meta/llama", "top_k": 5, "custom_flag": True}],
        }
    )
    assert run.result.exit_code == 0
    [request] = fake_replicate.received("POST")
    assert request.body["input"] == {
        "top_k": 5,
        "custom_flag": True,
        "temperature": 0.5,
        "max_new_tokens": 64,
        "seed": 7,
        "system_prompt": "Be terse.",
        "prompt": "hi",
    }


def test_bad_environment_value_stops_before_any_request(
    fake_replicate: FakeReplicate,
    run_config: RunConfig,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REPLICATE_TOP_K", "many")
    run = run_config(hi())
    assert run.result.exit_code == 2
    assert "REPLICATE_TOP_K='many' is not a whole number" in run.result.stderr
    assert fake_replicate.requests == []


def test_missing_token_stops_before_any_request(
    fake_replicate: FakeReplicate,
    run_config: RunConfig,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("REPLICATE_API_TOKEN")
    run = run_config(hi())
    assert run.result.exit_code == 2
    assert "no Replicate API token" in run.result.stderr
    assert "Traceback" not in run.result.stderr
    assert fake_replicate.requests == []


def test_api_key_in_config_is_used_and_never_shown(
    fake_replicate: FakeReplicate,
    run_config: RunConfig,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    fake_replicate.tokens.add("r8_config_only_secret_token")
    fake_replicate.add_model("meta/llama", lambda i: Reply(error="boom"), official=True)
    monkeypatch.setenv("REPLICATE_API_TOKEN", "r8_wrong_env_token")
    run = run_config(
        {
            "prompts": ["hi"],
            "providers": [{"id": "replicate:meta/llama", "apiKey": "r8_config_only_secret_token"}],
        }
    )
    [request] = fake_replicate.received("POST")
    assert request.token == "r8_config_only_secret_token"
    assert "apiKey" not in request.body["input"]
    everything = run.result.stdout + run.result.stderr + json.dumps(run.json)
    assert "r8_config_only_secret_token" not in everything


def test_chat_prompt_sends_system_and_user_messages(
    fake_replicate: FakeReplicate, run_config: RunConfig
) -> None:
    fake_replicate.add_model("meta/llama", official=True)
    run = run_config(
        {
            "prompts": [
                '[{"role": "system", "content": "You are <<persona>>."}, '
                '{"role": "user", "content": "Hello <<name>>"}]'
            ],
            "providers": [
                {
                    "id": "replicate:meta/llama",
                    "system_prompt": "ignored for chats",
                    "prefix": "[INST] ",
                    "suffix": " [/INST]",
                }
            ],
            "tests": [{"vars": {"persona": "a pirate", "name": "Ada"}}],
        }
    )
    assert run.result.exit_code == 0
    [request] = fake_replicate.received("POST")
    assert request.body["input"] == {
        "system_prompt": "You are a pirate.",
        "prompt": "[INST] Hello Ada [/INST]",
    }


def test_chat_vars_with_quotes_stay_valid_json_with_tojson(
    fake_replicate: FakeReplicate, run_config: RunConfig
) -> None:
    fake_replicate.add_model("meta/llama", official=True)
    run = run_config(
        {
            "prompts": ['[{"role": "user", "content": <<question | tojson>>}]'],
            "providers": ["replicate:meta/llama"],
            "tests": [{"vars": {"question": 'Is "<b>" a tag?'}}],
        }
    )
    assert run.result.exit_code == 0
    [request] = fake_replicate.received("POST")
    assert request.body["input"] == {"prompt": 'Is "<b>" a tag?'}


def test_chat_with_several_turns_is_a_cell_error(
    fake_replicate: FakeReplicate, run_config: RunConfig
) -> None:
    fake_replicate.add_model("meta/llama", official=True)
    run = run_config(
        {
            "prompts": [
                '[{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}, '
                '{"role": "user", "content": "c"}]'
            ],
            "providers": ["replicate:meta/llama"],
        }
    )
    assert run.result.exit_code == 100
    assert "needs exactly one `user` message" in run.cells[0]["error"]
    assert fake_replicate.received("POST") == []


def test_config_system_prompt_is_sent_for_plain_prompts(
    fake_replicate: FakeReplicate, run_config: RunConfig
) -> None:
    fake_replicate.add_model("meta/llama", official=True)
    run_config(
        {
            "prompts": ["[INST] not json"],
            "providers": [{"id": "replicate:meta/llama", "system_prompt": "Be kind."}],
        }
    )
    [request] = fake_replicate.received("POST")
    assert request.body["input"] == {"system_prompt": "Be kind.", "prompt": "[INST] not json"}


def test_deployment_provider_uses_the_deployment_endpoint(
    fake_replicate: FakeReplicate, run_config: RunConfig
) -> None:
    fake_replicate.add_deployment("acme/support-bot", fake_replicate.add_model("acme/base"))
    run = run_config(
        {
            "prompts": ["hi"],
            "providers": [{"id": "replicate:deployment:acme/support-bot", "temperature": 0.2}],
        }
    )
    assert run.result.exit_code == 0
    [request] = fake_replicate.received("POST", "/v1/deployments/acme/support-bot/predictions")
    assert request.body == {"input": {"temperature": 0.2, "prompt": "hi"}}


def test_model_without_version_runs_its_latest_version(
    fake_replicate: FakeReplicate, run_config: RunConfig
) -> None:
    """Only official models run by name; reval resolves others once, like promptfoo's docs say."""
    latest = "b" * 64
    fake_replicate.add_model("mistralai/mistral-7b", versions=["a" * 64, latest])
    run = run_config(
        {"prompts": ["one", "two", "three"], "providers": ["replicate:mistralai/mistral-7b"]},
        "-j",
        "1",
        "--no-preflight",  # it would look the model up too; this is about the run's own look-up
    )
    assert run.result.exit_code == 0
    assert len(fake_replicate.received("POST", "/v1/models/mistralai/mistral-7b/predictions")) == 1
    assert len(fake_replicate.received("GET", "/v1/models/mistralai/mistral-7b")) == 1
    by_version = fake_replicate.received("POST", "/v1/predictions")
    assert [r.body["version"] for r in by_version] == [latest] * 3


def test_unknown_model_is_a_clear_error(
    fake_replicate: FakeReplicate, run_config: RunConfig
) -> None:
    # The preflight stops such a run before it starts; without it, every cell says so.
    run = run_config(hi("nobody/nothing"), "--no-preflight")
    assert run.result.exit_code == 100
    assert run.cells[0]["error"] == (
        "model `nobody/nothing` was not found on Replicate (404). Check the id, and that your "
        "token can see it."
    )


def test_long_prediction_is_polled_until_it_finishes(
    fake_replicate: FakeReplicate, run_config: RunConfig
) -> None:
    fake_replicate.add_model(
        "meta/slow",
        lambda i: Reply(tokens("slow but sure"), starting=0.2, processing=0.5),
        official=True,
    )
    run = run_config(hi("meta/slow"))
    assert run.result.exit_code == 0
    cell = run.cells[0]
    assert cell["output"] == "slow but sure"
    polls = fake_replicate.received("GET", f"/v1/predictions/{cell['prediction_id']}")
    assert len(polls) >= 1
    assert cell["metrics"]["predict_time"] == pytest.approx(0.5, abs=0.05)
    assert cell["latency_ms"] >= 700


def test_failed_prediction_is_a_cell_error_and_the_run_goes_on(
    fake_replicate: FakeReplicate, run_config: RunConfig
) -> None:
    def flaky(model_input: dict[str, Any]) -> Reply:
        if "bad" in model_input["prompt"]:
            return Reply(error="CUDA out of memory", processing=0.05)
        return Reply(tokens("fine"))

    fake_replicate.add_model("meta/llama", flaky, official=True)
    run = run_config(
        {
            "prompts": ["<<word>>"],
            "providers": ["replicate:meta/llama"],
            "tests": [{"vars": {"word": "bad"}}, {"vars": {"word": "good"}}],
        }
    )
    assert run.result.exit_code == 100
    bad, good = run.cells
    assert bad["status"] == "error"
    assert bad["error"] == "prediction failed: CUDA out of memory"
    assert bad["prediction_id"] in fake_replicate.predictions
    assert good["status"] == "passed"
    assert "CUDA out of memory" in run.result.stdout


def test_canceled_prediction_is_reported(
    fake_replicate: FakeReplicate, run_config: RunConfig
) -> None:
    fake_replicate.add_model("meta/slow", lambda i: Reply(tokens("x"), processing=3), official=True)

    def cancel_it_from_elsewhere() -> None:  # as a user would on replicate.com
        deadline = time.time() + 5
        while not fake_replicate.predictions and time.time() < deadline:
            time.sleep(0.01)
        for prediction in list(fake_replicate.predictions.values()):
            prediction.cancel()

    canceller = threading.Thread(target=cancel_it_from_elsewhere)
    canceller.start()
    run = run_config(hi("meta/slow"))
    canceller.join()
    assert run.cells[0]["error"] == "prediction was canceled"


def test_aborted_prediction_is_reported_not_crashed(
    fake_replicate: FakeReplicate, run_config: RunConfig
) -> None:
    fake_replicate.add_model(
        "meta/cold", lambda i: Reply(tokens("x"), starting=5, deadline=0.05), official=True
    )
    run = run_config(hi("meta/cold"))
    assert run.result.exit_code == 100
    cell = run.cells[0]
    assert cell["error"] == "prediction was aborted: its deadline passed before it started"
    assert cell["prediction_id"] in fake_replicate.predictions


def test_rejected_token_is_reported_once_per_provider(
    fake_replicate: FakeReplicate,
    run_config: RunConfig,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake_replicate.add_model("meta/llama", official=True)
    monkeypatch.setenv("REPLICATE_API_TOKEN", "r8_revoked_token_value")
    run = run_config(
        {"prompts": ["a", "b", "c"], "providers": ["replicate:meta/llama"]},
        "-j",
        "1",
        "--no-preflight",
    )
    assert run.result.exit_code == 100
    assert len(fake_replicate.received("POST")) == 1  # the other cells are not sent
    first, *rest = run.cells
    assert first["error"] == (
        "Replicate answered 401 Unauthenticated: You did not pass a valid authentication "
        "token. The token from REPLICATE_API_TOKEN was rejected"
    )
    assert all("not sent: an earlier call got this error" in c["error"] for c in rest)
    assert "r8_revoked_token_value" not in run.result.stdout + run.result.stderr


def test_invalid_input_lists_the_fields(
    fake_replicate: FakeReplicate, run_config: RunConfig
) -> None:
    fake_replicate.add_model("meta/llama", official=True)
    # The preflight would catch this first; here is what Replicate itself answers.
    run = run_config(
        {"prompts": ["hi"], "providers": [{"id": "replicate:meta/llama", "temperature": 9}]},
        "--no-preflight",
    )
    assert run.cells[0]["error"] == (
        "Replicate answered 422 Input validation failed: - input.temperature: Must be less "
        "than or equal to 5 (invalid: input.temperature: Must be less than or equal to 5)"
    )


def test_unreachable_api_is_a_network_error(
    run_config: RunConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REPLICATE_BASE_URL", "http://127.0.0.1:9")  # discard port: refused
    monkeypatch.setenv("REPLICATE_API_TOKEN", "r8_x")
    started = time.monotonic()
    run = run_config(hi(), "--retries", "1", "--no-preflight")
    assert run.result.exit_code == 100
    assert run.cells[0]["error"].startswith("could not reach Replicate (ConnectError")
    assert time.monotonic() - started >= 0.25  # it was tried again after a pause


@pytest.mark.parametrize(
    ("output", "text"),
    [
        ("plain string", "plain string"),
        (["to", "ken", "s"], "tokens"),
        ([], ""),
        ("https://not-a-file.example/x", "https://not-a-file.example/x"),
    ],
)
def test_text_outputs(
    fake_replicate: FakeReplicate, run_config: RunConfig, output: Any, text: str
) -> None:
    fake_replicate.add_model("meta/llama", lambda i: Reply(output), official=True)
    run = run_config(hi())
    assert run.cells[0]["output"] == text


@pytest.mark.parametrize(
    ("output", "message"),
    [
        ({"text": "hi"}, "the model returned dict output, not text"),
        ([1, 2], "the model returned list output, not text"),
        (None, "prediction succeeded but returned no output"),
    ],
)
def test_non_text_outputs_are_errors(
    fake_replicate: FakeReplicate, run_config: RunConfig, output: Any, message: str
) -> None:
    fake_replicate.add_model("meta/llama", lambda i: Reply(output), official=True)
    run = run_config(hi())
    assert run.cells[0]["error"].startswith(message)
    assert run.cells[0]["prediction_id"] in fake_replicate.predictions
