"""`make demo`: run a config against the fake Replicate API, with no token and no network.

    python -m tests.fake_replicate.demo configs/replicate-llm.yaml [reval run options]
    python -m tests.fake_replicate.demo models show stability-ai/sdxl   (any reval command)

The fake plays Llama 2 and Gemma with canned answers to the questions in
configs/replicate-llm.yaml (anything else is echoed), so the table looks like a real run,
SDXL and FLUX schnell for configs/replicate-image.yaml, drawing real (if simple) pictures, and
the judges of configs/replicate-graded.yaml (a grader, an embedding model, Llama Guard), and
replicate/hello-world. Each has its real published schema and version
(tests/fixtures/model_schemas), so the preflight checks a config as Replicate would. The rest
of its catalogue is 605 real public models (names, descriptions, run counts) from a 2025
snapshot, for `reval models`.
"""

from __future__ import annotations

import hashlib
import os
import sys
from typing import Any

from tests.fake_replicate import FakeReplicate, Reply, image_file, image_model, tokens
from tests.fake_replicate.judges import grader, serve_judges
from tests.fake_replicate.model_schemas import public_version, serve_real_model

GEMMA_VERSION = public_version("google-deepmind/gemma-7b-it")  # 2790a695...
SDXL_VERSION = public_version("stability-ai/sdxl")  # 7762fd07...

# FLUX schnell's sizes by aspect ratio, at megapixels "1" (replicate/cog-flux predict.py,
# ASPECT_RATIOS); megapixels "0.25" halves both sides.
FLUX_SIZES = {
    "1:1": (1024, 1024),
    "16:9": (1344, 768),
    "21:9": (1536, 640),
    "3:2": (1216, 832),
    "2:3": (832, 1216),
    "4:5": (896, 1088),
    "5:4": (1088, 896),
    "3:4": (896, 1152),
    "4:3": (1152, 896),
    "9:16": (768, 1344),
    "9:21": (640, 1536),
}

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
    width, height = FLUX_SIZES[str(model_input.get("aspect_ratio", "1:1"))]
    if model_input.get("megapixels") == "0.25":
        width, height = width // 2, height // 2
    image_format = {"jpg": "JPEG", "png": "PNG"}.get(model_input.get("output_format", ""), "WEBP")
    prompt = str(model_input.get("prompt", ""))
    count = int(model_input.get("num_outputs", 1))
    return Reply(
        [image_file(f"{prompt} #{n}", width, height, image_format) for n in range(count)],
        processing=0.3,
    )


def hello_world(model_input: dict[str, Any]) -> Reply:
    """replicate/hello-world: ``text`` in, one string out."""
    return Reply(f"hello {model_input.get('text', '')}")


def serve_demo_models(fake: FakeReplicate) -> None:
    """The demo configs' models with their real schemas and versions, keeping what the
    catalogue says of them (if it is loaded)."""
    for slug, behaviour in [
        ("meta/llama-2-7b-chat", toy_model(0)),
        ("google-deepmind/gemma-7b-it", toy_model(1)),
        ("stability-ai/sdxl", image_model(processing=0.4)),
        ("black-forest-labs/flux-schnell", flux_schnell),
        ("replicate/hello-world", hello_world),  # configs/quickstart.yaml, on Replicate
        # The bigger grader one test of configs/replicate-graded.yaml asks for.
        ("meta/meta-llama-3.1-405b-instruct", grader),
    ]:
        serve_real_model(fake, slug, behaviour)
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
