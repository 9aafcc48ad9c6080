"""The HTML report: the results grid as one self-contained page, images where people can see them.

Everything in a ``RunResult`` that came from a model is untrusted: the template autoescapes every
value, and a Content-Security-Policy allows no network access and no script but the page's own
(pinned by its hash), so even an escaping mistake could not run a model's ``<script>``.

Images are embedded as data URLs (one file to send around) or linked relative to the report
(small, but the images must travel with it).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
from markupsafe import Markup

from replicate_eval.min_pass import Verdict, verdict
from replicate_eval.report.labels import (
    BADGES,
    column_title,
    repeat_summary,
    test_title,
)
from replicate_eval.report.metrics_view import metrics_view
from replicate_eval.report.modes import ImageMode
from replicate_eval.results import (
    AssertionResult,
    CellResult,
    ImageResult,
    RunResult,
    runs_by_position,
)

_MEDIA_TYPES = {"jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp", "gif": "image/gif"}
_ALT_LIMIT = 200  # characters of the prompt in an image's alt text
_PIECES_PER_CHUNK = 1024  # Jinja yields each literal and value apart: write them in batches

_SCRIPT = """
(function () {
  var toggle = document.getElementById("only-failures");
  toggle.addEventListener("change", function () {
    document.body.classList.toggle("only-failures", toggle.checked);
  });
  var box = document.getElementById("lightbox");
  var big = document.getElementById("lightbox-image");
  document.querySelectorAll("a.thumb").forEach(function (link) {
    link.addEventListener("click", function (event) {
      event.preventDefault();
      var image = link.querySelector("img");
      big.src = image.src;
      big.alt = image.alt;
      box.hidden = false;
    });
  });
  function close() { box.hidden = true; big.removeAttribute("src"); }
  box.addEventListener("click", close);
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") { close(); }
  });
})();
"""
_SCRIPT_HASH = "sha256-" + base64.b64encode(hashlib.sha256(_SCRIPT.encode()).digest()).decode()

ENVIRONMENT = jinja2.Environment(
    loader=jinja2.PackageLoader("replicate_eval.report", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=False,
)


@dataclass(frozen=True)
class Column:
    provider_id: str
    provider_label: str
    prompt_label: str
    passed: int
    total: int


@dataclass(frozen=True)
class ImageView:
    path: str
    src: str | None  # None when the file is gone
    href: str
    alt: str
    dimensions: str
    format: str


@dataclass(frozen=True)
class CellView:
    status: str
    output: str | None
    error: str | None
    rendered_prompt: str | None
    images: list[ImageView]
    failures: list[str]
    assertions: list[AssertionResult]
    rate: str | None = None  # --repeat: "2/3 passed (67%, 95% CI 21%-94%)"
    carried_from: str | None = None  # the run it was carried over from (--only-failing...)


@dataclass(frozen=True)
class Row:
    title: str
    vars: list[tuple[str, str]]
    cells: list[CellView | None]
    all_passed: bool


def render_html(result: RunResult, *, report_path: Path, images: ImageMode = "embed") -> str:
    """The report for ``result``, to be written at ``report_path`` (links are relative to it)."""
    return "".join(html_chunks(result, report_path=report_path, images=images))


def html_chunks(
    result: RunResult, *, report_path: Path, images: ImageMode = "embed"
) -> Iterator[str]:
    """``render_html`` in pieces, one row at a time: a 10,000-cell page is never held whole
    (nor are its embedded images)."""
    pairs = [(prompt, provider) for prompt in result.prompts for provider in result.providers]
    runs = runs_by_position(result.cells)
    failing_tests = {c.test_index for c in result.cells if c.status != "passed"}
    columns = []
    for prompt, provider in pairs:
        statuses = [
            c.status
            for c in result.cells
            if (c.prompt_index, c.provider_index) == (prompt.index, provider.index)
        ]
        columns.append(
            Column(
                provider_id=provider.id,
                provider_label=column_title(provider.label),
                prompt_label=prompt.label,
                passed=statuses.count("passed"),
                # Planned runs, not finished ones: an interrupted run is not a better one.
                total=len(result.tests) * max(result.repeat, 1),
            )
        )

    def rows() -> Iterator[Row]:
        for test in result.tests:
            found = [runs.get((test.index, p.index, v.index)) for p, v in pairs]
            yield Row(
                title=test_title(test.description, test.vars, test.index),
                vars=[(name, _show(value)) for name, value in test.vars.items()],
                cells=[
                    _cell_view(r, report_path, images, verdict(r, result)) if r else None
                    for r in found
                ],
                all_passed=test.index not in failing_tests and all(found),
            )

    pieces = ENVIRONMENT.get_template("report.html.j2").generate(
        result=result,
        title=result.description or Path(result.config_path).name,
        totals=result.totals,
        columns=columns,
        metrics=metrics_view(result),
        rows=rows(),
        show_prompts=len(result.prompts) > 1,
        badges={status: label for status, (label, _) in BADGES.items()},
        script=Markup(_SCRIPT),
        script_hash=_SCRIPT_HASH,
    )
    return batched(pieces)


def batched(pieces: Iterable[str]) -> Iterator[str]:
    batch: list[str] = []
    for piece in pieces:
        batch.append(piece)
        if len(batch) == _PIECES_PER_CHUNK:
            yield "".join(batch)
            batch.clear()
    yield "".join(batch)


def _cell_view(
    runs: list[CellResult], report_path: Path, mode: ImageMode, judged: Verdict | None
) -> CellView:
    """A cell's view: with --repeat, the run that says the most and the pass rate; with
    --min-pass, the test's verdict beside the shown run's badge."""
    cell, rate = repeat_summary(runs, judged) if len(runs) > 1 else (runs[0], None)
    if rate is not None and judged is not None:
        rate = f"test {judged.badge}: {rate}"
    failures = [f"{a.type}: {a.reason}" for a in cell.assertions if not a.passed and a.weight > 0]
    if cell.status == "failed" and not failures and cell.reason:
        failures = [cell.reason]
    return CellView(
        status=cell.status,
        output=cell.output,
        error=cell.error,
        rendered_prompt=cell.rendered_prompt,
        images=[_image_view(image, cell, report_path, mode) for image in cell.images],
        failures=failures,
        assertions=cell.assertions,
        rate=rate,
        carried_from=cell.carried_from,
    )


def _image_view(
    image: ImageResult, cell: CellResult, report_path: Path, mode: ImageMode
) -> ImageView:
    path = image.file
    src: str | None = None
    href = "#"
    if path.is_file():
        if mode == "embed":
            media_type = _MEDIA_TYPES.get(image.format, f"image/{image.format}")
            src = f"data:{media_type};base64,{base64.b64encode(path.read_bytes()).decode()}"
        else:
            relative = os.path.relpath(path.resolve(), report_path.resolve().parent)
            src = href = quote(Path(relative).as_posix())
    return ImageView(
        path=image.path,
        src=src,
        href=href,
        # Not clip(): the prompt is cut as written, whitespace and all.
        alt=(cell.rendered_prompt or "")[:_ALT_LIMIT],
        dimensions=image.dimensions,
        format=image.format,
    )


def _show(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
