"""promptfoo's provider keys in a config reval runs unchanged: `env`, `config: null`, empty
options, and keys that are promptfoo's own (never model inputs)."""

from __future__ import annotations

import itertools
import json

import pytest

from tests.conftest import RunConfig
from tests.fake_replicate import FakeReplicate
from tests.promptfoo.support import says_ok

CREATE = "/v1/models/meta/llama/predictions"
OWN_TOKEN = "r8_providerEnvToken0123456789abcdefghijk"


def test_a_providers_env_token_is_its_token_and_never_an_input_or_written(
    fake_replicate: FakeReplicate, run_config: RunConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_replicate.tokens.add(OWN_TOKEN)
    fake_replicate.add_model("meta/llama", says_ok, official=True)
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
    fake_replicate.add_model("meta/llama", says_ok, official=True)
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
    fake_replicate.add_model("meta/llama", says_ok, official=True)
    fake_replicate.add_model("meta/other", says_ok, official=True)
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


def test_a_null_option_is_sent_as_null_unless_the_environment_fills_it(
    fake_replicate: FakeReplicate, run_config: RunConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_replicate.add_model("meta/llama", says_ok, official=True)
    monkeypatch.setenv("REPLICATE_TEMPERATURE", "0.3")
    config = (
        "prompts: [hi]\n"
        "providers:\n"
        "  - id: replicate:meta/llama\n"
        "    config: {temperature: null, top_p: null}\n"
    )
    # The model's schema wants a number: the preflight says so before paying, naming the key.
    checked = run_config(config)
    assert checked.result.exit_code == 2
    assert "`top_p` expects a number" in checked.result.stderr
    assert fake_replicate.received("POST") == []
    # Sent as promptfoo sends it, when asked to.
    run = run_config(config, "--no-preflight")
    assert run.cells[0]["status"] == "error"  # and refused, as Replicate refuses it
    [request] = fake_replicate.received("POST", CREATE)
    assert request.body["input"] == {"temperature": 0.3, "top_p": None, "prompt": "hi"}


def test_delay_spaces_out_the_calls_a_provider_makes(
    fake_replicate: FakeReplicate, run_config: RunConfig
) -> None:
    fake_replicate.add_model("meta/llama", says_ok, official=True)
    run = run_config(
        {
            "prompts": ["case <<n>>"],
            "providers": [{"id": "replicate:meta/llama", "delay": 300}],
            "tests": [{"vars": {"n": n}} for n in range(3)],
        },
        "-j",
        "1",
    )
    assert run.result.exit_code == 0, run.result.stderr
    creates = sorted(r.at for r in fake_replicate.received("POST", CREATE))
    assert len(creates) == 3
    # A sleep lasts at least its time: each call starts 300 ms or more after the one before.
    assert all(later - earlier >= 0.3 for earlier, later in itertools.pairwise(creates))


def test_a_prompt_filter_that_keeps_every_prompt_runs_and_one_that_drops_some_is_refused(
    fake_replicate: FakeReplicate, run_config: RunConfig
) -> None:
    fake_replicate.add_model("meta/llama", says_ok, official=True)
    prompts = [{"raw": "a", "label": "group:one"}, {"raw": "b", "label": "group:two"}]
    kept = run_config(
        {"prompts": prompts, "providers": [{"id": "replicate:meta/llama", "prompts": ["group:*"]}]}
    )
    assert kept.result.exit_code == 0, kept.result.stderr
    assert len(kept.cells) == 2
    dropped = run_config(
        {"prompts": prompts, "providers": [{"id": "replicate:meta/llama", "prompts": "group:one"}]}
    )
    assert dropped.result.exit_code == 2
    assert "providers[0].prompts" in dropped.result.stderr and "group:two" in dropped.result.stderr
    unknown = run_config(
        {"prompts": prompts, "providers": [{"id": "replicate:meta/llama", "prompts": ["nope"]}]}
    )
    assert unknown.result.exit_code == 2
    assert "`nope` names no prompt" in unknown.result.stderr


def test_inputs_has_a_note_and_is_never_sent(
    fake_replicate: FakeReplicate, run_config: RunConfig
) -> None:
    fake_replicate.add_model("meta/llama", says_ok, official=True)
    run = run_config(
        {
            "prompts": ["hi"],
            "providers": [{"id": "replicate:meta/llama", "inputs": {"question": "the question"}}],
        }
    )
    assert run.result.exit_code == 0, run.result.stderr
    assert "note:" in run.result.stderr and "providers[0].inputs" in run.result.stderr
    [request] = fake_replicate.received("POST", CREATE)
    assert request.body["input"] == {"prompt": "hi"}


def test_a_tests_providers_and_prompts_filters_that_keep_everything_run(
    fake_replicate: FakeReplicate, run_config: RunConfig
) -> None:
    fake_replicate.add_model("meta/llama", says_ok, official=True)
    fake_replicate.add_model("meta/gemma", says_ok, official=True)
    providers = ["replicate:meta/llama", {"id": "replicate:meta/gemma", "label": "g"}]
    run = run_config(
        {
            "prompts": [{"raw": "Hi", "label": "greet"}],
            "providers": providers,
            "tests": [{"providers": ["replicate:meta/*"], "prompts": ["greet"]}],
        }
    )
    assert run.result.exit_code == 0, run.result.stderr
    assert len(fake_replicate.received("POST")) == 2


def test_a_tests_filter_that_leaves_something_out_is_refused(
    fake_replicate: FakeReplicate, run_config: RunConfig
) -> None:
    run = run_config(
        {
            "prompts": [{"raw": "Hi", "label": "greet"}, {"raw": "Bye", "label": "part"}],
            "providers": ["replicate:meta/llama", {"id": "replicate:meta/gemma", "label": "g"}],
            "tests": [
                {"vars": {}, "providers": ["g"]},
                {"vars": {}, "prompts": ["greet", "nope"]},
            ],
        }
    )
    assert run.result.exit_code == 2
    err = run.result.stderr
    assert "tests[0].providers" in err and "leaves out `replicate:meta/llama`" in err
    assert "tests[1].prompts" in err and "`nope` names no prompt" in err
    assert "leaves out `part`" in err
    assert fake_replicate.requests == []
