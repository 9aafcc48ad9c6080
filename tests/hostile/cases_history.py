"""Hostile input to the run history (issue 17): REFs, results files and stores as users and
attackers give them to `reval diff`, `reval runs` and `reval run --baseline/--resume`."""

from __future__ import annotations

from tests.history.support import built_run
from tests.hostile.case import (
    NOTHING_IS_NOT_A_PASS,
    OUTPUT_IS_DATA,
    RESULTS_NEVER_LOST,
    ROBUSTNESS,
    RUN,
    Case,
    Family,
    Folder,
)

GARBAGE = bytes(range(256))
HOSTILE = "<script>alert(1)</script> | @here ![x](http://evil.example/x.png) \x1b[31mred"


def _results(word_output: str, status: str) -> str:
    run = built_run("r1", {"a": [status]}, outputs={"a": word_output})
    return run.to_json()


def refs() -> list[Case]:
    f = Family("history", ROBUSTNESS, expect=2, results=())
    f("diff-empty-store", args=("diff",))
    f("diff-ref-empty", args=("diff", "", "latest"))
    f("diff-ref-glob", args=("diff", "*", "?"))
    f("diff-ref-huge-n", args=("diff", "latest~99999999999999999999", "latest"))
    f("diff-ref-negative", args=("diff", "latest~-1", "latest"))
    f("diff-ref-sql", args=("diff", "x' OR '1'='1", "latest"))
    f("diff-ref-long", args=("diff", "a" * 100_000, "latest"))
    f("diff-garbage-file", files={"a.json": GARBAGE}, args=("diff", "a.json", "a.json"))
    f("diff-missing-file", args=("diff", "nope.json", "nope.json", "--no-store"))
    f("diff-folder-ref", files={"d.json": Folder()}, args=("diff", "d.json", "d.json"))
    f("diff-array-file", files={"a.json": "[]"}, args=("diff", "a.json", "a.json"))
    f(
        "diff-deep-file",
        files={"a.json": "[" * 100_000 + "]" * 100_000},
        args=("diff", "a.json", "a.json"),
    )
    f("diff-dev-zero", args=("diff", "/dev/zero", "/dev/zero", "--no-store"), process=True)
    good = _results("fine", "passed")
    f(
        "diff-bad-output-suffix",
        files={"a.json": good},
        args=("diff", "a.json", "a.json", "-o", "diff.txt"),
    )
    f(
        "diff-output-missing-dir",
        files={"a.json": good},
        args=("diff", "a.json", "a.json", "-o", "no/such/diff.md"),
    )
    f(
        "diff-fail-on-bogus",
        files={"a.json": good},
        args=("diff", "a.json", "a.json", "--fail-on", "x"),
    )
    f(
        "diff-hostile-output",
        files={"a.json": good, "b.json": _results(HOSTILE, "failed")},
        args=("diff", "a.json", "b.json", "-o", "diff.html", "-o", "diff.md", "-o", "d.json"),
        expect=0,
        results=("diff.html", "diff.md", "d.json"),
        bullet=OUTPUT_IS_DATA,
    )
    f(
        "diff-hostile-gate",
        files={"a.json": good, "b.json": _results(HOSTILE, "failed")},
        args=("diff", "a.json", "b.json", "--fail-on", "regression"),
        expect=100,
        bullet=OUTPUT_IS_DATA,
    )
    f("runs-store-is-a-file", files={"s": "x"}, args=("runs", "--store", "s"))
    f("runs-store-garbage", files={"s/runs.sqlite3": GARBAGE}, args=("runs", "--store", "s"))
    f("runs-rm-nothing", args=("runs", "rm", "latest"))
    f("runs-rm-results-file", files={"a.json": good}, args=("runs", "rm", "a.json"))
    f("runs-show-garbage", files={"a.json": GARBAGE}, args=("runs", "show", "a.json"))
    f("runs-limit-negative", args=("runs", "--limit", "-1"))
    return f.cases


def runs() -> list[Case]:
    f = Family("history", NOTHING_IS_NOT_A_PASS, expect=2, results=())
    f("run-baseline-garbage", files={"a.json": GARBAGE}, args=(*RUN, "--baseline", "a.json"))
    f("run-baseline-nothing", args=(*RUN, "--baseline", "latest"))
    f("run-resume-garbage", files={"a.json": GARBAGE}, args=(*RUN, "--resume", "a.json"))
    f("run-only-failing-nothing", args=(*RUN, "--only-failing", "latest~3"))
    f("run-fail-on-regression-alone", args=(*RUN, "--fail-on", "regression"))
    f("run-two-reruns", args=(*RUN, "--only-errors", "x", "--resume", "y"))
    f("run-store-named-garbage", files={"s/runs.sqlite3": GARBAGE}, args=(*RUN, "--store", "s"))
    g = Family("history", RESULTS_NEVER_LOST, expect=0, results=("results.json",))
    # The default store unusable: the run goes on, unrecorded, and says so.
    g(
        "run-default-store-garbage",
        files={"data/reval/runs.sqlite3": GARBAGE},
        env={"XDG_DATA_HOME": "data"},
        args=RUN,
    )
    g("run-data-home-is-a-file", files={"data": "x"}, env={"XDG_DATA_HOME": "data"}, args=RUN)
    g(
        "run-baseline-of-another-config",
        files={"a.json": _results("fine", "passed")},
        args=(*RUN, "--baseline", "a.json", "--fail-on", "regression"),
    )
    return f.cases + g.cases


ALL = [refs, runs]
