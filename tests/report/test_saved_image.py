"""One record of an image saved to disk (``media.SavedImage``): results files, the response
cache and `python` checks see it as they saw the two records it replaced."""

from __future__ import annotations

import json
from pathlib import Path

from replicate_eval.media import SavedImage
from replicate_eval.results import CellResult, ImageResult

IMAGE = SavedImage(
    path="reval-output/run/abc.png",
    source="https://x/out.png",
    format="png",
    width=768,
    height=512,
    size_bytes=1234,
)


def test_results_hold_the_image_as_they_did() -> None:
    assert ImageResult is SavedImage
    assert IMAGE.model_dump_json() == (
        '{"path":"reval-output/run/abc.png","source":"https://x/out.png","format":"png",'
        '"width":768,"height":512,"size_bytes":1234}'
    )
    cell = CellResult.model_validate(
        {
            **dict.fromkeys(("test_description", "rendered_prompt", "input")),
            **dict.fromkeys(("test_index", "prompt_index", "provider_index"), 0),
            "prompt_label": "p",
            "provider_id": "x",
            "provider_label": "x",
            "vars": {},
            "status": "passed",
            "images": [IMAGE],
        }
    )
    text = cell.model_dump_json(by_alias=True)
    assert CellResult.model_validate_json(text) == cell
    assert json.loads(text)["images"] == [json.loads(IMAGE.model_dump_json())]


def test_checks_and_the_cache_see_plain_data() -> None:
    # What `python` checks get as context["images"], in the order they got it.
    assert list(IMAGE.model_dump().items()) == [
        ("path", "reval-output/run/abc.png"),
        ("source", "https://x/out.png"),
        ("format", "png"),
        ("width", 768),
        ("height", 512),
        ("size_bytes", 1234),
    ]
    assert SavedImage.model_validate(IMAGE.model_dump()) == IMAGE
    assert IMAGE.file == Path("reval-output/run/abc.png")
    assert IMAGE.dimensions == "768x512"
