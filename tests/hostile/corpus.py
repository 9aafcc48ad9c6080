"""Run the hostile-input corpus against `reval` and count what happened (`make hostile`).

    python -m tests.hostile.corpus [--only FAMILY] [--case NAME] [--json FILE] [--workers N]

Every case runs as a real `reval` process in its own temp folder, against its own fake
Replicate API, with a wall-clock limit (the process group is killed at expiry). The counts per
class and per family are printed, then one line per case that is not clean. The exit code is 0
whatever the counts: this measures, the test suite (tests/safety/test_hostile.py) judges.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from tests.hostile.case import Case
from tests.hostile.cases import BY_NAME, CASES
from tests.hostile.execute import observe
from tests.hostile.verdict import CLASSES, Verdict, classify

KINDS = (*CLASSES, "runner-error")


def judge(case: Case) -> Verdict:
    try:
        return classify(case, observe(case))
    except Exception as exc:  # a bug of the corpus, not of reval: report it, go on
        return Verdict(case, "runner-error", [f"[runner-error] {type(exc).__name__}: {exc}"])


def run_all(cases: list[Case], workers: int, progress: bool = True) -> list[Verdict]:
    verdicts: list[Verdict] = []
    # Threads: each case waits on its own child process; the fakes serve from this process.
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for verdict in pool.map(judge, cases):
            verdicts.append(verdict)
            if progress:
                mark = "." if verdict.clean else verdict.klass[0].upper()
                print(mark, end="", file=sys.stderr, flush=True)
    if progress:
        print(file=sys.stderr)
    return verdicts


def report(verdicts: list[Verdict], seconds: float) -> str:
    counts = Counter(v.klass for v in verdicts)
    lines = [f"{len(verdicts)} cases in {seconds:.0f}s: {counts['clean']} clean"]
    lines += [f"  {klass:<15} {counts[klass]}" for klass in KINDS if counts[klass]]
    lines.append("")
    lines.append(f"{'family':<15} {'cases':>5} {'clean':>5}  problems")
    families: dict[str, list[Verdict]] = {}
    for verdict in verdicts:
        families.setdefault(verdict.case.family, []).append(verdict)
    for family, members in families.items():
        bad = Counter(v.klass for v in members if not v.clean)
        summary = ", ".join(
            f"{k} {n}" for k, n in sorted(bad.items(), key=lambda i: KINDS.index(i[0]))
        )
        clean = sum(v.clean for v in members)
        lines.append(f"{family:<15} {len(members):>5} {clean:>5}  {summary}")
    failing = [v for v in verdicts if not v.clean]
    if failing:
        lines.append("")
        lines.append("Not clean:")
        lines += [f"  {v.line()}" for v in failing]
    return "\n".join(lines)


def by_bullet(verdicts: list[Verdict]) -> str:
    """The cases that are not clean, under the issue-13 section they belong to."""
    sections: dict[str, list[Verdict]] = {}
    for verdict in verdicts:
        if not verdict.clean:
            sections.setdefault(verdict.case.bullet, []).append(verdict)
    lines = []
    for bullet, members in sections.items():
        lines.append(f"{bullet} ({len(members)}):")
        lines += [f"  {v.klass:<15} {v.case.name}" for v in members]
    return "\n".join(lines)


def as_json(verdicts: list[Verdict], seconds: float) -> dict[str, object]:
    return {
        "cases": len(verdicts),
        "seconds": round(seconds, 1),
        "counts": dict(Counter(v.klass for v in verdicts)),
        "results": [
            {
                "name": v.case.name,
                "family": v.case.family,
                "bullet": v.case.bullet,
                "class": v.klass,
                "exit_code": v.exit_code,
                "expected": sorted(v.case.expect),
                "seconds": round(v.seconds, 2),
                "problems": v.problems,
            }
            for v in verdicts
        ],
    }


def _verdict(entry: dict[str, Any]) -> Verdict:
    case = BY_NAME[entry["name"]]
    return Verdict(case, entry["class"], entry["problems"], entry["exit_code"], entry["seconds"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.hostile.corpus", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--only", action="append", metavar="FAMILY", help="only this family (repeatable)"
    )
    parser.add_argument(
        "--case", action="append", metavar="NAME", help="only this case (repeatable)"
    )
    parser.add_argument(
        "--json", type=Path, metavar="FILE", help="also write every verdict to FILE"
    )
    parser.add_argument("--workers", type=int, default=2, help="cases at a time (default 2)")
    parser.add_argument("--list", action="store_true", help="list the cases and exit")
    parser.add_argument(
        "--from-json", type=Path, metavar="FILE", help="report a --json file again, run nothing"
    )
    parser.add_argument(
        "--by-bullet", action="store_true", help="also list the non-clean cases by issue-13 section"
    )
    options = parser.parse_args(argv)
    cases = [
        case
        for case in CASES
        if (not options.only or case.family in options.only)
        and (not options.case or case.name in options.case)
    ]
    if options.list:
        print("\n".join(f"{c.name}\t{c.bullet}" for c in cases))
        return 0
    if not cases:
        parser.error("no case matches --only/--case")
    if options.from_json:
        saved = json.loads(options.from_json.read_text(encoding="utf-8"))
        verdicts = [_verdict(entry) for entry in saved["results"] if entry["name"] in BY_NAME]
        print(report(verdicts, saved["seconds"]) + "\n\n" + by_bullet(verdicts))
        return 0
    begun = time.monotonic()
    verdicts = run_all(cases, max(1, min(options.workers, 2)))
    seconds = time.monotonic() - begun
    print(report(verdicts, seconds))
    if options.by_bullet:
        print("\n" + by_bullet(verdicts))
    if options.json:
        options.json.parent.mkdir(parents=True, exist_ok=True)
        options.json.write_text(
            json.dumps(as_json(verdicts, seconds), indent=2) + "\n", encoding="utf-8"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
