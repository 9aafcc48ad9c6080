"""`replicate:image:` providers end to end: what reaches Replicate, what is downloaded and saved.

The fake serves real PNG/JPEG bytes from its own delivery URLs, and the faults a download can
meet: a wrong content type, an oversized file, a 404, a text output from an image model.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Any

import pytest
import replicate
from replicate.helpers import FileOutput

from replicate_eval.providers.images import MAX_IMAGE_BYTES
from replicate_eval.providers.outputs import file_urls, looks_like_images
from tests.conftest import RunConfig
from tests.fake_replicate import (
    FakeReplicate,
    File,
    Reply,
    image_file,
    image_model,
    picture,
    sdxl_schema,
    tokens,
)

SDXL_VERSION = "7762fd07cf82c948538e41f63f77d685e02b063e37e496e96eefd46c929f9bdc"

# YAML text on purpose: promptfoo's SDXL example, run as its docs write it.
SDXL_EXAMPLE = f"""
prompts:
  - 'Generate an image: {{{{subject}}}}'
providers:
  - id: replicate:image:stability-ai/sdxl:{SDXL_VERSION}
    width: 768
    height: 768
    num_inference_steps: 50
tests:
  - vars:
      subject: fruit loops
"""


@pytest.fixture
def sdxl(fake_replicate: FakeReplicate) -> FakeReplicate:
    fake_replicate.add_model(
        "stability-ai/sdxl",
        image_model(),
        versions=[SDXL_VERSION],
        openapi_schema=sdxl_schema(),
    )
    return fake_replicate


def one(provider: str, *prompts: str) -> dict[str, Any]:
    """A config: these prompts (or just `x`) for one provider."""
    return {"prompts": list(prompts or ["x"]), "providers": [provider]}


def only_model(fake: FakeReplicate, slug: str, behaviour: Any) -> None:
    fake.add_model(slug, behaviour, official=True, openapi_schema=sdxl_schema())


@pytest.mark.parametrize(
    "config",
    [
        "template_syntax: curly\n" + SDXL_EXAMPLE,
        SDXL_EXAMPLE.replace("{{subject}}", "<<subject>>"),
    ],
    ids=["curly", "angle"],
)
def test_promptfoo_sdxl_example_runs_as_written(
    sdxl: FakeReplicate, run_config: RunConfig, tmp_path: Path, config: str
) -> None:
    run = run_config(config)

    assert run.result.exit_code == 0, run.result.stdout + run.result.stderr
    [request] = sdxl.received("POST", "/v1/predictions")
    assert request.body == {
        "version": SDXL_VERSION,
        "input": {
            "width": 768,
            "height": 768,
            "num_inference_steps": 50,
            "prompt": "Generate an image: fruit loops",
        },
    }
    [cell] = run.cells
    [image] = cell["images"]
    served = sdxl.files[Path(image["source"]).name].data
    digest = hashlib.sha256(served).hexdigest()
    assert image["path"] == f"{run.json['output_dir']}/{digest[:20]}.png"
    assert Path(run.json["output_dir"]).parent == Path("reval-output")
    assert run.json["output_dir"].endswith(run.json["run_id"])
    assert (tmp_path / image["path"]).read_bytes() == served
    assert (image["format"], image["width"], image["height"]) == ("png", 768, 768)
    assert image["size_bytes"] == len(served)
    assert image["source"].startswith(f"{sdxl.url}/files/")
    assert cell["output"] == image["path"]
    # Downloads are not API calls: the token never goes to the host an output names.
    [download] = [r for r in sdxl.received("GET") if r.path.startswith("/files/")]
    assert "authorization" not in download.headers


def test_nothing_is_sent_that_the_user_did_not_set(
    fake_replicate: FakeReplicate, run_config: RunConfig
) -> None:
    only_model(fake_replicate, "black-forest-labs/flux-schnell", image_model("PNG"))
    run = run_config(
        {
            "prompts": ["a <<thing>>"],
            "providers": [
                {
                    "id": "replicate:image:black-forest-labs/flux-schnell",
                    "prefix": "photo of ",
                    "config": {
                        "aspect_ratio": "1:1",
                        "apply_watermark": False,
                        "refine": "no_refiner",
                    },
                }
            ],
            "tests": [{"vars": {"thing": "cat"}}],
        }
    )
    assert run.result.exit_code == 0, run.result.stdout
    [request] = fake_replicate.received(
        "POST", "/v1/models/black-forest-labs/flux-schnell/predictions"
    )
    assert request.body == {
        "input": {
            "aspect_ratio": "1:1",
            "apply_watermark": False,
            "refine": "no_refiner",
            "prompt": "photo of a cat",
        }
    }


def test_several_jpeg_outputs_and_image_assertions(
    fake_replicate: FakeReplicate, run_config: RunConfig, tmp_path: Path
) -> None:
    only_model(fake_replicate, "acme/painter", image_model("JPEG"))
    run = run_config(
        {
            "prompts": ["<<subject>>"],
            "providers": [
                {"id": "replicate:image:acme/painter", "width": 96, "height": 64, "num_outputs": 3}
            ],
            "tests": [
                {
                    "description": "right shape",
                    "vars": {"subject": "sunset"},
                    "assert": [
                        {"type": "image-count", "value": 3},
                        {"type": "image-dimensions", "value": {"width": 96, "height": 64}},
                        {"type": "image-format", "value": "jpg"},
                        {"type": "not-image-format", "value": "png"},
                        {
                            "type": "python",
                            "value": "from PIL import Image\n"
                            'return all(Image.open(i["path"]).size == (96, 64)'
                            ' for i in context["images"])\n',
                        },
                    ],
                },
                {
                    "description": "wrong shape",
                    "vars": {"subject": "sunrise"},
                    "assert": [{"type": "image-dimensions", "value": {"min_width": 1024}}],
                },
            ],
        },
        "--output-dir",
        tmp_path / "shots",
    )
    good, bad = run.cells
    assert good["status"] == "passed", good
    assert len(good["images"]) == 3 and len({i["path"] for i in good["images"]}) == 3
    assert all(Path(i["path"]).parent == tmp_path / "shots" for i in good["images"])
    assert bad["status"] == "failed"
    assert "image-dimensions: image 1 (" in bad["reason"]
    assert "is 96x64: width 96, expected at least 1024" in bad["reason"]
    assert run.result.exit_code == 100
    # The table names each file with its size, and the summary points to the HTML report.
    for image in good["images"]:
        assert f"{Path(image['path']).name} 96x64 jpeg" in run.result.stdout
    assert f"6 images saved in {tmp_path / 'shots'}" in run.result.stdout
    # In a folder the user chose, the report is named after the run: it replaces nothing.
    report = tmp_path / "shots" / f"reval-report-{run.json['run_id']}.html"
    assert f"open {report} to see them" in " ".join(run.result.stdout.split())
    assert report.is_file() and f"Wrote {report}" in run.result.stderr


def test_the_same_image_is_stored_once(
    fake_replicate: FakeReplicate, run_config: RunConfig, tmp_path: Path
) -> None:
    same = image_file("always the same")
    only_model(fake_replicate, "acme/stubborn", lambda i: Reply(output=[same, same]))
    run = run_config(
        one("replicate:image:acme/stubborn", "a", "b"),
        "--output-dir",
        tmp_path / "out",
    )
    assert run.result.exit_code == 0
    paths = {image["path"] for cell in run.cells for image in cell["images"]}
    assert len(paths) == 1
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(
        [Path(next(iter(paths))).name, f"reval-report-{run.json['run_id']}.html"]
    )


def test_data_url_outputs_are_decoded(fake_replicate: FakeReplicate, run_config: RunConfig) -> None:
    data = picture("inline", 40, 30, "WEBP")
    url = "data:image/webp;base64," + base64.b64encode(data).decode()
    only_model(fake_replicate, "acme/inline", lambda i: Reply(output=url))
    run = run_config(one("replicate:image:acme/inline"))
    [cell] = run.cells
    [image] = cell["images"]
    assert (image["format"], image["width"], image["height"]) == ("webp", 40, 30)
    assert Path(image["path"]).read_bytes() == data
    assert image["source"].startswith("data:image/webp;base64,… (")


BIG = picture("big") + b"\0" * (MAX_IMAGE_BYTES + 1)


@pytest.mark.parametrize(
    ("output", "message"),
    [
        (File(b"<html>ad</html>", "text/html"), "its content type is `text/html`, not an image"),
        (File(b"", "image/png", status=404), "could not download image http"),
        (File(BIG, "image/png"), "50.0 MB, more than the 50 MB limit for one image"),
        (File(BIG, "image/png", chunked=True), "over 50.0 MB, more than the 50 MB limit"),
        (File(b"not really a png", "image/png"), "was served as `image/png` but is not a readable"),
        ("data:text/plain;base64,aGk=", "its content type is `text/plain`, not an image"),
        # One bad image fails the cell, and the good one beside it is not saved either.
        ([image_file("good"), File(b"<p>", "text/html")], "content type is `text/html`"),
    ],
    ids=[
        "content-type",
        "404",
        "too-big",
        "too-big-chunked",
        "not-an-image",
        "data-url-text",
        "good-and-bad",
    ],
)
def test_bad_downloads_are_cell_errors_and_nothing_is_saved(
    fake_replicate: FakeReplicate,
    run_config: RunConfig,
    tmp_path: Path,
    output: Any,
    message: str,
) -> None:
    outputs = output if isinstance(output, list) else [output]
    only_model(fake_replicate, "acme/flaky", lambda i: Reply(output=outputs))
    run = run_config(one("replicate:image:acme/flaky"), "--output-dir", tmp_path / "out")
    [cell] = run.cells
    assert cell["status"] == "error"
    assert message in cell["error"], cell["error"]
    assert cell["prediction_id"]  # the prediction happened; its id is kept
    assert not (tmp_path / "out").exists()
    assert run.result.exit_code == 100


def test_an_image_model_that_answers_text_names_the_text_prefix(
    fake_replicate: FakeReplicate, run_config: RunConfig
) -> None:
    only_model(fake_replicate, "meta/llama-3-8b", lambda i: Reply(tokens("I cannot draw.")))
    run = run_config(one("replicate:image:meta/llama-3-8b"))
    [cell] = run.cells
    assert cell["error"] == (
        '`replicate:image:meta/llama-3-8b` returned text ("I cannot draw."), not image files; '
        "for text models use `replicate:meta/llama-3-8b`"
    )


def test_a_text_model_that_answers_images_names_the_image_prefix(
    fake_replicate: FakeReplicate, run_config: RunConfig
) -> None:
    only_model(fake_replicate, "stability-ai/sdxl", image_model())
    # What happens at run time, past the preflight (which refuses this config first).
    run = run_config(one("replicate:stability-ai/sdxl"), "--no-preflight")
    [cell] = run.cells
    assert cell["status"] == "error"
    assert cell["error"].startswith("`replicate:stability-ai/sdxl` returned 1 image file(s) (")
    assert cell["error"].endswith(
        "not text; for image models use `replicate:image:stability-ai/sdxl`"
    )


def test_image_assertions_on_a_text_model_cannot_judge(
    fake_replicate: FakeReplicate, run_config: RunConfig
) -> None:
    fake_replicate.add_model("meta/llama", lambda i: Reply(tokens("words")), official=True)
    run = run_config(
        {
            **one("replicate:meta/llama"),
            "tests": [{"assert": [{"type": "not-image-format", "value": "png"}]}],
        }
    )
    [cell] = run.cells
    assert cell["status"] == "failed"
    assert "the output has no images to check" in cell["reason"]
    assert run.json["output_dir"] is None


def test_sdk_file_output_objects_count_as_files() -> None:
    client = replicate.Client(api_token="unused")
    outputs = [FileOutput("https://replicate.delivery/a/out-0.png", client)]
    assert file_urls(outputs) == ["https://replicate.delivery/a/out-0.png"]
    assert looks_like_images(outputs)
    assert file_urls(["https://x/a.png", "not a url"]) is None
    assert file_urls("Paris is the capital.") is None
    assert not looks_like_images("https://example.com/about")  # a URL, but not an image


def test_a_url_cannot_choose_where_its_image_is_written(
    fake_replicate: FakeReplicate, run_config: RunConfig, tmp_path: Path
) -> None:
    sneaky = "..%2F..%2F..%2Fescaped.png"
    fake_replicate.files[sneaky] = image_file("sneaky")
    url = f"{fake_replicate.url}/files/{sneaky}"
    only_model(fake_replicate, "acme/sneaky", lambda i: Reply(output=[url]))
    run = run_config(one("replicate:image:acme/sneaky"), "--output-dir", tmp_path / "o")
    [image] = run.cells[0]["images"]
    digest = hashlib.sha256(fake_replicate.files[sneaky].data).hexdigest()
    assert image["path"] == str(tmp_path / "o" / f"{digest[:20]}.png")
    assert image["source"] == url
    assert not list(tmp_path.rglob("escaped.png"))


@pytest.mark.parametrize(
    ("output", "message"),
    [
        ("https://[::1/broken.png", 'returned text ("https://[::1/broken.png"), not image files'),
        (None, "`replicate:image:acme/odd` returned no output"),
        ({"image": "x"}, 'returned an object with the key "image": {"image": "x"}, not image'),
    ],
)
def test_outputs_that_are_not_image_urls(
    fake_replicate: FakeReplicate, run_config: RunConfig, output: Any, message: str
) -> None:
    only_model(fake_replicate, "acme/odd", lambda i: Reply(output=output))
    run = run_config({**one("replicate:image:acme/odd"), "tests": [{}, {}]})
    assert [cell["status"] for cell in run.cells] == ["error", "error"]
    assert message in run.cells[0]["error"]
    assert "for text models" not in run.cells[0]["error"] or "text (" in message


def test_an_unwritable_output_folder_is_a_cell_error(
    fake_replicate: FakeReplicate, run_config: RunConfig, tmp_path: Path
) -> None:
    only_model(fake_replicate, "acme/painter", image_model())
    (tmp_path / "a-file").write_text("")
    run = run_config(
        one("replicate:image:acme/painter", "x", "y"),
        "--output-dir",
        tmp_path / "a-file" / "sub",
    )
    assert run.result.exit_code == 100
    assert [cell["status"] for cell in run.cells] == ["error", "error"]
    assert f"could not save an image in {tmp_path / 'a-file' / 'sub'}" in run.cells[0]["error"]


def test_an_output_dir_that_is_a_file_is_refused_before_running(
    fake_replicate: FakeReplicate, run_config: RunConfig, tmp_path: Path
) -> None:
    (tmp_path / "a-file").write_text("")
    run = run_config(
        one("replicate:image:acme/painter"),
        "--output-dir",
        tmp_path / "a-file",
    )
    assert run.result.exit_code == 2
    assert "--output-dir" in run.result.stderr and "is a file, not a folder" in run.result.stderr
    assert fake_replicate.received("POST") == []
