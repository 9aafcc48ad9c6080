"""`make bench`: reval against the fake Replicate API, measured, next to a bare baseline.

    python -m tests.bench            every scenario
    python -m tests.bench --only throttled
    python -m tests.bench --only startup   (tests/bench_startup.py)
    python -m tests.bench --only scale     (tests/bench_scale.py: large configs, 10,000 cells)

Each scenario starts the tests' fake server (in this process, contract checks off) with a model
of a given latency, writes a generated config, and runs `reval run` as a child process. It
prints cases, concurrency, latency, reval's run time and the ideal (cases x latency /
concurrency), predictions created, polls made and reval's peak RSS. On a 2-core machine the
server and the client share the CPU, so scenarios that measure overhead also run a *bare
baseline* in a child process: a minimal async httpx client making the same creates with
`Prefer: wait` against the same server. Ratios are reval / baseline (or / ideal).

This is a measurement, not a test: numbers vary with the machine's load.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from tests.bench_history import history
from tests.bench_launch import LAUNCHER
from tests.bench_scale import scale
from tests.bench_startup import startup
from tests.fake_replicate import FakeReplicate, Reply, tokens
from tests.fake_replicate.judges import EMBEDDING, GRADER, serve_judges

MODEL = "bench/echo"
CREATE = f"/v1/models/{MODEL}/predictions"


@dataclass
class Measured:
    run_s: float  # reval's own run time (totals.wall_time_s), without interpreter start-up
    process_s: float  # the whole `reval run` process
    peak_rss_mb: float
    totals: dict[str, Any]


def write_config(
    folder: Path, cases: int, check: str = "{type: contains, value: ok}", name: str = ""
) -> Path:
    tests = "".join(f"  - vars: {{n: {n}}}\n" for n in range(cases))
    path = folder / f"bench-{cases}{name}.yaml"
    path.write_text(
        "prompts: ['case <<n>>']\n"
        f"providers: [replicate:{MODEL}]\n"
        f"defaultTest:\n  assert: [{check}]\n"
        f"tests:\n{tests}"
    )
    return path


def run_reval(fake: FakeReplicate, config: Path, concurrency: int, *extra: str) -> Measured:
    out = config.with_suffix(".json")
    env = {**os.environ, "REPLICATE_BASE_URL": fake.url, "REPLICATE_API_TOKEN": fake.token}
    reval = str(Path(sys.executable).with_name("reval"))
    command = [reval, "run", str(config), "-j", str(concurrency), "--no-progress", "-o", str(out)]
    finished = LAUNCHER.run([*command, *extra], env)
    if finished.code not in (0, 100):
        raise SystemExit(f"reval failed ({finished.code}): {finished.stderr}")
    totals = json.loads(out.read_text())["totals"]
    return Measured(totals["wall_time_s"], finished.seconds, finished.rss_mb, totals)


@dataclass(frozen=True)
class Baseline:
    creates_s: float  # the creates alone, timed inside the client
    process_s: float  # the whole client process: interpreter start-up and imports included


def run_baseline(fake: FakeReplicate, cases: int, concurrency: int) -> Baseline:
    """A bare async httpx client making the same creates, in its own process."""
    command = [sys.executable, "-m", "tests.bench", "--baseline", fake.url, fake.token]
    started = time.perf_counter()
    output = subprocess.run(
        [*command, str(cases), str(concurrency)], capture_output=True, text=True, check=True
    )
    return Baseline(float(output.stdout.strip()), time.perf_counter() - started)


@dataclass(frozen=True)
class SideBySide:
    reval: Measured  # the run with the median whole-command time
    reval_process_s: float  # medians
    baseline: Baseline


def side_by_side(
    fake: FakeReplicate, config: Path, cases: int, concurrency: int, runs: int = 3
) -> SideBySide:
    """reval and the bare client in turn, ``runs`` times each against the same server, so that
    both see the same machine; medians of whole commands (and of the creates alone)."""
    ours: list[Measured] = []
    theirs: list[Baseline] = []
    for _ in range(runs):
        ours.append(run_reval(fake, config, concurrency, "--no-cache"))
        theirs.append(run_baseline(fake, cases, concurrency))
    ours.sort(key=lambda m: m.process_s)
    return SideBySide(
        reval=ours[len(ours) // 2],
        reval_process_s=ours[len(ours) // 2].process_s,
        baseline=Baseline(
            statistics.median(b.creates_s for b in theirs),
            statistics.median(b.process_s for b in theirs),
        ),
    )


async def baseline(url: str, token: str, cases: int, concurrency: int) -> float:
    import httpx

    limits = httpx.Limits(max_connections=concurrency)
    headers = {"Authorization": f"Bearer {token}", "Prefer": "wait=60"}
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=120) as client:
        slots = asyncio.Semaphore(concurrency)

        async def one(n: int) -> None:
            async with slots:
                response = await client.post(
                    CREATE, json={"input": {"prompt": f"case {n}"}}, headers=headers
                )
                response.raise_for_status()

        started = time.perf_counter()
        await asyncio.gather(*(one(n) for n in range(cases)))
        return time.perf_counter() - started


def serve(latency: float, hold_cap: float = 60.0) -> FakeReplicate:
    fake = FakeReplicate(hold_cap=hold_cap, check_contract=False).start()
    fake.add_model(MODEL, lambda i: Reply(tokens("ok"), processing=latency), official=True)
    return fake


def report(name: str, rows: list[tuple[str, str]]) -> None:
    print(f"\n== {name}")
    for label, value in rows:
        print(f"  {label:<34} {value}")


def common(
    cases: int,
    concurrency: int,
    latency: float,
    m: Measured,
    fake: FakeReplicate | None,
) -> list[tuple[str, str]]:
    """Rows every scenario prints; counts as the server saw them, or (``fake`` None, when the
    server also served other runs) as reval counted them."""
    if fake is None:
        created, polls = m.totals["predictions"], m.totals["polls"]
    else:
        created = len(fake.predictions)
        polls = sum(r.path.startswith("/v1/predictions/") for r in fake.received("GET"))
    return [
        ("cases / concurrency / latency", f"{cases} / {concurrency} / {latency:g} s"),
        ("reval run time (process)", f"{m.run_s:.2f} s ({m.process_s:.2f} s)"),
        ("predictions created / polls", f"{created} / {polls}"),
        ("peak RSS", f"{m.peak_rss_mb:.0f} MB"),
        ("passed / errors", f"{m.totals['passed']} / {m.totals['errors']}"),
    ]


def throughput(folder: Path, cache: Path) -> None:
    cases, concurrency, latency = 1000, 50, 0.2
    config = write_config(folder, cases)
    fake = serve(latency)
    try:
        both = side_by_side(fake, config, cases, concurrency)
    finally:
        fake.stop()
    m, base = both.reval, both.baseline
    ideal = cases * latency / concurrency
    rows = [
        *common(cases, concurrency, latency, m, None),
        (
            "ideal (cases x latency / conc.)",
            f"{ideal:.2f} s  -> reval's run {m.run_s / ideal:.2f}x",
        ),
        (
            "bare client, whole command",
            f"{base.process_s:.2f} s  -> reval {both.reval_process_s / base.process_s:.2f}x "
            "(target <= 1.1x)",
        ),
        (
            "bare client, its creates alone",
            f"{base.creates_s:.2f} s  -> reval's run {m.run_s / base.creates_s:.2f}x",
        ),
    ]
    report("1000 cases, 50 at a time, 0.2 s each (medians of 3, in turn)", rows)
    fake = serve(latency)
    try:
        run_reval(fake, config, concurrency, "--cache-dir", str(cache))
        cached = run_reval(fake, config, concurrency, "--cache-dir", str(cache))
    finally:
        fake.stop()
    report(
        "the same 1000 cases again, from the cache",
        [
            (
                "reval run time (process)",
                f"{cached.run_s:.2f} s ({cached.process_s:.2f} s) (target < 2 s)",
            ),
            (
                "cached cells / predictions",
                f"{cached.totals['cached']} / {cached.totals['predictions']}",
            ),
            ("peak RSS", f"{cached.peak_rss_mb:.0f} MB"),
        ],
    )


def overhead(folder: Path) -> None:
    cases, concurrency = 2000, 50
    fake = serve(0.0)
    try:
        both = side_by_side(fake, write_config(folder, cases), cases, concurrency)
    finally:
        fake.stop()
    m, base = both.reval, both.baseline
    ours, theirs = cases / both.reval_process_s, cases / base.process_s
    rows = [
        *common(cases, concurrency, 0.0, m, None),
        (
            "cases/s, whole commands: reval / bare",
            f"{ours:.0f} / {theirs:.0f} -> {ours / theirs:.2f}x (target >= 0.85x)",
        ),
        (
            "cases/s, runs alone: reval / bare",
            f"{cases / m.run_s:.0f} / {cases / base.creates_s:.0f} "
            f"-> {base.creates_s / m.run_s:.2f}x",
        ),
    ]
    report("2000 cases at zero latency (pure overhead; medians of 3, in turn)", rows)


def checks(folder: Path) -> None:
    """The cost of running every cell's `python` check in a worker process: 2000 cells at zero
    latency with a `python` check each, against the same run with a `contains` check. Runs
    alternate, three of each; medians."""
    cases, concurrency = 2000, 50
    plain = write_config(folder, cases)
    python = write_config(folder, cases, "{type: python, value: \"'ok' in output\"}", "-python")
    rates: dict[str, list[float]] = {"contains": [], "python": []}
    rss: dict[str, float] = {}
    fake = serve(0.0)
    try:
        for _ in range(3):
            for label, config in (("contains", plain), ("python", python)):
                m = run_reval(fake, config, concurrency, "--no-cache")
                if m.totals["passed"] != cases:
                    raise SystemExit(f"the {label} run did not pass every cell: {m.totals}")
                rates[label].append(cases / m.process_s)
                rss[label] = max(rss.get(label, 0.0), m.peak_rss_mb)
    finally:
        fake.stop()
    without, with_checks = statistics.median(rates["contains"]), statistics.median(rates["python"])
    report(
        "2000 cells at zero latency, each with a `python` check (worker processes)",
        [
            ("cells per second, whole command", "median of 3, start-up and files included"),
            ("  with a `contains` check", f"{without:.0f}"),
            (
                "  with a `python` check",
                f"{with_checks:.0f} -> {with_checks / without:.2f}x (target >= 0.8x)",
            ),
            ("peak RSS (reval, not its workers)", f"{rss['python']:.0f} MB"),
        ],
    )


def polling(folder: Path, concurrency: int) -> None:
    cases, latency = 100, 2.5
    fake = serve(latency, hold_cap=1.0)
    try:
        m = run_reval(fake, write_config(folder, cases), concurrency, "--no-cache")
        rows = common(cases, concurrency, latency, m, fake)
        lags = []
        for prediction in fake.predictions.values():
            gets = fake.received("GET", f"/v1/predictions/{prediction.id}")
            if gets:
                lags.append(gets[-1].at - prediction.finished)
    finally:
        fake.stop()
    ideal = cases * latency / concurrency
    rows += [
        ("ideal", f"{ideal:.2f} s -> reval {m.run_s / ideal:.2f}x"),
        (
            "completion lag mean / max",
            f"{statistics.mean(lags):.3f} / {max(lags):.3f} s (target <= 0.3 s)",
        ),
    ]
    title = f"100 cases of 2.5 s, {concurrency} at a time, the server's wait capped at 1 s"
    report(title + " (polling)", rows)


def polling_at_two_concurrencies(folder: Path) -> None:
    # At 50 at a time the run's poll budget (40/s) binds: a first wave of 50 cannot all be
    # seen finished sooner than 50 polls / 40 per second after they finish.
    polling(folder, 10)
    polling(folder, 50)


def throttled(folder: Path, cases: int = 10, per_minute: int = 30) -> None:
    fake = serve(0.0)
    fake.limit_creations(per_minute=per_minute, burst=1)
    try:
        m = run_reval(fake, write_config(folder, cases), min(cases, 10), "--no-cache")
        rows = common(cases, min(cases, 10), 0.0, m, fake)
    finally:
        fake.stop()
    ideal = (cases - 1) * 60 / per_minute  # the burst goes at once, the rest one per token
    rows += [
        ("429s received and retried", str(m.totals["throttled"])),
        ("rate-limit ideal", f"{ideal:.1f} s -> reval {m.run_s / ideal:.2f}x (target <= 1.3x)"),
    ]
    report(f"{cases} cases under {per_minute} creations a minute, burst 1", rows)


def graded(folder: Path, cache: Path) -> None:
    """Every case judged twice: an llm-rubric (the grader) and a `similar` to one shared
    expected text (the embedding model). Model and judges each take ``latency``.

    25 cells at a time make up to 50 requests at once (a cell's two judges run side by side):
    past about 50 the fake server itself slows down on 2 cores (a bare client making 1500
    creates 100 at a time takes five times as long as 50 at a time), which would measure it,
    not reval."""
    cases, concurrency, latency = 500, 25, 0.2
    tests = "".join(f"  - vars: {{n: {n}}}\n" for n in range(cases))
    config = folder / "bench-graded.yaml"
    config.write_text(
        "prompts: ['case <<n>>']\n"
        f"providers: [replicate:{MODEL}]\n"
        "defaultTest:\n  assert:\n"
        "    - {type: llm-rubric, value: \"mentions 'ok'\"}\n"
        "    - {type: similar, value: ok case, threshold: 0.5}\n"
        f"tests:\n{tests}"
    )

    def slow(behaviour: Callable[[dict[str, Any]], Reply]) -> Callable[[dict[str, Any]], Reply]:
        return lambda model_input: replace(behaviour(model_input), processing=latency)

    def start() -> FakeReplicate:
        fake = FakeReplicate(check_contract=False).start()
        fake.add_model(MODEL, slow(lambda i: Reply(tokens(f"ok {i['prompt']}"))), official=True)
        serve_judges(fake)
        for model in (GRADER, EMBEDDING):
            fake.models[model].behaviour = slow(fake.models[model].behaviour)
        return fake

    fake = start()
    try:
        m = run_reval(fake, config, concurrency, "--cache-dir", str(cache))
        rows = common(cases, concurrency, latency, m, fake)
    finally:
        fake.stop()
    # A cell is the model's prediction, then its two judges side by side.
    ideal = cases * 2 * latency / concurrency
    t = m.totals
    rows += [
        ("ideal (cases x 2 latencies / conc.)", f"{ideal:.2f} s -> reval {m.run_s / ideal:.2f}x"),
        (
            "predictions: model / graders",
            f"{t['predictions']} / {t['grader_predictions']} "
            f"(ideal {cases} / {2 * cases + 1}: the shared expected text embedded once)",
        ),
        ("graders' time, added up", f"{t['grader_time_s']:.1f} s"),
    ]
    report(f"{cases} cases, each judged by a grader and an embedding model", rows)
    fake = start()
    try:
        again = run_reval(fake, config, concurrency, "--cache-dir", str(cache))
    finally:
        fake.stop()
    report(
        "the same graded cases again, from the cache",
        [
            ("reval run time (process)", f"{again.run_s:.2f} s ({again.process_s:.2f} s)"),
            (
                "predictions: model / graders; grader answers cached",
                f"{again.totals['predictions']} / {again.totals['grader_predictions']}; "
                f"{again.totals['grader_cached']}",
            ),
        ],
    )


SCENARIOS: dict[str, Callable[[Path, Path], None]] = {
    "throughput": throughput,
    "overhead": lambda folder, cache: overhead(folder),
    "polling": lambda folder, cache: polling_at_two_concurrencies(folder),
    "throttled": lambda folder, cache: throttled(folder),
    "graded": lambda folder, cache: graded(folder, folder / "graded-cache"),
    "checks": lambda folder, cache: checks(folder),
    # The real-time case: five minutes, so only on request (--only six-per-minute).
    "six-per-minute": lambda folder, cache: throttled(folder, cases=30, per_minute=6),
    "startup": lambda folder, cache: startup(folder),
    # Large configs and a 10,000-cell run: a few minutes, so only on request (--only scale).
    "scale": lambda folder, cache: scale(folder),
    # Two 10,000-cell runs in a store, then `reval runs` and `reval diff` (issue 17).
    "history": lambda folder, cache: history(folder),
}
DEFAULT = ["throughput", "overhead", "polling", "throttled", "graded", "checks", "startup"]


def main(argv: list[str]) -> int:
    if argv[:1] == ["--baseline"]:
        url, token, cases, concurrency = argv[1:5]
        print(asyncio.run(baseline(url, token, int(cases), int(concurrency))))
        return 0
    LAUNCHER.start()  # while this process is small: see tests/bench_launch.py
    parser = argparse.ArgumentParser(prog="python -m tests.bench")
    parser.add_argument("--only", choices=sorted(SCENARIOS), action="append")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as temp:
        folder = Path(temp)
        for name in args.only or DEFAULT:
            SCENARIOS[name](folder, folder / "cache")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
