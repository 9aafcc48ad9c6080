"""`python -m tests.bench --only startup`: how long the `reval` command takes to start.

Each command runs as a child process several times; the median is printed in seconds and
next to `python -c pass` (the interpreter alone) measured in the same invocation, so a busy
machine shows up in both. A measurement, not a test.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

RUNS = 5


def median_seconds(command: list[str], env: dict[str, str], runs: int = RUNS) -> float:
    """The median wall time of `command`, which must exit 0."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        completed = subprocess.run(command, capture_output=True, env=env, check=False)
        times.append(time.perf_counter() - started)
        if completed.returncode != 0:
            raise SystemExit(f"{command} failed: {completed.stderr.decode(errors='replace')}")
    return statistics.median(times)


def startup(folder: Path) -> None:
    config = folder / "startup.yaml"
    config.write_text(
        "prompts: ['case <<n>>']\n"
        "providers: [replicate:bench/echo]\n"
        "tests:\n" + "".join(f"  - vars: {{n: {n}}}\n" for n in range(3))
    )
    reval = str(Path(sys.executable).with_name("reval"))
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("REPLICATE_", "REVAL_"))},
        "XDG_CACHE_HOME": str(folder / "startup-cache"),
    }
    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "reval --version": [reval, "--version"],
        "reval --help": [reval, "--help"],
        "reval validate --no-preflight": [reval, "validate", "--no-preflight", str(config)],
    }
    median_seconds(commands["reval --version"], env, runs=1)  # warm the file cache
    measured = {label: median_seconds(command, env) for label, command in commands.items()}
    bare = measured["python -c pass"]
    print(f"\n== start-up (median of {RUNS} runs)")
    for label, seconds in measured.items():
        extra = (
            ""
            if label == "python -c pass"
            else f"  (+{seconds - bare:.3f} s, x{seconds / bare:.1f})"
        )
        print(f"  {label:<34} {seconds:.3f} s{extra}")
