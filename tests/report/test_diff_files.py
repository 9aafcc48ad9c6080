"""``reval diff -o``'s files: the Markdown comment, the JSON and the HTML page.

Two runs are built in Python and compared with ``diff_runs``, as the command does. The Markdown
is also rendered (markdown-it, CommonMark with GitHub's tables and raw HTML let through, as
GitHub's renderer does before it sanitizes) to check that what a model wrote stays text.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest
from markdown_it import MarkdownIt
from selenium import webdriver
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.common.by import By

from replicate_eval.errors import UsageError
from replicate_eval.history.changes import CellChange, RunDiff, RunSummary, Side
from replicate_eval.history.compared import compared
from replicate_eval.history.diff import diff_runs
from replicate_eval.report import diff_html as diff_html_module
from replicate_eval.report.diff_files import DIFF_SUFFIXES, check_diff_paths, write_diff
from replicate_eval.report.diff_html import diff_html
from replicate_eval.report.diff_json import diff_json
from replicate_eval.report.diff_markdown import markdown_diff
from tests.history.support import Spec, make_run, recorded_as
from tests.report.test_html_report import browser  # noqa: F401  (the Chromium fixture)

SCRIPT = "<script>alert(1)</script>"
HOSTILE = f'{SCRIPT}<img src=x onerror="window.__pwned = 1"> @octocat | #12'


def sample_diff() -> RunDiff:
    """A regression, a fix, one still failing (its score up), a new and a removed test, a new
    provider, and a hostile output in a test whose name holds a pipe."""
    base = make_run(
        "base-run",
        [
            Spec("adds numbers", output="4", score=1.0),
            Spec("was | broken", ("failed",), output="fine", reason="too short"),
            Spec("stuck", ("failed",), score=0.2, reason="never right"),
            Spec("dropped"),
        ],
        commit="abc1234def5678",
    )
    new = make_run(
        "new-run",
        [
            Spec("adds numbers", ("failed",), output="5", score=0.0, reason=HOSTILE),
            Spec("was | broken", output=HOSTILE),
            Spec("stuck", ("failed",), score=0.6, reason="never right"),
            Spec("fresh", provider="mistral"),
        ],
        commit="fed9876cba5432",
    )
    return diff_runs(compared(base), compared(new))


def rendered(markdown: str) -> str:
    return MarkdownIt("commonmark", {"html": True}).enable("table").render(markdown)


def table_widths(markdown: str) -> list[list[int]]:
    """For each table, the number of cells in each row, as a GFM renderer reads them."""
    tables: list[list[int]] = []
    cells = 0
    for token in MarkdownIt("commonmark").enable("table").parse(markdown):
        if token.type == "table_open":
            tables.append([])
        elif token.type == "tr_open":
            cells = 0
        elif token.type in ("td_open", "th_open"):
            cells += 1
        elif token.type == "tr_close":
            tables[-1].append(cells)
    return tables


# --- Markdown --------------------------------------------------------------------------------
def test_the_comment_leads_with_the_regressions() -> None:
    text = markdown_diff(sample_diff())
    headline = text.splitlines()[0]
    assert headline.startswith("**1 regression**, 1 fixed, 1 still failing, 1 new, 1 removed")
    assert "base `base-run` (commit abc1234) → new `new-run` (commit fed9876)" in headline
    assert "| adds numbers | p | llama | passed → failed | " in text
    sections = [line for line in text.splitlines() if line.startswith("### ")]
    assert sections == [
        "### Pass rate per prompt × provider",
        "### Regressions (1)",
        "### Fixed (1)",
        "### Still failing (1)",
        "### New tests (1)",
        "### Removed tests (1)",
        "### Score changes (1)",
        "### Changed outputs (2)",
    ]
    assert "**Providers added:** `mistral`" in text
    assert "| stuck | p | llama | 0.20 | 0.60 | +0.40 |" in text
    assert "| p | llama | 2/4 (50%) | 1/3 (33%) | -16.7 pts |" in text
    assert "<pre><del>4</del><ins>5</ins></pre>" in text


def test_model_output_and_test_names_stay_text_in_the_comment() -> None:
    text = markdown_diff(sample_diff())
    page = rendered(text)
    assert "<script" not in page and "<img" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "was \\| broken" in text  # the pipe does not split the row
    # GitHub would notify @octocat and cross-reference issue 12.
    assert "@octocat" not in text and "@\u200boctocat" in text
    regression = next(line for line in text.splitlines() if line.startswith("| adds numbers"))
    assert "#\u200b12" in regression
    assert "\\<script\\>" in regression


def test_every_row_has_its_tables_columns() -> None:
    tables = table_widths(markdown_diff(sample_diff()))
    assert len(tables) == 7  # the pass rates and six sections
    for widths in tables:
        assert len(set(widths)) == 1, widths  # an unescaped pipe would add a cell


def test_the_warnings_are_a_quote_under_the_headline() -> None:
    base = make_run("b", [Spec("a")])
    new = make_run("n", [Spec("a", ("failed",))])
    base = recorded_as(base, config_sha256="1" * 64, version="a" * 64)
    new = recorded_as(new, config_sha256="2" * 64, version="b" * 64)
    lines = markdown_diff(diff_runs(compared(base), compared(new))).splitlines()
    assert lines[1] == ""
    assert lines[2].startswith("> ⚠️ the config changed between the runs (evals.yaml → ")
    assert lines[3] == ">"
    assert lines[4] == (
        "> ⚠️ provider `llama` ran a different model version: aaaaaaaaaaaa in the base run, "
        "bbbbbbbbbbbb now"
    )


def test_a_diff_without_changes_says_so_in_one_line() -> None:
    run = make_run("same", [Spec("a"), Spec("b")])
    text = markdown_diff(diff_runs(run, run))
    assert text.count("\n") == 1
    assert text.startswith("**No changes** · base `same`")
    assert "all 2 cells passed in both runs" in text


def test_repeats_show_p_values_and_flaky_cells() -> None:
    base = make_run(
        "b", [Spec("drops", ("passed",) * 5), Spec("wobbles", ("passed",) * 3 + ("failed",) * 2)]
    )
    new = make_run(
        "n", [Spec("drops", ("failed",) * 5), Spec("wobbles", ("passed",) * 2 + ("failed",) * 3)]
    )
    text = markdown_diff(diff_runs(compared(base), compared(new)))
    assert text.startswith("**1 regression**, 1 flaky")
    # One-sided Fisher: 5/5 then 0/5 happens by chance once in C(10, 5) = 252 tables.
    assert "| drops | p | llama | 5/5 passed → 0/5 passed | expected 4 | 0.004 |" in text
    assert "### Flaky (the pass count moved, but chance may explain it) (1)" in text
    assert "| wobbles | p | llama | 3/5 | 2/5 | 0.500 |" in text
    assert "| Prompt | Provider | Base | New | Δ | p |" in text


@pytest.mark.parametrize("max_chars", [60_000, 4_000])
def test_a_huge_diff_is_cut_to_fit_a_comment_and_says_so(max_chars: int) -> None:
    cells = 5_000
    long = "word " * 400
    base = make_run("b", [Spec(f"test {n}", output=f"{long} {n}") for n in range(cells)])
    new = make_run(
        "n", [Spec(f"test {n}", ("failed",), output=f"{n} {long}") for n in range(cells)]
    )
    diff = diff_runs(compared(base), compared(new))
    started = time.perf_counter()
    text = markdown_diff(diff, max_chars=max_chars)
    assert time.perf_counter() - started < 2  # word diffs only for the rows shown
    assert len(text) <= max_chars
    shown = text.count("| passed → failed |")
    match = re.search(r"\*\*Cut to fit a comment:\*\* ([\d,]+) rows left out", text)
    assert match is not None
    # Every cell is a regression and a changed output; the score-less cells have no scores.
    assert int(match.group(1).replace(",", "")) == 2 * cells - shown
    assert text.count("<details>") == text.count("</details>")


def test_a_cut_never_leaves_a_fold_open() -> None:
    specs = [Spec(f"t{n}", ("failed",), output=f"old {n} " * 50) for n in range(40)]
    changed = [Spec(f"t{n}", ("failed",), output=f"new {n} " * 50) for n in range(40)]
    text = markdown_diff(diff_runs(make_run("b", specs), make_run("n", changed)), max_chars=6_000)
    assert len(text) <= 6_000
    assert "changed outputs" in text.splitlines()[-1]
    assert text.count("<details>") == text.count("</details>") > 1
    assert text.count("<pre>") == text.count("</pre>")


# --- JSON ------------------------------------------------------------------------------------
def test_the_json_has_the_documented_shape() -> None:
    data = json.loads(diff_json(sample_diff()))
    assert data["schema_version"] == 1
    assert set(data) == {
        "schema_version",
        "base",
        "new",
        "counts",
        "warnings",
        "pairings",
        "prompts",
        "providers",
        "rates",
        "cells",
    }
    assert data["base"]["run_id"] == "base-run" and data["new"]["commit"] == "fed9876cba5432"
    assert data["counts"] == {
        "regression": 1,
        "fixed": 1,
        "still_failing": 1,
        "flaky": 0,
        "new": 1,
        "removed": 1,
        "unchanged": 0,
        "score_changes": 1,
        "changed_outputs": 2,
    }
    assert data["providers"] == {"added": ["mistral"], "removed": []}
    assert data["rates"][0] == {
        "prompt": "p",
        "provider": "llama",
        "base": {"passed": 2, "runs": 4},
        "new": {"passed": 1, "runs": 3},
        "delta_points": -16.67,
        "p_value": pytest.approx(1.0),
    }
    regression = next(cell for cell in data["cells"] if cell["change"] == "regression")
    assert regression == {
        "test": "adds numbers",
        "prompt": "p",
        "provider": "llama",
        "change": "regression",
        "base": {
            "outcome": "passed",
            "statuses": ["passed"],
            "passed": 1,
            "runs": 1,
            "score": 1.0,
            "output": "4",
            "reason": None,
        },
        "new": {
            "outcome": "failed",
            "statuses": ["failed"],
            "passed": 0,
            "runs": 1,
            "score": 0.0,
            "output": "5",
            "reason": HOSTILE,
        },
        "p_value": None,
        "score_delta": -1.0,
        "output_changed": True,
    }
    assert len(data["cells"]) == 5  # every cell, one per line
    removed = next(cell for cell in data["cells"] if cell["change"] == "removed")
    assert removed["new"] is None and removed["score_delta"] is None


def test_ten_thousand_cells_serialise_fast() -> None:
    side = Side(("passed", "failed", "passed"), 0.5, "an output " * 20, "a reason")
    summary = RunSummary("r", "c.yaml", None, "2026-12-03T00:00:00Z", None, 0, 0)
    changes = [
        CellChange(f"test {n}", "p", "llama", "flaky", side, side, p_value=0.5)
        for n in range(10_000)
    ]
    diff = RunDiff(summary, summary, changes, rates=[])
    timings = []
    for _ in range(3):  # the best of three: the machine is shared
        started = time.perf_counter()
        text = diff_json(diff)
        timings.append(time.perf_counter() - started)
    assert min(timings) < 0.3
    assert len(json.loads(text)["cells"]) == 10_000


# --- HTML ------------------------------------------------------------------------------------
def test_the_page_escapes_model_output_and_allows_no_script() -> None:
    page = diff_html(sample_diff())
    assert SCRIPT not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script" not in page  # the page needs none of its own
    assert '<meta http-equiv="Content-Security-Policy" content="default-src \'none\';' in page
    assert "http://" not in page and "https://" not in page  # nothing fetched
    assert "<del>4</del><ins>5</ins>" in page
    assert "<td>was | broken</td>" in page


def test_the_page_puts_regressions_first_and_pass_rates_last() -> None:
    page = diff_html(sample_diff())
    ids = re.findall(r'<section id="section-([a-z_]+)">', page)
    assert ids == [
        "regression",
        "fixed",
        "still_failing",
        "new",
        "removed",
        "entries",
        "score",
        "outputs",
        "rates",
    ]


def test_past_the_word_diffs_an_output_change_is_shown_whole(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(diff_html_module, "_WORD_DIFFS", 1)
    page = diff_html(sample_diff())
    assert "<del>4</del><ins>5</ins>" in page  # the first, word by word
    assert "<del>fine</del><ins>&lt;script&gt;alert(1)&lt;/script&gt;" in page  # then whole
    assert page.count("Shown whole, not word by word") == 1


# --- Files -----------------------------------------------------------------------------------
def test_an_unknown_suffix_is_refused_with_the_ones_allowed(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as raised:
        check_diff_paths([tmp_path / "diff.md", tmp_path / "diff.csv"])
    message = str(raised.value)
    assert str(tmp_path / "diff.csv") in message
    assert all(suffix in message for suffix in DIFF_SUFFIXES)
    with pytest.raises(UsageError, match="does not exist"):
        check_diff_paths([tmp_path / "missing" / "diff.md"])
    check_diff_paths([tmp_path / "diff.MD", tmp_path / "diff.json", tmp_path / "d.html"])


def test_write_diff_writes_each_file_and_reports_the_one_it_could_not(tmp_path: Path) -> None:
    diff = sample_diff()
    paths = [tmp_path / "diff.md", tmp_path / "diff.json", tmp_path / "diff.html"]
    unwritable = tmp_path / "gone" / "diff.md"
    written = write_diff(diff, [*paths, unwritable])
    assert written.files == paths
    assert len(written.failures) == 1 and str(unwritable) in written.failures[0]
    assert paths[0].read_text(encoding="utf-8") == markdown_diff(diff)
    assert json.loads(paths[1].read_text(encoding="utf-8"))["counts"]["regression"] == 1
    assert paths[2].read_text(encoding="utf-8") == diff_html(diff)
    assert not list(tmp_path.glob(".*.tmp"))  # no temporary file left behind


# --- In a browser ----------------------------------------------------------------------------
def test_the_page_in_a_browser(browser: webdriver.Chrome, tmp_path: Path) -> None:  # noqa: F811
    page = tmp_path / "diff.html"
    write_diff(sample_diff(), [page])
    browser.get(page.as_uri())
    with pytest.raises(NoAlertPresentException):
        browser.switch_to.alert.text  # noqa: B018  (raises when no alert ran)
    assert browser.execute_script("return window.__pwned === undefined")
    regressions = browser.find_element(By.ID, "section-regression")
    assert regressions.is_displayed()
    assert "adds numbers" in regressions.text
    assert SCRIPT in regressions.text  # the hostile reason, shown as text
    outputs = browser.find_element(By.ID, "section-outputs")
    assert outputs.find_elements(By.TAG_NAME, "del") and outputs.find_elements(By.TAG_NAME, "ins")
