"""The preflight against the real published schemas of the README's models and reval's default
judges (tests/fixtures/model_schemas): their real limits, choices and input names."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import RunCli, RunConfig
from tests.fake_replicate import FakeReplicate
from tests.fake_replicate.demo import serve_demo_models
from tests.fake_replicate.model_schemas import public_version
from tests.graded_support import config as graded_config
from tests.preflight.support import created, one

GEMMA = public_version("google-deepmind/gemma-7b-it")


@pytest.fixture
def real_models(fake_replicate: FakeReplicate) -> FakeReplicate:
    """The README's models and reval's default judges, with their published schemas."""
    serve_demo_models(fake_replicate)
    return fake_replicate


SDXL = f"replicate:image:stability-ai/sdxl:{public_version('stability-ai/sdxl')}"
FLUX = "replicate:image:black-forest-labs/flux-schnell"


@pytest.mark.parametrize(
    ("provider", "message"),
    [
        (
            {"id": SDXL, "scheduler": "euler"},
            "`scheduler` must be one of 'DDIM', 'DPMSolverMultistep', 'HeunDiscrete', "
            "'KarrasDPM', 'K_EULER_ANCESTRAL', 'K_EULER', 'PNDM'; got 'euler'",
        ),
        (
            {"id": SDXL, "refine": "base"},
            "`refine` must be one of 'no_refiner', 'expert_ensemble_refiner', "
            "'base_image_refiner'; got 'base'",
        ),
        (
            {"id": SDXL, "num_inference_steps": 501},
            "`num_inference_steps` must be at most 500 (allowed: 1 to 500); got 501",
        ),
        (
            {"id": SDXL, "guidance_scale": 0.5},
            "`guidance_scale` must be at least 1 (allowed: 1 to 50); got 0.5",
        ),
        (
            {"id": FLUX, "aspect_ratio": "2:1"},
            "`aspect_ratio` must be one of '1:1', '16:9', '21:9', '3:2', '2:3', '4:5', '5:4', "
            "'3:4', '4:3', '9:16', '9:21'; got '2:1'",
        ),
        (
            {"id": FLUX, "output_format": "gif"},
            "`output_format` must be one of 'webp', 'jpg', 'png'; got 'gif'",
        ),
        (
            {"id": FLUX, "num_inference_steps": 28},  # flux-dev's default, not schnell's
            "`num_inference_steps` must be at most 4 (allowed: 1 to 4); got 28",
        ),
        (
            {"id": FLUX, "megapixels": 1},  # a choice written as a number
            "`megapixels` expects text, got 1",
        ),
        (
            {"id": "replicate:meta/llama-2-7b-chat", "max_tokens": 0},
            "`max_tokens` must be at least 1; got 0",
        ),
        (
            {"id": f"replicate:google-deepmind/gemma-7b-it:{GEMMA}", "temperature": 0},
            "`temperature` must be at least 0.01 (allowed: 0.01 to 5); got 0",
        ),
    ],
    ids=[
        "sdxl-scheduler",
        "sdxl-refine",
        "sdxl-steps",
        "sdxl-guidance",
        "flux-aspect-ratio",
        "flux-output-format",
        "flux-steps",
        "flux-megapixels",
        "llama-2-max-tokens",
        "gemma-temperature",
    ],
)
def test_the_real_models_limits_and_choices_stop_the_run(
    real_models: FakeReplicate, run_config: RunConfig, provider: dict[str, Any], message: str
) -> None:
    run = run_config(one(provider))
    assert run.result.exit_code == 2
    assert message in " ".join(run.result.stderr.split())
    assert created(real_models) == 0


def test_the_readme_models_take_what_the_configs_send(
    real_models: FakeReplicate, run_config: RunConfig
) -> None:
    run = run_config(
        {
            "prompts": ["hi"],
            "providers": [
                {"id": "replicate:meta/llama-2-7b-chat", "temperature": 0.01, "max_tokens": 1024},
                {"id": f"replicate:google-deepmind/gemma-7b-it:{GEMMA}", "max_new_tokens": 1024},
                {"id": SDXL, "width": 768, "height": 768, "refine": "expert_ensemble_refiner"},
                {"id": FLUX, "aspect_ratio": "16:9", "output_format": "png", "megapixels": "0.25"},
            ],
        },
        "--strict",
    )
    assert run.result.exit_code == 0, run.result.stderr
    assert created(real_models) == 4


def test_llama_2s_token_limit_is_max_tokens(
    real_models: FakeReplicate, run_config: RunConfig
) -> None:
    run = run_config(one({"id": "replicate:meta/llama-2-7b-chat", "max_length": 1024}))
    assert (
        "`max_length` is not an input of meta/llama-2-7b-chat, so the model would ignore it; "
        "did you mean `max_tokens`?"
    ) in " ".join(run.result.stderr.split())


def test_the_default_judges_real_inputs_pass_the_preflight(
    fake: FakeReplicate, run_cli: RunCli, write_config: Callable[..., Path]
) -> None:
    path = write_config(
        graded_config(
            {"type": "llm-rubric", "value": "mentions 'Paris'"},
            {"type": "similar", "value": "Paris is the capital of France."},
            {"type": "moderation", "value": {"prompt": True}},
        )
    )
    result = run_cli("validate", path, "--strict")
    assert result.exit_code == 0, result.stderr
    assert "inputs match the models' schemas; 0 warning(s)" in " ".join(result.stdout.split())


def test_a_graders_token_limit_under_llama_2s_name_is_named(
    fake: FakeReplicate, run_config: RunConfig
) -> None:
    run = run_config(
        graded_config(
            {
                "type": "llm-rubric",
                "value": "x",
                "provider": {
                    "id": "replicate:meta/meta-llama-3-70b-instruct",
                    "max_new_tokens": 64,
                },
            }
        )
    )
    assert (
        "`max_new_tokens` is not an input of meta/meta-llama-3-70b-instruct, so the model would "
        "ignore it; did you mean `max_tokens`?"
    ) in " ".join(run.result.stderr.split())


def test_the_default_grader_has_no_system_prompt_input(
    fake: FakeReplicate, run_config: RunConfig
) -> None:
    """Llama 3 70B Instruct's published schema has no `system_prompt`: a chat rubricPrompt's
    system message would be ignored, and the preflight says so."""
    run = run_config(
        graded_config(
            {"type": "llm-rubric", "value": "x"},
            options={
                "rubricPrompt": [
                    {"role": "system", "content": "You grade."},
                    {"role": "user", "content": "<<output>> <<rubric>>"},
                ]
            },
        )
    )
    assert (
        "`system_prompt` is not an input of meta/meta-llama-3-70b-instruct, so the model would "
        "ignore it"
    ) in " ".join(run.result.stderr.split())
