"""`make demo`: run a config against the fake Replicate API, with no token and no network.

    python -m tests.fake_replicate.demo configs/replicate-llm.yaml [reval run options]

The fake plays Llama 2 and Gemma with canned answers to the questions in
configs/replicate-llm.yaml (anything else is echoed), so the table looks like a real run.
"""

from __future__ import annotations

import hashlib
import os
import sys
from typing import Any

from tests.fake_replicate import FakeReplicate, Reply, tokens

GEMMA_VERSION = "2790a695e5dcae15506138cc4718d1106d0d475e6dca4b1d43f42414647993d5"

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


def main(argv: list[str]) -> int:
    from replicate_eval.cli import app

    with FakeReplicate() as fake:
        fake.add_model("meta/llama-2-7b-chat", toy_model(0), official=True)
        fake.add_model("google-deepmind/gemma-7b-it", toy_model(1), versions=[GEMMA_VERSION])
        os.environ["REPLICATE_BASE_URL"] = fake.url
        os.environ["REPLICATE_API_TOKEN"] = fake.token
        try:
            app(["run", *argv], prog_name="reval")
        except SystemExit as done:
            return int(done.code or 0)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
