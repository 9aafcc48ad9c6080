"""Classifying what a case did: clean, or the worst of the problems it showed.

A case is ``clean`` when its exit code is among the expected ones, nothing printed a Python
traceback or blamed a bug ("internal error"), no token appears in stdout, stderr or any file it
wrote, the result files it must keep exist (unless it exited 2: nothing was run), and its own
named checks pass. Otherwise its class is the first problem in ``CLASSES`` order.
"""

from __future__ import annotations

import csv
import io
import json
import re
import signal
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field

from tests.hostile.case import TOKEN, Case
from tests.hostile.execute import CPU_LIMIT, Observed

CLASSES = (
    "hang",
    "token-leak",
    "false-green",
    "traceback",
    "internal-error",
    "wrong-exit",
    "lost-results",
    "paid-twice",
    "unsafe-output",
    "wrong-report",
)
USAGE = 2  # "nothing was run": no result file is owed
SPUN = (-signal.SIGXCPU, -signal.SIGKILL)  # killed at the CPU limit (soft, then hard)


@dataclass
class Verdict:
    case: Case
    klass: str  # "clean" or one of CLASSES
    problems: list[str] = field(default_factory=list)
    exit_code: int | None = None
    seconds: float = 0.0

    @property
    def clean(self) -> bool:
        return self.klass == "clean"

    def line(self) -> str:
        code = "killed" if self.exit_code is None else f"exit {self.exit_code}"
        wanted = "/".join(str(c) for c in sorted(self.case.expect))
        first = self.problems[0] if self.problems else ""
        took = f"{code}, expected {wanted}, {self.seconds:.1f}s"
        return f"{self.klass:<15} {self.case.name} ({took}): {first}"


def classify(case: Case, seen: Observed) -> Verdict:
    found: list[tuple[str, str]] = []
    printed = seen.stdout + "\n" + seen.stderr
    if seen.exit_code is None:
        found.append(("hang", f"still running after {seen.seconds:.0f}s: killed"))
    elif seen.exit_code in SPUN:
        found.append(("hang", f"spun past {CPU_LIMIT}s of CPU: killed"))
    for secret in {TOKEN, *case.secrets}:
        where = _places(secret, seen)
        if where:
            found.append(("token-leak", f"a token appears in {', '.join(where)}"))
    if seen.exit_code == 0 and 0 not in case.expect:
        found.append(("false-green", "exit 0 where a failure was expected"))
    if "Traceback (most recent call last)" in printed:
        found.append(("traceback", _excerpt(printed, "Traceback (most recent call last)")))
    if re.search("internal error", printed, re.IGNORECASE):
        found.append(("internal-error", _excerpt(printed, "internal error")))
    if seen.exit_code not in (None, *SPUN) and seen.exit_code not in case.expect:
        found.append(("wrong-exit", f"exit {seen.exit_code}: {_last_line(seen.stderr)}"))
    if seen.exit_code not in (None, USAGE):
        missing = [name for name in case.results if f"work/{name}" not in seen.written]
        if missing:
            found.append(("lost-results", f"missing: {', '.join(missing)}"))
    if case.max_predictions is not None and seen.predictions > case.max_predictions:
        found.append(
            ("paid-twice", f"{seen.predictions} predictions for {case.max_predictions} cells")
        )
    if case.must_say and not re.search(case.must_say, printed):
        found.append(("wrong-report", f"the message does not match /{case.must_say}/"))
    for name in case.checks:
        klass, check = CHECKS[name]
        try:
            problem = check(seen)
        except Exception:  # the corpus must report every case, whatever a check trips on
            problem = "the check itself failed: " + traceback.format_exc(limit=1).splitlines()[-1]
        if problem:
            found.append((klass, f"{name}: {problem}"))
    found.sort(key=lambda item: CLASSES.index(item[0]))
    return Verdict(
        case,
        found[0][0] if found else "clean",
        [f"[{klass}] {text}" for klass, text in found],
        seen.exit_code,
        seen.seconds,
    )


def _places(secret: str, seen: Observed) -> list[str]:
    places = [
        name for name, text in (("stdout", seen.stdout), ("stderr", seen.stderr)) if secret in text
    ]
    encoded = secret.encode("utf-8", "surrogatepass")
    places += [path for path, data in seen.written.items() if encoded in data]
    return places


def _excerpt(text: str, marker: str) -> str:
    lines = text[text.lower().index(marker.lower()) :].splitlines()
    tail = [line for line in lines if line.strip()]
    return " | ".join(tail[-1:])[:200] if marker.startswith("Traceback") else lines[0][:200]


def _last_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1][:160] if lines else "(nothing on stderr)"


# --- named checks --------------------------------------------------------------------------
ESCAPES = re.compile("[\x1b\x9b\x9d\x90\x07\x08]")


def _no_escapes(seen: Observed) -> str | None:
    for name, text in (("stdout", seen.stdout), ("stderr", seen.stderr)):
        hit = ESCAPES.search(text)
        if hit:
            return f"{name} carries the control character {hit[0]!r}"
    return None


def _csv_safe(seen: Observed) -> str | None:
    data = seen.written.get("work/r.csv")
    if data is None:
        return None
    csv.field_size_limit(sys.maxsize)
    try:
        rows = list(csv.reader(io.StringIO(data.decode("utf-8", "replace"), newline="")))
    except csv.Error as exc:
        return f"the CSV file does not parse: {exc}"
    for row in rows:
        for cell in row:
            if cell[:1] in ("=", "+", "@", "\t", "\r") or re.match(r"-[^\d\s]", cell):
                return f"a CSV cell starts with a formula: {cell[:40]!r}"
    return None


def _html_safe(seen: Observed) -> str | None:
    data = seen.written.get("work/r.html", b"")
    for raw in (b"<script>alert(1)", b"<img src=x onerror"):
        if raw in data:
            return f"the HTML report holds {raw.decode()!r} unescaped"
    return None


def _no_repr(seen: Observed) -> str | None:
    texts = [
        seen.stdout,
        seen.stderr,
        seen.written.get("work/results.json", b"").decode("utf-8", "replace"),
    ]
    for text in texts:
        hit = re.search(r"object at 0x[0-9a-f]+|<class '[^']+'>|FileOutput\(", text)
        if hit:
            return f"a Python repr is shown: {hit[0]}"
    return None


def _cells(seen: Observed) -> list[dict[str, object]]:
    try:
        cells: list[dict[str, object]] = json.loads(seen.written["work/results.json"])["cells"]
    except (KeyError, ValueError, TypeError):
        return []
    return cells


def _error_not_fail(seen: Observed) -> str | None:
    statuses = {str(cell.get("status")) for cell in _cells(seen)}
    if statuses and statuses != {"error"}:
        return f"a judge that failed gave cells {sorted(statuses)}, not errors"
    return None


def _top_runs(seen: Observed) -> str | None:
    from tests.fake_replicate.catalogue import snapshot

    ranked = sorted(snapshot(), key=lambda e: -(e.get("run_count") or 0))[:5]
    wanted = [f"{e['owner']}/{e['name']}" for e in ranked]
    try:
        shown = json.loads(seen.stdout)["models"]
    except (ValueError, KeyError):
        return "stdout is not the --json document"
    names = [m.get("model") for m in shown]
    return None if names == wanted else f"listed {names}, the most run are {wanted}"


def _warning_count(seen: Observed) -> str | None:
    printed = len(re.findall(r"^warning:", seen.stderr, re.MULTILINE))
    counted = re.search(r"(\d+)\s+warning", seen.stdout + seen.stderr)
    if counted is None:
        return None if printed == 0 else f"{printed} warnings printed, none counted"
    return (
        None if int(counted[1]) == printed else f"{printed} warnings printed, {counted[1]} counted"
    )


def _pass_rate_ran(seen: Observed) -> str | None:
    rate = re.search(r"\((\d+)% pass rate", seen.stdout)
    if rate is None:
        return "no pass rate in the summary"
    ran = [c for c in _cells(seen) if c.get("status") in ("passed", "failed")]
    passed = [c for c in ran if c.get("status") == "passed"]
    expected = round(100 * len(passed) / len(ran)) if ran else 0
    return (
        None
        if int(rate[1]) == expected
        else f"pass rate {rate[1]}%, {expected}% of the cells that ran"
    )


CHECKS: dict[str, tuple[str, Callable[[Observed], str | None]]] = {
    "no-escapes": ("unsafe-output", _no_escapes),
    "csv-safe": ("unsafe-output", _csv_safe),
    "html-safe": ("unsafe-output", _html_safe),
    "no-repr": ("wrong-report", _no_repr),
    "error-not-fail": ("wrong-report", _error_not_fail),
    "top-runs": ("wrong-report", _top_runs),
    "warning-count": ("wrong-report", _warning_count),
    "pass-rate-ran": ("wrong-report", _pass_rate_ran),
}
