"""The fake serves the real published schemas of the models reval's README, configs and
default judges use (tests/fixtures/model_schemas), and refuses a prediction's input against
them as Replicate does: 422 with ``invalid_fields``."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from replicate_eval.judging.settings import DEFAULT_GRADERS
from tests.fake_replicate import FakeReplicate, cog_schema, llm_schema
from tests.fake_replicate.judges import EMBEDDING, GRADER, GUARD
from tests.fake_replicate.model_schemas import (
    kept_model,
    public_version,
    real_schema,
    serve_real_model,
)
from tests.fake_replicate.models import echo

# The README's and configs' models, and reval's default judges.
DOCUMENTED = [
    "meta/llama-2-7b-chat",
    "google-deepmind/gemma-7b-it",
    "meta/meta-llama-3-70b-instruct",
    "meta/meta-llama-3.1-405b-instruct",
    "stability-ai/sdxl",
    "black-forest-labs/flux-schnell",
    "replicate/all-mpnet-base-v2",
    "meta/llama-guard-3-8b",
    "replicate/hello-world",
]


@pytest.mark.parametrize("slug", DOCUMENTED)
def test_each_schema_is_written_as_cog_publishes_it(slug: str) -> None:
    model = kept_model(slug)
    assert model.sources, f"{slug}: name where the schema comes from"
    schemas = model.schema["components"]["schemas"]
    source = schemas["Input"]
    inputs = source["properties"]
    assert sorted(spec["x-order"] for spec in inputs.values()) == list(range(len(inputs)))
    assert set(source.get("required", [])) <= set(inputs)
    for name in source.get("required", []):
        assert "default" not in inputs[name]  # Cog requires exactly the inputs with no default
    for spec in inputs.values():
        for part in spec.get("allOf", []):
            target = schemas[part["$ref"].removeprefix("#/components/schemas/")]
            assert target["enum"] and spec["default"] in target["enum"]
    assert schemas["Output"]["title"] == "Output"


def test_reval_pins_the_judges_public_versions() -> None:
    assert DEFAULT_GRADERS["text"].id == f"replicate:{GRADER}"  # official: run by name
    assert DEFAULT_GRADERS["embedding"].id == f"replicate:{EMBEDDING}:{public_version(EMBEDDING)}"
    assert DEFAULT_GRADERS["moderation"].id == f"replicate:{GUARD}:{public_version(GUARD)}"


def test_add_model_serves_the_real_schema_unless_a_test_passes_its_own(
    fake_replicate: FakeReplicate,
) -> None:
    hello = fake_replicate.add_model("replicate/hello-world")
    assert hello.openapi_schema == real_schema("replicate/hello-world")
    served = httpx.get(
        f"{fake_replicate.url}/v1/models/replicate/hello-world",
        headers={"Authorization": f"Bearer {fake_replicate.token}"},
    ).json()
    assert served["latest_version"]["openapi_schema"] == real_schema("replicate/hello-world")
    own = cog_schema({"title": "Input", "properties": {}}, Output={"type": "string"})
    assert (
        fake_replicate.add_model("replicate/hello-world", openapi_schema=own).openapi_schema == own
    )
    assert fake_replicate.add_model("acme/made-up").openapi_schema == llm_schema()
    hello.openapi_schema["components"]["schemas"].clear()  # a copy: the next one is whole
    assert fake_replicate.add_model("replicate/hello-world").openapi_schema == real_schema(
        "replicate/hello-world"
    )


def test_the_catalogue_keeps_the_real_schemas(fake_replicate: FakeReplicate) -> None:
    fake_replicate.load_catalogue()
    for slug in ("meta/llama-2-7b-chat", "stability-ai/sdxl", "black-forest-labs/flux-schnell"):
        assert fake_replicate.models[slug].openapi_schema == real_schema(slug)
    assert fake_replicate.models["black-forest-labs/flux-schnell"].official
    assert "black-forest-labs/flux-schnell" in fake_replicate.collections["text-to-image"][2]


def create(fake: FakeReplicate, slug: str, model_input: dict[str, Any]) -> httpx.Response:
    """A prediction as the HTTP API takes it: by name for an official model, else by version."""
    serve_real_model(fake, slug, echo)
    model = fake.models[slug]
    path, body = (
        (f"/v1/models/{slug}/predictions", {"input": model_input})
        if model.official
        else ("/v1/predictions", {"version": model.latest_version, "input": model_input})
    )
    return httpx.post(
        f"{fake.url}{path}", json=body, headers={"Authorization": f"Bearer {fake.token}"}
    )


FLUX, SDXL, GEMMA = (
    "black-forest-labs/flux-schnell",
    "stability-ai/sdxl",
    "google-deepmind/gemma-7b-it",
)


@pytest.mark.parametrize(
    ("slug", "model_input", "problem"),
    [
        (FLUX, {"aspect_ratio": "1:1"}, ("required", "input", "prompt is required")),
        (
            FLUX,
            {"prompt": "x", "aspect_ratio": "2:1"},
            ("enum", "input.aspect_ratio", 'aspect_ratio must be one of the following: "1:1", '),
        ),
        (
            FLUX,
            {"prompt": "x", "num_inference_steps": 8},
            ("number_lte", "input.num_inference_steps", "Must be less than or equal to 4"),
        ),
        (
            SDXL,
            {"prompt": "x", "num_outputs": "two"},
            ("invalid_type", "input.num_outputs", "Invalid type. Expected: integer, given: string"),
        ),
        (
            SDXL,
            {"scheduler": "euler"},
            ("enum", "input.scheduler", 'scheduler must be one of the following: "DDIM", '),
        ),
        (
            GEMMA,
            {"prompt": "x", "temperature": 0},
            ("number_gte", "input.temperature", "Must be greater than or equal to 0.01"),
        ),
        (
            "meta/llama-2-7b-chat",
            {"prompt": "x", "prompt_template": ""},
            ("string_gte", "input.prompt_template", "String length must be greater than or equal"),
        ),
        ("replicate/hello-world", {"prompt": "x"}, ("required", "input", "text is required")),
        (
            GUARD,
            {"prompt": "x", "assistant": 3},
            ("invalid_type", "input.assistant", "Invalid type. Expected: string, given: integer"),
        ),
    ],
)
def test_inputs_the_real_model_refuses_are_a_422(
    fake_replicate: FakeReplicate,
    slug: str,
    model_input: dict[str, Any],
    problem: tuple[str, str, str],
) -> None:
    response = create(fake_replicate, slug, model_input)
    assert response.status_code == 422
    body = response.json()
    assert body["title"] == "Input validation failed"
    [found] = body["invalid_fields"]
    assert (found["type"], found["field"]) == problem[:2]
    assert found["description"].startswith(problem[2])


@pytest.mark.parametrize(
    ("slug", "model_input"),
    [
        ("replicate/hello-world", {"text": "Alice"}),
        (EMBEDDING, {"text": "Paris is the capital of France."}),
        (GUARD, {"prompt": "How do I bake bread?", "assistant": "Knead, rest, bake."}),
        (GRADER, {"prompt": "Grade this.", "max_tokens": 256, "temperature": 0}),
        ("meta/llama-2-7b-chat", {"prompt": "x", "max_tokens": 1024, "temperature": 0.01}),
        (GEMMA, {"prompt": "x", "max_new_tokens": 1024, "temperature": 0.01}),
        (SDXL, {"prompt": "x", "width": 768, "refine": "expert_ensemble_refiner"}),
        (FLUX, {"prompt": "x", "aspect_ratio": "9:21", "megapixels": "0.25", "go_fast": False}),
    ],
)
def test_inputs_the_real_model_takes_are_accepted(
    fake_replicate: FakeReplicate, slug: str, model_input: dict[str, Any]
) -> None:
    response = create(fake_replicate, slug, model_input)
    assert response.status_code in (200, 201), response.text
