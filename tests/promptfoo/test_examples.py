"""Configs built the way promptfoo's own Replicate examples are (examples/replicate-*: a
quickstart on hello-world, text and image providers side by side with `javascript` checks that
name a provider, FLUX and SDXL image models, a prompts file with llm-rubric), written here in
our own words and run unchanged against the fake with the models' real schemas; each asserts
the exact request bodies Replicate received."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.conftest import RunConfig
from tests.fake_replicate import FakeReplicate, Reply, image_model, tokens
from tests.fake_replicate.demo import hello_world
from tests.fake_replicate.judges import serve_judges
from tests.fake_replicate.model_schemas import public_version, serve_real_model
from tests.promptfoo.support import inputs_sent

SDXL = public_version("stability-ai/sdxl")
HELLO = public_version("replicate/hello-world")


def _llama(model_input: dict[str, Any]) -> Reply:
    prompt = str(model_input["prompt"])
    if "haiku" in prompt:
        return Reply(
            tokens("Snow on the summit\nquiet peaks hold the morning\nthe mountain breathes")
        )
    return Reply(tokens(f"An answer about {prompt}, " + "in detail " * 12))


def test_a_quickstart_on_hello_world_is_stopped_before_paying_then_runs_with_the_fix(
    fake_replicate: FakeReplicate, run_config: RunConfig
) -> None:
    """hello-world's only input is `text`: promptfoo sends `prompt` and Replicate refuses every
    prediction; reval's preflight says so first, naming the one-line fix."""
    serve_real_model(fake_replicate, "replicate/hello-world", hello_world)
    provider: dict[str, Any] = {"id": f"replicate:replicate/hello-world:{HELLO}", "config": None}
    config = {
        "description": "hello-world, promptfoo style",
        "prompts": ["Greet {{name}} warmly"],
        "providers": [provider],
        "tests": [
            {
                "vars": {"name": "Ada"},
                "assert": [
                    {"type": "contains", "value": "hello"},
                    {"type": "javascript", "value": "output.toLowerCase().includes('ada')"},
                ],
            }
        ],
    }
    run = run_config(config)
    assert run.result.exit_code == 2
    assert "set `prompt_input: text` to send the prompts there" in run.result.stderr
    assert fake_replicate.received("POST") == []
    provider["config"] = {"prompt_input": "text"}
    run = run_config(config)
    assert run.result.exit_code == 0, run.result.stderr
    [request] = fake_replicate.received("POST", "/v1/predictions")
    assert request.body == {"version": HELLO, "input": {"text": "Greet Ada warmly"}}


def test_text_and_image_providers_with_javascript_checks_that_name_a_provider(
    fake_replicate: FakeReplicate, run_config: RunConfig
) -> None:
    fake_replicate.add_model("meta/meta-llama-3-8b-instruct", _llama, official=True)
    fake_replicate.add_model("stability-ai/sdxl", image_model(), versions=[SDXL])
    image_provider = f"replicate:image:stability-ai/sdxl:{SDXL}"
    markdown_image = (  # as a YAML `|` block writes it: a function body, ending in a newline
        "return typeof output === 'string' && output.includes('![') && output.includes('](http');\n"
    )
    run = run_config(
        {
            "description": "text and images",
            "prompts": ["{{task}}"],
            "providers": [
                {
                    "id": "replicate:meta/meta-llama-3-8b-instruct",
                    "config": {"temperature": 0.4, "max_new_tokens": 150},
                },
                {
                    "id": image_provider,
                    "config": {"width": 512, "height": 512, "num_inference_steps": 20},
                },
            ],
            "tests": [
                {
                    "vars": {"task": "Write a haiku about mountains"},
                    "assert": [
                        {"type": "contains-any", "value": ["mountain", "peak", "summit"]},
                        {
                            "type": "javascript",
                            "value": "const lines = output.split('\\n').filter(l => l.trim());\n"
                            "return {pass: lines.length >= 3, reason: `${lines.length} lines`};",
                            "provider": "replicate:meta/meta-llama-3-8b-instruct",
                        },
                    ],
                },
                {
                    "vars": {"task": "A lighthouse at dawn, oil painting"},
                    "assert": [
                        {"type": "javascript", "value": markdown_image, "provider": image_provider}
                    ],
                },
            ],
        }
    )
    # As in promptfoo, every test runs on both providers: the haiku's checks fail on the
    # image model, and the lighthouse's image check fails on the text model.
    assert run.result.exit_code == 100, run.result.stderr
    assert "its `provider` (a judge) is ignored, as promptfoo does" in run.result.stderr
    by_cell = {(c["provider_id"], c["test_index"]): c["status"] for c in run.json["cells"]}
    assert by_cell[("replicate:meta/meta-llama-3-8b-instruct", 0)] == "passed"
    assert by_cell[(image_provider, 1)] == "passed"
    bodies = sorted(
        (request.body for request in fake_replicate.received("POST")), key=lambda b: str(b)
    )
    assert {
        "input": {
            "prompt": "Write a haiku about mountains",
            "temperature": 0.4,
            "max_new_tokens": 150,
        }
    } in bodies
    assert {
        "version": SDXL,
        "input": {
            "prompt": "A lighthouse at dawn, oil painting",
            "width": 512,
            "height": 512,
            "num_inference_steps": 20,
        },
    } in bodies
    assert len(bodies) == 4


def test_image_models_compared_with_the_examples_image_check(
    fake_replicate: FakeReplicate, run_config: RunConfig
) -> None:
    serve_real_model(fake_replicate, "black-forest-labs/flux-schnell", image_model("WEBP"))
    fake_replicate.add_model("stability-ai/sdxl", image_model(), versions=[SDXL])
    run = run_config(
        {
            "prompts": ["Generate an image: {{imagePrompt}}"],
            "providers": [
                {
                    "id": "replicate:image:black-forest-labs/flux-schnell",
                    "config": {"aspect_ratio": "1:1", "output_format": "webp", "num_outputs": 1},
                },
                {
                    "id": f"replicate:image:stability-ai/sdxl:{SDXL}",
                    "label": "sdxl",
                    "config": {"width": 768, "height": 768, "guidance_scale": 7.5},
                },
            ],
            "tests": [
                {
                    "vars": {"imagePrompt": "a red bicycle in the rain"},
                    "assert": [{"type": "is-valid-openai-image-format"}],
                }
            ],
        }
    )
    assert run.result.exit_code == 0, run.result.stderr
    reasons = [cell["assertions"][0]["reason"] for cell in run.json["cells"]]
    assert sorted(reasons) == ["1 image, read as png", "1 image, read as webp"]
    sent = inputs_sent(fake_replicate)
    assert len(sent) == 2 and all(
        expected in sent
        for expected in [
            {
                "prompt": "Generate an image: a red bicycle in the rain",
                "aspect_ratio": "1:1",
                "output_format": "webp",
                "num_outputs": 1,
            },
            {
                "prompt": "Generate an image: a red bicycle in the rain",
                "width": 768,
                "height": 768,
                "guidance_scale": 7.5,
            },
        ]
    )


def test_a_prompts_file_two_llamas_and_llm_rubric(
    fake_replicate: FakeReplicate, run_config: RunConfig, tmp_path: Path
) -> None:
    fake_replicate.add_model("meta/llama-4-scout-instruct", _llama, official=True)
    fake_replicate.add_model("meta/meta-llama-3-8b-instruct", _llama, official=True)
    serve_judges(fake_replicate)
    (tmp_path / "prompts.txt").write_text("Write a short essay on {{topic}}.\n")
    run = run_config(
        {
            "prompts": ["file://prompts.txt"],
            "providers": [
                {
                    "id": "replicate:meta/llama-4-scout-instruct",
                    "config": {"temperature": 0.7, "max_tokens": 800, "top_p": 0.9},
                },
                {
                    "id": "replicate:meta/meta-llama-3-8b-instruct",
                    "label": "llama-3-8b",
                    "config": {"temperature": 0.7, "max_new_tokens": 800, "top_p": 0.9},
                },
            ],
            "tests": [
                {
                    "vars": {"topic": "tides"},
                    "assert": [{"type": "contains-any", "value": ["tides", "moon"]}],
                },
                {
                    "vars": {"topic": "bridges"},
                    "assert": [{"type": "llm-rubric", "value": "mentions 'bridges'"}],
                },
                {"vars": {"topic": "owls"}},
            ],
        }
    )
    assert run.result.exit_code == 0, run.result.stderr
    scout = [
        r.body["input"]
        for r in fake_replicate.received(
            "POST", "/v1/models/meta/llama-4-scout-instruct/predictions"
        )
    ]
    assert sorted(scout, key=str) == sorted(
        (
            {
                "prompt": f"Write a short essay on {topic}.",
                "temperature": 0.7,
                "max_tokens": 800,
                "top_p": 0.9,
            }
            for topic in ("tides", "bridges", "owls")
        ),
        key=str,
    )
    assert {c["provider_label"] for c in run.json["cells"]} >= {"llama-3-8b"}
