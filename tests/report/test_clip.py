"""``clip()`` keeps its limits, and each site that shortens text through it shows what its
hand-written cut showed (same characters, same marker)."""

from __future__ import annotations

import json
import re

import pytest

from replicate_eval.assertions.text import quote
from replicate_eval.clip import clip
from replicate_eval.config.load import _derived_label
from replicate_eval.config.problems import _describe_input
from replicate_eval.judging.answers import quoted
from replicate_eval.report.labels import column_title

LENGTHS = [0, 1, 2, 3, 4, 5, 38, 39, 40, 41, 56, 57, 58, 59, 60, 61, 62, 79, 80, 81, 299, 300, 301]


@pytest.mark.parametrize("limit", [0, 1, 2, 3, 4, 10, 80, 120])
@pytest.mark.parametrize("marker", ["…", "", "...", '..."'])
@pytest.mark.parametrize("length", LENGTHS)
def test_clip_never_passes_its_limit(limit: int, marker: str, length: int) -> None:
    text = "x" * length
    clipped = clip(text, limit, marker=marker)
    if length <= limit:
        assert clipped == text
    else:
        assert clipped.endswith(marker)
        assert clipped == "x" * max(limit - len(marker), 0) + marker
        assert len(clipped) == max(limit, len(marker))


def test_clip_strips_first_and_cuts_at_the_limit() -> None:
    assert clip("  short \n", 10) == "short"
    assert clip("abcdefghij", 10) == "abcdefghij"
    assert clip("abcdefghijk", 10) == "abcdefghi…"
    assert clip("abcdefghijk", 10, marker="") == "abcdefghij"
    assert clip('"abcdefghijk"', 10, marker='..."') == '"abcde..."'


# The hand-written cuts that clip() replaced, as they were.
@pytest.mark.parametrize("length", LENGTHS)
def test_sites_show_what_they_showed(length: int) -> None:
    text = "é" * length
    shown = json.dumps(text, ensure_ascii=False)
    assert quote(text) == (shown if len(shown) <= 80 else shown[:76] + '..."')
    assert quoted(text) == json.dumps(text if len(text) <= 300 else text[:299] + "…")
    assert _derived_label(text) == (text if len(text) <= 40 else text[:39] + "…")
    value = repr(text)
    assert _describe_input(text) == (value if len(value) <= 60 else value[:57] + "...")


def test_version_ids_in_column_titles_keep_eight_characters() -> None:
    version = "2790a695e5dcae15506138cc4718d1106d0d475e6dca4b1d43f42414647993d5"
    title = column_title(f"replicate:acme/m:{version} and {version[::-1]}")
    assert title == f"replicate:acme/m:{version[:8]}… and {version[::-1][:8]}…"
    assert re.fullmatch(r"[\w:/]+… and \w{8}…", title)
