"""`make demo`: run a config against the fake Replicate API, with no token and no network.

    python -m tests.fake_replicate.demo configs/replicate-llm.yaml [reval run options]
    python -m tests.fake_replicate.demo models show stability-ai/sdxl   (any reval command)

The fake plays Llama 2 and Gemma with canned answers to the questions in
configs/replicate-llm.yaml (anything else is echoed), so the table looks like a real run,
SDXL and FLUX schnell for configs/replicate-image.yaml, drawing real (if simple) pictures, and
the judges of configs/replicate-graded.yaml (a grader, an embedding model, Llama Guard). The
rest of its catalogue is 605 real public models (names, descriptions, run counts) from a 2025
snapshot, for `reval models`.
"""

from __future__ import annotations

import hashlib
import os
import sys
from typing import Any

from tests.fake_replicate import (
    FakeReplicate,
    Reply,
    flux_schnell_schema,
    image_file,
    image_model,
    sdxl_schema,
    tokens,
)
from tests.fake_replicate.judges import grader, serve_judges

GEMMA_VERSION = "2790a695e5dcae15506138cc4718d1106d0d475e6dca4b1d43f42414647993d5"
SDXL_VERSION = "7762fd07cf82c948538e41f63f77d685e02b063e37e496e96eefd46c929f9bdc"

ANSWERS = {
    "capital of France": (
        " Paris is the capital of France.",
        "The capital of France is Paris.",
    ),
    "boil": (
        " Water boils at 100 degrees Celsius at sea level.",
        "Water boils at one hundred degrees Celsius at sea level.",
    ),
    "primary colours": (
        " The three primary colours of paint are red, yellow and blue.",
        "Red, blue and green are the primary colours.",
    ),
    "JSON": (
        ' {"answer": 4}',
        '```json\n{"answer": 4}\n```',
    ),
}


def toy_model(which: int) -> Any:
    def answer(model_input: dict[str, Any]) -> Reply:
        prompt = str(model_input.get("prompt", ""))
        text = next(
            (pair[which] for key, pair in ANSWERS.items() if key in prompt), f"echo: {prompt}"
        )
        # A stable, short "thinking time" so a progress bar has something to show.
        seconds = 0.2 + int(hashlib.sha256(prompt.encode()).hexdigest()[:2], 16) / 400
        return Reply(tokens(text), processing=seconds)

    return answer


def flux_schnell(model_input: dict[str, Any]) -> Reply:
    """FLUX schnell's interface: an aspect ratio instead of a size, WebP unless asked otherwise."""
    width, _, height = str(model_input.get("aspect_ratio", "1:1")).partition(":")
    side = 1024 / max(int(width), int(height))
    image_format = {"jpg": "JPEG", "png": "PNG"}.get(model_input.get("output_format", ""), "WEBP")
    prompt = str(model_input.get("prompt", ""))
    size = (round(int(width) * side), round(int(height) * side))
    count = int(model_input.get("num_outputs", 1))
    return Reply(
        [image_file(f"{prompt} #{n}", *size, image_format) for n in range(count)], processing=0.3
    )


def serve_demo_models(fake: FakeReplicate) -> None:
    """The demo configs' models, keeping what the catalogue says of them (if it is loaded)."""

    def known(slug: str) -> dict[str, Any]:
        model = fake.models.get(slug)
        return {"description": model.description, "run_count": model.run_count} if model else {}

    for slug, behaviour, extra in [
        ("meta/llama-2-7b-chat", toy_model(0), {"official": True}),
        ("google-deepmind/gemma-7b-it", toy_model(1), {"versions": [GEMMA_VERSION]}),
        (
            "stability-ai/sdxl",
            image_model(processing=0.4),
            {"versions": [SDXL_VERSION], "openapi_schema": sdxl_schema()},
        ),
        (
            "black-forest-labs/flux-schnell",
            flux_schnell,
            {"official": True, "openapi_schema": flux_schnell_schema()},
        ),
        # The bigger grader one test of configs/replicate-graded.yaml asks for.
        ("meta/meta-llama-3.1-405b-instruct", grader, {"official": True}),
    ]:
        fake.add_model(slug, behaviour, **extra, **known(slug))
    serve_judges(fake)  # for model-graded assertions (configs/replicate-graded.yaml)


def main(argv: list[str]) -> int:
    from replicate_eval.cli import app

    with FakeReplicate() as fake:
        fake.load_catalogue()
        serve_demo_models(fake)
        os.environ["REPLICATE_BASE_URL"] = fake.url
        os.environ["REPLICATE_API_TOKEN"] = fake.token
        # `demo CONFIG [options]` is `reval run`; `demo models ...` any other command.
        command = argv if argv[:1] and argv[0] in COMMANDS else ["run", *argv]
        # The fake's answers do not belong in the user's response cache.
        if command[0] in ("run", "validate") and not {"--no-cache", "--cache-dir"} & set(argv):
            command = [*command, "--no-cache"] if command[0] == "run" else command
        try:
            app(command, prog_name="reval")
        except SystemExit as done:
            return int(done.code or 0)
    return 0


COMMANDS = ("run", "models", "validate", "cache")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
