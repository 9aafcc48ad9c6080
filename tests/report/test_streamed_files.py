"""Large results files are written in pieces (JSON: one per cell; HTML: rows at a time) and
masked item by item, yet read the same as the whole document."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import replicate_eval
from replicate_eval import results
from replicate_eval.redact import MASK, REDACT, redacted
from replicate_eval.report.html import html_chunks, render_html
from replicate_eval.results import CellResult, PromptInfo, ProviderInfo, RunResult, count

# Text that would confuse a writer splicing the document by searching for its `cells` key.
HOSTILE = ['\n  "cells": []', '"cells": [] ]}', "\u2028 ✓ \\n\n  ]", ""]
TOKEN = "r8_streamedResultsTest0123456789abcdefXY"


def make_result(cells: int, *, output: str = "ok", description: str | None = None) -> RunResult:
    cell_results = [
        CellResult(
            test_index=n,
            prompt_index=0,
            provider_index=0,
            test_description=HOSTILE[n % len(HOSTILE)],
            prompt_label="p",
            provider_id="replicate:meta/llama",
            provider_label="llama",
            vars={"n": n, "nested": {"cells": []}},
            rendered_prompt=f"case {n}",
            input={"prompt": f"case {n}"},
            status="passed" if n % 2 else "failed",
            output=f"{output} {HOSTILE[n % len(HOSTILE)]}",
        )
        for n in range(cells)
    ]
    return RunResult(
        run_id="r1",
        reval_version="0",
        config_path="c.yaml",
        description=description if description is not None else HOSTILE[0],
        started_at="2026-12-03T00:00:00Z",
        finished_at="2026-12-03T00:00:01Z",
        complete=True,
        prompts=[PromptInfo(index=0, label="p", template="case <<n>>")],
        providers=[ProviderInfo(index=0, id="replicate:meta/llama", label="llama")],
        tests=[
            results.TestInfo(index=n, description=HOSTILE[n % len(HOSTILE)], vars={"n": n})
            for n in range(cells)
        ],
        cells=cell_results,
        totals=count(cell_results, planned=cells, wall_time_s=1.0),
    )


@pytest.mark.parametrize("cells", [0, 1, 5])
def test_the_pieces_make_the_whole_indented_document(cells: int) -> None:
    result = make_result(cells)
    pieces = list(result.json_chunks())
    assert "".join(pieces) == result.model_dump_json(indent=2, by_alias=True) + "\n"
    # Streamed: a piece per cell, never the document whole.
    assert len(pieces) == (1 if cells == 0 else cells + 2)


def test_a_written_results_file_reads_back_equal(tmp_path: Path) -> None:
    result = make_result(7)
    path = tmp_path / "results.json"
    written = replicate_eval.write_results(result, [path])
    assert not written.failures
    assert replicate_eval.read_results(path) == result
    assert (
        json.loads(path.read_text(encoding="utf-8"))["cells"][0]["test_description"] == (HOSTILE[0])
    )


def test_a_token_in_one_cell_is_masked_and_the_other_cells_are_kept_as_they_are() -> None:
    REDACT.add(TOKEN)
    result = make_result(4)
    leaky = result.cells[2].model_copy(update={"output": f"the key is {TOKEN}"})
    result = result.model_copy(update={"cells": [*result.cells[:2], leaky, result.cells[3]]})

    masked = redacted(result)

    assert masked.cells[2].output == f"the key is {MASK}"
    assert TOKEN not in masked.to_json()
    assert [masked.cells[n] is result.cells[n] for n in (0, 1, 3)] == [True, True, True]
    assert masked.tests is result.tests  # nothing to mask there: not copied


def test_a_token_outside_the_lists_is_masked_too() -> None:
    REDACT.add(TOKEN)
    result = make_result(2, description=f"run with {TOKEN}")
    test = result.tests[1].model_copy(update={"vars": {"key": TOKEN}})
    result = result.model_copy(update={"tests": [result.tests[0], test]})

    masked = redacted(result)

    assert masked.description == f"run with {MASK}"
    assert masked.tests[1].vars == {"key": MASK}
    assert masked.cells == result.cells
    assert TOKEN not in masked.to_json()


def test_a_result_without_a_token_is_returned_as_is() -> None:
    REDACT.add(TOKEN)
    result = make_result(3)
    assert redacted(result) is result


def test_the_html_report_is_written_rows_at_a_time(tmp_path: Path) -> None:
    result = make_result(400)
    path = tmp_path / "report.html"
    pieces = list(html_chunks(result, report_path=path))
    page = "".join(pieces)
    assert page == render_html(result, report_path=path)
    assert max(len(piece) for piece in pieces) < len(page) / 4
    replicate_eval.write_results(result, [path])
    assert path.read_text(encoding="utf-8") == page
