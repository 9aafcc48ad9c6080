"""`python -m tests.bench --only history`: the run store and `reval diff` at 10,000 cells
(issue 17).

Two real 10,000-cell runs (`reval run` against the fake Replicate API, recorded in a fresh
store): the second with one answer in 20 wrong and one in 10 reworded, so the diff has
regressions and changed outputs to show. Then whole commands, as a user runs them: `reval runs`,
`reval diff latest~1 latest` (both from the store), the same diff writing diff.md, diff.json
and diff.html, and `reval diff` of the two results files without a store. `reval --version`
(start-up) is measured in the same invocation: the commands' own cost is the difference.
A measurement, not a test.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.bench_scale import write_config
from tests.bench_startup import median_seconds
from tests.fake_replicate import FakeReplicate, Reply, tokens

CELLS = 10_000


def _answers(changed: bool) -> Any:
    def answer(model_input: dict[str, Any]) -> Reply:
        n = int(str(model_input.get("prompt", "case 0")).split()[-1])
        if changed and n % 20 == 0:
            return Reply(tokens("no"))  # fails `contains ok`: a regression
        if changed and n % 10 == 5:
            return Reply(tokens(f"ok, case {n} reworded"))  # passes, output changed
        return Reply(tokens(f"ok, case {n}"))

    return answer


def history(folder: Path) -> None:
    fake = FakeReplicate(check_contract=False).start()
    try:
        reval = str(Path(sys.executable).with_name("reval"))
        env = {
            **os.environ,
            "REPLICATE_BASE_URL": fake.url,
            "REPLICATE_API_TOKEN": fake.token,
            "XDG_CACHE_HOME": str(folder / "history-cache"),
            "REVAL_STORE": str(folder / "history-store"),
        }
        config = write_config(folder, CELLS, 1)
        files = []
        for changed in (False, True):
            fake.add_model("bench/echo", _answers(changed), official=True)
            out = folder / f"history-{int(changed)}.json"
            command = [reval, "run", str(config), "-j", "50", "--no-progress", "--no-cache"]
            done = subprocess.run([*command, "-o", str(out)], env=env, capture_output=True)
            if done.returncode not in (0, 100):
                raise SystemExit(f"reval run exited {done.returncode}: {done.stderr[-500:]!r}")
            files.append(out)
        outputs = [f"-o{folder / name}" for name in ("diff.md", "diff.json", "diff.html")]
        start = median_seconds([reval, "--version"], env, runs=5)
        checks = {
            "reval --version (start-up)": start,
            "reval runs": median_seconds([reval, "runs"], env, runs=5),
            "reval diff latest~1 latest": median_seconds(
                [reval, "diff", "latest~1", "latest"], env, runs=5
            ),
            "  ... -o diff.md -o diff.json -o diff.html": median_seconds(
                [reval, "diff", "latest~1", "latest", *outputs], env, runs=3
            ),
            "reval diff a.json b.json --no-store": median_seconds(
                [reval, "diff", str(files[0]), str(files[1]), "--no-store"], env, runs=3
            ),
        }
        print(f"\n== the run store and diffs of two {CELLS:,}-cell runs (whole commands, medians)")
        for label, seconds in checks.items():
            extra = (
                ""
                if label.startswith("reval --version")
                else f"  ({seconds / start:.1f}x start-up)"
            )
            print(f"  {label:<44} {seconds:.2f} s{extra}")
        size = (folder / "history-store" / "runs.sqlite3").stat().st_size / 1e6
        print(f"  {'store size, two runs':<44} {size:.1f} MB")
        print("  targets: reval runs < 1 s; reval diff of two 10,000-cell runs < 1 s")
    finally:
        fake.stop()
