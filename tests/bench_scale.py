"""`python -m tests.bench --only scale`: the fixed costs of large runs (issue 15).

Whole commands, as a user runs them, against the fake Replicate API: `reval validate` of
10,000 tests x 2 providers (loading, planning, rendering and the preflight), with and without
the preflight; `reval validate --no-preflight` of 100,000 tests; and a 10,000-cell `reval run`
at zero model latency with its peak RSS, alone and writing all five results files, and the time
to write each file of those 10,000 cells (through the public `write_results`) and to print its
table, the summary and the full grid. Start-up
(`reval --version`, measured in the same invocation) is printed beside them: the stages' own
cost is the difference. A measurement, not a test.
"""

from __future__ import annotations

import io
import os
import sys
import time
from pathlib import Path

import replicate_eval
from replicate_eval.api import remember_secret
from replicate_eval.report.summary import summary_tables
from replicate_eval.report.table import results_table
from replicate_eval.results import RunResult
from tests.bench_launch import LAUNCHER
from tests.bench_startup import median_seconds
from tests.fake_replicate import FakeReplicate, Reply, tokens

MODELS = ("bench/echo", "bench/other")
SUFFIXES = (".json", ".html", ".csv", ".xml", ".md")


def write_config(folder: Path, tests: int, providers: int) -> Path:
    path = folder / f"scale-{tests}x{providers}.yaml"
    lines = [
        "prompts: ['case <<n>>']",
        "providers: [" + ", ".join(f"replicate:{m}" for m in MODELS[:providers]) + "]",
        "defaultTest:\n  assert: [{type: contains, value: ok}]",
        "tests:",
        *(f"  - vars: {{n: {n}}}" for n in range(tests)),
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def peak_rss_run(command: list[str], env: dict[str, str]) -> tuple[float, float, int]:
    finished = LAUNCHER.run(command, env)
    return finished.seconds, finished.rss_mb, finished.code


def scale(folder: Path) -> None:
    fake = FakeReplicate(check_contract=False).start()
    try:
        for model in MODELS:
            fake.add_model(model, lambda i: Reply(tokens("ok")), official=True)
        reval = str(Path(sys.executable).with_name("reval"))
        env = {
            **os.environ,
            "REPLICATE_BASE_URL": fake.url,
            "REPLICATE_API_TOKEN": fake.token,
            "XDG_CACHE_HOME": str(folder / "scale-cache"),
        }
        wide = write_config(folder, 10_000, 2)
        huge = write_config(folder, 100_000, 1)
        start = median_seconds([reval, "--version"], env, runs=3)
        checks = {
            "reval --version (start-up)": start,
            "validate --no-preflight 10,000 x 2": median_seconds(
                [reval, "validate", "--no-preflight", str(wide)], env, runs=3
            ),
            "validate 10,000 x 2 (preflight)": median_seconds(
                [reval, "validate", str(wide)], env, runs=3
            ),
            "validate --no-preflight 100,000": median_seconds(
                [reval, "validate", "--no-preflight", str(huge)], env, runs=1
            ),
        }
        print("\n== large configs (whole commands, medians of 3; 100,000: one run)")
        for label, seconds in checks.items():
            extra = (
                "" if label.startswith("reval --version") else f"  (stages {seconds - start:.2f} s)"
            )
            print(f"  {label:<38} {seconds:.2f} s{extra}")
        print("  targets: 10,000 x 2 stages (preflight included) < 1 s; 100,000 < 10 s")

        cells = write_config(folder, 10_000, 1)
        run = [reval, "run", str(cells), "-j", "50", "--no-progress", "--no-cache"]
        out = folder / "scale-run.json"
        seconds, rss, code = peak_rss_run([*run, "-o", str(out)], env)
        files = [folder / f"scale-all{suffix}" for suffix in SUFFIXES]
        _, rss_all, code_all = peak_rss_run([*run, *(f"-o{path}" for path in files)], env)
        if {code, code_all} - {0, 100}:
            raise SystemExit(f"reval run exited {code}, {code_all}")
        print("\n== 10,000 cells at zero latency, 50 at a time (whole command, results file)")
        rate = f"{10_000 / seconds:.0f} cells/s"
        print(f"  {'reval run -o results.json':<38} {seconds:.2f} s ({rate})")
        print(f"  {'peak RSS':<38} {rss:.0f} MB (target < 150 MB)")
        print(f"  {'peak RSS, all five results files':<38} {rss_all:.0f} MB")
        print(f"  {'results file':<38} {out.stat().st_size / 1e6:.1f} MB")
        result = replicate_eval.read_results(out)
        write_times(result, folder, token=fake.token)
        table_times(result, run_s=seconds)
    finally:
        fake.stop()


def write_times(result: RunResult, folder: Path, *, token: str) -> None:
    """Seconds to write each results file of a 10,000-cell run (median of 3), with the token
    known, as in a run, so that the redaction is paid for."""
    remember_secret(token)
    print("\n== writing the results files of 10,000 cells (write_results, medians of 3)")
    for suffix in SUFFIXES:
        path = folder / f"scale-write{suffix}"
        times = []
        for _ in range(3):
            started = time.perf_counter()
            written = replicate_eval.write_results(result, [path])
            times.append(time.perf_counter() - started)
            if written.failures:
                raise SystemExit(f"writing {path} failed: {written.failures}")
        size = path.stat().st_size / 1e6
        print(f"  {suffix:<38} {sorted(times)[1]:.2f} s ({size:.1f} MB; target < 1 s)")


def table_times(result: RunResult, *, run_s: float) -> None:
    """Seconds to print a 10,000-cell run's table (outside a terminal, as in CI), against the
    whole run."""
    from rich.console import Console

    print("\n== printing the table of 10,000 cells (plain, 120 columns, medians of 3)")
    tables = {
        "summary (the default here)": lambda: summary_tables(
            result, max_cell_length=250, plain=True
        ),
        "--table full": lambda: results_table(result, max_cell_length=250, plain=True),
    }
    for label, table in tables.items():
        times = []
        for _ in range(3):
            console = Console(file=io.StringIO(), width=120, force_terminal=False)
            started = time.perf_counter()
            console.print(table())
            times.append(time.perf_counter() - started)
        seconds = sorted(times)[1]
        share = f"{seconds / run_s:.1%} of the run"
        print(f"  {label:<38} {seconds:.2f} s ({share}; target < 5%)")
