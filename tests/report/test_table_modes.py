"""`reval run --table`: the full grid for small runs or on request, a summary per prompt x
provider and the failing cells for large ones, or only the totals line."""

from __future__ import annotations

from typing import Any

import pytest

from replicate_eval.report.modes import FAILING_CELLS_SHOWN, FULL_GRID_MAX_CELLS
from replicate_eval.report.summary import chosen_table
from replicate_eval.results import RunResult
from tests.conftest import RunConfig
from tests.fake_replicate import FakeReplicate, Reply, tokens

TOTALS = "passed, "


def numbers(model_input: dict[str, Any]) -> Reply:
    """Repeats its prompt's number, except for the multiples of 7, which it gets wrong."""
    number = int(model_input["prompt"].split()[-1])
    return Reply(tokens(str(number + 1 if number % 7 == 0 else number)))


def broken(model_input: dict[str, Any]) -> Reply:
    return Reply(error="CUDA out of memory")


@pytest.fixture
def counting(fake_replicate: FakeReplicate) -> FakeReplicate:
    fake_replicate.add_model("acme/counter", numbers, official=True)
    fake_replicate.add_model("acme/broken", broken, official=True)
    return fake_replicate


def config(tests: int, providers: list[str] | None = None) -> dict[str, Any]:
    return {
        "description": "Counting",
        "prompts": [{"label": "say", "raw": "Say <<n>>"}],
        "providers": providers or ["replicate:acme/counter"],
        "tests": [
            {"vars": {"n": n}, "assert": [{"type": "equals", "value": "<<n>>"}]}
            for n in range(1, tests + 1)
        ],
    }


def grid_rows(out: str) -> int:
    """The full grid has a row per test, each titled with its vars."""
    return sum(line.lstrip("|│ ").startswith("n=") for line in out.splitlines())


def test_a_small_run_prints_the_full_grid_by_default(
    counting: FakeReplicate, run_config: RunConfig
) -> None:
    run = run_config(config(10))
    out = run.result.stdout
    assert run.result.exit_code == 100
    assert grid_rows(out) == 10 and out.count("PASS") == 9 and out.count("FAIL") == 1
    assert "Median latency" not in out  # not the summary
    assert "9 passed, 1 failed, 0 errors" in out
    full = run_config(config(10), "--table", "full", "--no-cache").result.stdout
    assert full.split("9 passed")[0] == out.split("9 passed")[0]  # the same grid


def test_a_large_run_prints_the_counts_and_only_the_failing_cells(
    counting: FakeReplicate, run_config: RunConfig
) -> None:
    providers = ["replicate:acme/counter", "replicate:acme/broken"]
    run = run_config(config(150, providers), "-j", "32")
    out = run.result.stdout
    assert FULL_GRID_MAX_CELLS < 150 * 2
    assert run.result.exit_code == 100 and len(run.cells) == 300
    assert grid_rows(out) == FAILING_CELLS_SHOWN  # a row per failing cell shown, no more
    rows = [[cell.strip() for cell in line.split("|")[1:-1]] for line in out.splitlines()]
    counts = [row for row in rows if row[1:2] == ["say"]]
    # 150 tests: the 21 multiples of 7 fail; the broken model errors on every one.
    assert [row[:6] for row in counts] == [
        ["replicate:acme/counter", "say", "129", "21", "0", "86%"],
        ["replicate:acme/broken", "say", "0", "0", "150", "0%"],
    ]
    assert counts[0][6].endswith("s") and counts[1][6] == "-"  # no latency: no output
    # The first FAILING_CELLS_SHOWN failing cells in test order: tests 1 to 44's errors, and
    # the failures of tests 7, 14, ... 42 before their errors.
    shown = [row for row in rows if row[:1] and row[0].startswith("n=")]
    assert [row[0] for row in shown if row[2] == "FAIL"] == [f"n={n}" for n in range(7, 43, 7)]
    assert [row[0] for row in shown if row[2] == "ERROR"] == [f"n={n}" for n in range(1, 45)]
    assert 'equals: output "8" does not equal "7"' in out
    assert "prediction failed: CUDA out of memory" in out
    assert "PASS" not in out
    more = 21 + 150 - FAILING_CELLS_SHOWN
    assert f"… and {more} more failing cells; all of them are in " in out
    assert "results.json (or run again with --table full)" in " ".join(out.split())
    assert "129 passed, 21 failed, 150 errors" in out


def test_summary_on_request_for_a_small_run(counting: FakeReplicate, run_config: RunConfig) -> None:
    run = run_config(config(14), "--table", "summary")
    out = run.result.stdout
    assert grid_rows(out) == 2  # only the two failing cells, tests 7 and 14
    assert "n=7" in out and "n=14" in out and "n=8" not in out
    assert "Median latency" in out and "Failing cells" in out
    assert "more failing" not in out
    assert "12 passed, 2 failed, 0 errors" in out


def test_summary_names_the_run_of_a_repeated_cell(
    counting: FakeReplicate, run_config: RunConfig
) -> None:
    out = run_config(config(7), "--table", "summary", "--repeat", "2").result.stdout
    assert "n=7 (run 1)" in out and "n=7 (run 2)" in out and "n=6" not in out
    assert "12 passed, 2 failed, 0 errors" in out


def test_none_prints_only_the_totals_line(counting: FakeReplicate, run_config: RunConfig) -> None:
    run = run_config(config(10), "--table", "none")
    assert run.result.stdout.startswith("9 passed, 1 failed, 0 errors (90% pass rate)")
    assert len(run.result.stdout.splitlines()) == 1
    assert len(run.cells) == 10  # the results file has every cell


def test_the_environment_sets_the_default(
    counting: FakeReplicate, run_config: RunConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REVAL_TABLE", "none")
    assert len(run_config(config(3)).result.stdout.splitlines()) == 1
    assert grid_rows(run_config(config(3), "--table", "full").result.stdout) == 3


def test_an_unknown_table_is_a_usage_error(counting: FakeReplicate, run_config: RunConfig) -> None:
    run = run_config(config(3), "--table", "grid")
    assert run.result.exit_code == 2
    assert "Invalid value for '--table'" in run.result.stderr
    assert "'grid' is not one of 'auto', 'full', 'summary', 'none'" in run.result.stderr
    assert run.json == {}  # nothing ran


@pytest.mark.parametrize(
    ("tests", "shown"),
    [(FULL_GRID_MAX_CELLS // 2, "full"), (FULL_GRID_MAX_CELLS // 2 + 1, "summary")],
)
def test_auto_is_the_grid_up_to_the_threshold(tests: int, shown: str) -> None:
    # Only the grid's size counts: tests x prompts x providers (here 2 providers).
    result = RunResult.model_construct(tests=[None] * tests, prompts=[None], providers=[None, None])
    assert chosen_table("auto", result) == shown
    assert chosen_table("full", result) == "full" and chosen_table("none", result) == "none"
