"""``joined_text``: the one reading of a text output that the Replicate text and image
providers and the Cog provider share."""

from __future__ import annotations

from typing import Any

import pytest

from replicate_eval.providers.outputs import joined_text


@pytest.mark.parametrize(
    ("output", "text"),
    [
        ("Paris", "Paris"),
        ("  spaced out \n", "  spaced out \n"),  # a string is kept exactly, whitespace and all
        ("", ""),
        # A language model's streamed tokens: joined with nothing between them.
        (["The", " capital", " is", " Paris", "."], "The capital is Paris."),
        (["", "a", "", "b\n"], "ab\n"),
        (["https://x/out.png"], "https://x/out.png"),  # URLs are text here: callers ask first
        ([], ""),  # no tokens: empty text (the image provider calls it "no output" before)
    ],
)
def test_text_outputs_become_one_string(output: Any, text: str) -> None:
    assert joined_text(output) == text


@pytest.mark.parametrize(
    "output",
    [
        None,
        ["a", 1],  # a list with anything but strings is not tokens
        ["a", None],
        [["a", "b"]],
        ("a", "b"),  # only a JSON list is tokens, as every provider read it
        {"text": "a"},
        3,
        True,
        b"bytes",
    ],
)
def test_other_outputs_are_not_text(output: Any) -> None:
    assert joined_text(output) is None
