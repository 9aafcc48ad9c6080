"""The preflight: inputs checked against each model's schema before any prediction is paid for."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import RunCli, RunConfig
from tests.fake_replicate import FakeReplicate, cog_schema, image_model, sdxl_schema
from tests.fake_replicate.model_schemas import public_version
from tests.preflight.support import created, one

GEMMA = public_version("google-deepmind/gemma-7b-it")
HELLO = public_version("replicate/hello-world")


@pytest.fixture
def models(fake_replicate: FakeReplicate) -> FakeReplicate:
    fake_replicate.add_model("meta/llama", official=True)
    fake_replicate.add_model("google-deepmind/gemma-7b-it", versions=[GEMMA])
    fake_replicate.add_model(
        "stability-ai/sdxl", image_model(), official=True, openapi_schema=sdxl_schema()
    )
    return fake_replicate


def test_an_unknown_input_is_a_warning_naming_the_closest(
    models: FakeReplicate, run_config: RunConfig
) -> None:
    run = run_config(one({"id": "replicate:meta/llama", "max_lenght": 100}))
    assert run.result.exit_code == 0
    assert (
        "warning: providers[0] `replicate:meta/llama`: `max_lenght` is not an input of "
        "meta/llama, so the model would ignore it; did you mean `max_length`?"
    ) in " ".join(run.result.stderr.split())
    assert created(models) == 1


def test_strict_makes_it_an_error_and_nothing_runs(
    models: FakeReplicate, run_config: RunConfig
) -> None:
    run = run_config(one({"id": "replicate:meta/llama", "max_lenght": 100}), "--strict")
    assert run.result.exit_code == 2
    assert "error: providers[0]" in run.result.stderr and "max_lenght" in run.result.stderr
    assert "nothing was run" in run.result.stderr
    assert created(models) == 0


@pytest.mark.parametrize(
    ("provider", "message"),
    [
        (
            {"id": "replicate:meta/llama", "temperature": 9},
            "`temperature` must be at most 5 (allowed: 0 to 5); got 9",
        ),
        (
            {"id": "replicate:meta/llama", "top_k": -5},
            "`top_k` must be at least -1; got -5",
        ),
        (
            {"id": "replicate:image:stability-ai/sdxl", "num_outputs": "two"},
            "`num_outputs` expects a whole number, got 'two'",
        ),
        (
            {"id": "replicate:image:stability-ai/sdxl", "refine": "best"},
            "`refine` must be one of 'no_refiner', 'expert_ensemble_refiner', "
            "'base_image_refiner'; got 'best'",
        ),
        (
            {"id": "replicate:image:stability-ai/sdxl", "num_outputs": 9},
            "`num_outputs` must be at most 4 (allowed: 1 to 4); got 9",
        ),
        (
            "replicate:stability-ai/sdxl",
            "stability-ai/sdxl returns list of image/file URIs, so it is an image model: use "
            "`replicate:image:stability-ai/sdxl`",
        ),
        (
            "replicate:image:meta/llama",
            "meta/llama returns token iterator (joined into text), so it is a text model: "
            "use `replicate:meta/llama`",
        ),
    ],
    ids=[
        "temperature-too-high",
        "top_k-too-low",
        "num_outputs-not-a-number",
        "refine-not-a-choice",
        "num_outputs-too-high",
        "image-model-as-text",
        "text-model-as-image",
    ],
)
def test_bad_inputs_stop_the_run_before_any_prediction(
    models: FakeReplicate, run_config: RunConfig, provider: str | dict[str, Any], message: str
) -> None:
    run = run_config(one(provider))
    assert run.result.exit_code == 2
    assert message in " ".join(run.result.stderr.split())
    assert created(models) == 0
    assert not run.json  # no results: nothing ran


def test_a_required_input_never_sent(fake_replicate: FakeReplicate, run_config: RunConfig) -> None:
    fake_replicate.add_model("replicate/hello-world", versions=[HELLO])  # its real schema
    run = run_config(one(f"replicate:replicate/hello-world:{HELLO}"))
    stderr = " ".join(run.result.stderr.split())
    assert (
        "replicate/hello-world has no `prompt` input, so it would never see the prompts" in stderr
    )
    assert "(its inputs: text)" in stderr
    assert "replicate/hello-world requires `text`, which this provider does not send" in stderr
    assert created(fake_replicate) == 0


def test_hello_worlds_text_input_takes_the_prompt(
    fake_replicate: FakeReplicate, run_config: RunConfig
) -> None:
    fake_replicate.add_model("replicate/hello-world", versions=[HELLO])
    run = run_config(
        one({"id": f"replicate:replicate/hello-world:{HELLO}", "prompt_input": "text"})
    )
    assert run.result.exit_code == 0, run.result.stderr
    assert "warning" not in run.result.stderr
    [request] = fake_replicate.received("POST", "/v1/predictions")
    assert request.body == {"version": HELLO, "input": {"text": "hi"}}


def test_versions_and_deployments_are_checked_at_their_version(
    models: FakeReplicate, run_config: RunConfig
) -> None:
    models.add_deployment("acme/chat", models.models["meta/llama"])
    run = run_config(
        {
            "prompts": ["hi"],
            "providers": [
                {"id": f"replicate:google-deepmind/gemma-7b-it:{GEMMA}", "temperature": 7},
                {"id": "replicate:deployment:acme/chat", "temperature": 8},
            ],
        }
    )
    stderr = " ".join(run.result.stderr.split())
    assert "providers[0]" in stderr and "got 7" in stderr
    assert "providers[1]" in stderr and "got 8" in stderr
    assert models.received("GET", f"/v1/models/google-deepmind/gemma-7b-it/versions/{GEMMA}")
    assert models.received("GET", "/v1/deployments/acme/chat")


def test_a_schema_the_server_fails_to_give_is_a_warning_and_the_run_goes_on(
    models: FakeReplicate, run_config: RunConfig
) -> None:
    models.fail_next("GET", "^/v1/models/meta/llama$", 500, {"status": 500, "detail": "oops"})
    run = run_config(one("replicate:meta/llama"))
    assert run.result.exit_code == 0
    assert "warning: providers[0] `replicate:meta/llama`: inputs not checked" in run.result.stderr
    assert created(models) == 1


UNKNOWN_VERSION = "0" * 64


@pytest.mark.parametrize(
    ("provider", "message"),
    [
        ("replicate:nobody/nothing", "model `nobody/nothing` was not found on Replicate (404)"),
        (
            f"replicate:meta/llama:{UNKNOWN_VERSION}",
            "version `000000000000…` of `meta/llama` was not found on Replicate (404)",
        ),
        ("replicate:deployment:acme/none", "deployment `acme/none` was not found on Replicate"),
    ],
)
def test_a_model_that_does_not_exist_stops_validate_and_run_before_any_prediction(
    models: FakeReplicate, run_config: RunConfig, run_cli: RunCli, provider: str, message: str
) -> None:
    run = run_config(one(provider))
    assert run.result.exit_code == 2, run.result.stderr
    assert message in run.result.stderr
    assert "nothing was run" in run.result.stderr
    assert models.received("POST") == []
    validated = run_cli("validate", Path.cwd() / "config.yaml")
    assert validated.exit_code == 2 and message in validated.stderr


def test_a_rejected_token_stops_validate_and_run_before_any_prediction(
    models: FakeReplicate,
    run_config: RunConfig,
    run_cli: RunCli,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REPLICATE_API_TOKEN", "r8_this_token_is_not_known_to_the_fake_0000")
    run = run_config(one("replicate:meta/llama"))
    assert run.result.exit_code == 2
    assert "Replicate answered 401" in run.result.stderr
    assert "The token from REPLICATE_API_TOKEN was rejected" in run.result.stderr
    assert models.received("POST") == []
    assert run_cli("validate", Path.cwd() / "config.yaml").exit_code == 2


@pytest.mark.parametrize(
    ("base_url", "message"),
    [
        ("http://127.0.0.1:1", "cannot reach Replicate at http://127.0.0.1:1"),
        ("localhost:8000", "REPLICATE_BASE_URL='localhost:8000' needs http:// or https://"),
        ("http://", "REPLICATE_BASE_URL='http://'"),
    ],
)
def test_an_unusable_base_url_stops_validate_and_run(
    models: FakeReplicate,
    run_config: RunConfig,
    run_cli: RunCli,
    monkeypatch: pytest.MonkeyPatch,
    base_url: str,
    message: str,
) -> None:
    monkeypatch.setenv("REPLICATE_BASE_URL", base_url)
    run = run_config(one("replicate:meta/llama"))
    assert run.result.exit_code == 2, run.result.stderr
    assert message in run.result.stderr
    assert "internal error" not in run.result.stderr
    validated = run_cli("validate", Path.cwd() / "config.yaml")
    assert validated.exit_code == 2 and message in validated.stderr


def test_no_preflight_skips_it(models: FakeReplicate, run_config: RunConfig) -> None:
    run = run_config(one({"id": "replicate:meta/llama", "temperature": 9}), "--no-preflight")
    assert run.result.exit_code == 100  # Replicate refuses it instead, at run time
    # Only the run's own look-up of the model's current version: the preflight reads it too.
    assert len(models.received("GET", "/v1/models/meta/llama")) == 1
    checked = run_config(one({"id": "replicate:meta/llama", "temperature": 9}))
    assert checked.result.exit_code == 2
    assert len(models.received("GET", "/v1/models/meta/llama")) == 2


def test_schemas_are_kept_on_disk(models: FakeReplicate, run_config: RunConfig) -> None:
    config = one(f"replicate:google-deepmind/gemma-7b-it:{GEMMA}")
    run_config(config)
    run_config({**config, "prompts": ["hello"]})
    path = f"/v1/models/google-deepmind/gemma-7b-it/versions/{GEMMA}"
    assert len(models.received("GET", path)) == 1


def test_validate_renders_everything_and_checks_without_running(
    models: FakeReplicate, run_cli: RunCli, write_config: Callable[..., Path]
) -> None:
    good = write_config(
        {
            "prompts": ["Capital of <<country>>?"],
            "providers": ["replicate:meta/llama"],
            "tests": [{"vars": {"country": "France"}}, {"vars": {"country": "Peru"}}],
        },
        "good.yaml",
    )
    result = run_cli("validate", good)
    assert result.exit_code == 0, result.stderr
    assert "OK. 2 cells (2 tests x 1 prompts x 1 providers) render; inputs match" in " ".join(
        result.stdout.split()
    )
    bad = write_config(
        {
            "prompts": ["Capital of <<country>>?"],
            "providers": [{"id": "replicate:meta/llama", "temperature": 9, "max_lenght": 5}],
            "tests": [{"vars": {"land": "France"}}, {"vars": {"country": "Peru"}}],
        },
        "bad.yaml",
    )
    result = run_cli("validate", bad)
    assert result.exit_code == 2
    stderr = " ".join(result.stderr.split())
    assert "error: tests[0]: prompt `Capital of <<country>>?`: missing var `country`" in stderr
    assert "`temperature` must be at most 5" in stderr
    assert "warning: providers[0]" in stderr and "max_lenght" in stderr
    assert f"{bad}: 2 problem(s), 1 warning(s)." in stderr
    assert created(models) == 0


def test_a_chat_system_message_needs_a_system_prompt_input(
    fake_replicate: FakeReplicate, run_config: RunConfig
) -> None:
    plain = cog_schema(
        {"title": "Input", "properties": {"prompt": {"type": "string", "x-order": 0}}},
        Output={"type": "string"},
    )
    fake_replicate.add_model("acme/plain", official=True, openapi_schema=plain)
    chat = {
        "prompts": [
            '[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}]'
        ],
        "providers": ["replicate:acme/plain"],
    }
    run = run_config(chat, "--strict")
    assert run.result.exit_code == 2
    assert "`system_prompt` is not an input of acme/plain" in run.result.stderr


def test_whole_numbers_written_as_floats_are_accepted(
    models: FakeReplicate, run_config: RunConfig
) -> None:
    run = run_config(one({"id": "replicate:image:stability-ai/sdxl", "num_outputs": 2.0}))
    assert run.result.exit_code == 0, run.result.stderr


def test_a_deployment_of_an_image_model_is_not_told_to_use_a_model_id(
    models: FakeReplicate, run_config: RunConfig
) -> None:
    models.add_deployment("acme/painter", models.models["stability-ai/sdxl"])
    run = run_config(one("replicate:deployment:acme/painter"))
    assert run.result.exit_code == 2
    assert "it is an image model: image deployments are not supported yet" in run.result.stderr
    assert "replicate:image:" not in run.result.stderr


def test_errors_stay_on_one_line_in_a_narrow_pipe(
    models: FakeReplicate, run_config: RunConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "60")
    run = run_config(one({"id": "replicate:meta/llama", "temperature": 9}))
    [line] = [line for line in run.result.stderr.splitlines() if "temperature" in line]
    assert line.endswith("got 9")


def test_validate_reports_chats_that_cannot_be_sent_and_unchecked_providers(
    models: FakeReplicate, run_cli: RunCli, write_config: Callable[..., Path]
) -> None:
    models.fail_next("GET", "^/v1/models/meta/llama$", 500, {"status": 500}, times=20)
    config = write_config(
        {
            "prompts": [
                '[{"role": "user", "content": "a"}, {"role": "user", "content": "b"}]',
                "plain",
            ],
            "providers": ["replicate:meta/llama"],
        }
    )
    result = run_cli("validate", config)
    assert result.exit_code == 2
    assert "tests[0], prompt `" in result.stderr and "user" in result.stderr
    clean = write_config(
        {"prompts": ["plain"], "providers": ["replicate:meta/llama"]}, "clean.yaml"
    )
    result = run_cli("validate", clean, "--no-cache")
    assert result.exit_code == 0
    assert "inputs checked for 0 of 1 providers" in result.stdout
    assert "inputs not checked" in result.stderr
