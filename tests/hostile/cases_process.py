"""Hostile processes: signals at start-up and during a run, a closed stdout, the other commands."""

from __future__ import annotations

from tests.fake_replicate import Reply, tokens
from tests.hostile.case import (
    CREATE,
    PAYING_ONCE,
    PROVIDER,
    RIGHT_MESSAGES,
    ROBUSTNESS,
    RUN,
    USER_CODE,
    VALIDATE,
    Case,
    Family,
    catalogue,
    config,
    model,
    stall,
)

RESULTS = ("results.json",)
NO_ASSERT = "\n  - vars: {topic: cats}"


SLOW = model(lambda _: Reply(tokens("cats"), processing=30.0))
FOUR = "".join(f"\n  - vars: {{topic: cats {n}}}" for n in range(4))


def signals() -> list[Case]:
    f = Family("signal", PAYING_ONCE, expect=130, process=True, timeout=20.0)
    for signal in ("sigint", "sigterm"):
        # While reval imports its libraries, at once and a little later. (Earlier, a signal
        # meets Python's own start-up, site-packages, which no program can handle.) Commands
        # import only what they need (issue 14): pydantic's core loads late in a start-up
        # of about 0.3 s, so "later" is 0.05 s, not past the start-up's end.
        for delay in ("0", "0.05"):
            f(
                f"{signal}-startup-imports+{delay}s",
                action=f"{signal}@imports+{delay}",
                expect=(2, 130),
                results=(),
            )
        f(
            f"{signal}-during-run",
            config(tests=FOUR),
            fake=(SLOW,),
            action=f"{signal}@create",
            results=RESULTS,
        )
        f(
            f"{signal}-during-preflight",
            fake=(SLOW, stall("GET", r"^/v1/models/", 30, times=9)),
            action=f"{signal}@schema",
            expect=(2, 130),
            results=(),
        )
        looping = (
            "\n  - vars: {topic: cats}\n    assert: [{type: python, value: 'any(iter(int, 1))'}]"
        )
        sleeping = (
            "\n  - vars: {topic: cats}"
            "\n    assert: [{type: python, value: \"__import__('time').sleep(60)\"}]"
        )
        f(
            f"{signal}-during-{'sleeping' if signal == 'sigint' else 'looping'}-check",
            config(tests=sleeping if signal == "sigint" else looping),
            action=f"{signal}@create+1",
            results=RESULTS,
            bullet=USER_CODE,
        )
    f(
        "sighup-during-run",
        config(tests=FOUR),
        fake=(SLOW,),
        action="sighup@create",
        results=RESULTS,
    )
    f(
        "double-sigint-during-run",
        config(tests=FOUR),
        fake=(SLOW,),
        action="sigint2@create",
        # "A second Ctrl-C exits at once": dying of SIGINT (-2) is what a shell shows as 130.
        expect=(130, -2),
    )
    f(
        "sigint-during-create-stall",
        fake=(SLOW, stall("POST", CREATE, 30, times=9)),
        action="sigint@create",
        results=RESULTS,
    )
    return f.cases


def closed_stdout() -> list[Case]:
    f = Family("stdout", RIGHT_MESSAGES, expect=0, process=True, results=RESULTS)
    many = "".join(
        f"\n  - description: test number {n}\n    vars: {{topic: cats {n}}}" for n in range(300)
    )
    f("closed-from-start", action="close-stdout")
    f(
        "closed-from-start-failing",
        config(tests="\n  - vars: {topic: c}\n    assert: [{type: equals, value: nope}]"),
        action="close-stdout",
        expect=100,
    )
    f("head-1-big-table", config(tests=many), action="head-1")
    f("head-1-validate", args=VALIDATE, action="head-1", results=())
    f("closed-version", args=("--version",), action="close-stdout", results=())
    f("closed-schema", args=("schema",), action="close-stdout", results=())
    f(
        "closed-models-list",
        args=("models", "list", "--limit", "100"),
        fake=(catalogue,),
        action="close-stdout",  # `| head -1` on a short list races with its writes
        results=(),
    )
    return f.cases


def commands() -> list[Case]:
    f = Family("command", ROBUSTNESS, expect=2, results=())
    good = '{"schema_version": 1}'
    f(
        "merge-garbage",
        files={"a.json": bytes(range(256))},
        args=("merge", "a.json", "-o", "all.json"),
    )
    f("merge-missing", args=("merge", "nope.json", "-o", "all.json"))
    f("merge-array", files={"a.json": "[]"}, args=("merge", "a.json", "-o", "all.json"))
    f(
        "merge-truncated",
        files={"a.json": '{"schema_version": 1, "cells": ['},
        args=("merge", "a.json", "-o", "all.json"),
    )
    f(
        "merge-future-version",
        files={"a.json": '{"schema_version": 999}'},
        args=("merge", "a.json", "-o", "all.json"),
    )
    f("merge-partial", files={"a.json": good}, args=("merge", "a.json", "-o", "all.json"))
    f(
        "merge-deep",
        files={"a.json": "[" * 100_000 + "]" * 100_000},
        args=("merge", "a.json", "-o", "all.json"),
    )
    f(
        "merge-nan",
        files={"a.json": '{"schema_version": NaN}'},
        args=("merge", "a.json", "-o", "all.json"),
    )
    f("merge-no-output", files={"a.json": good}, args=("merge", "a.json"))
    f("merge-dev-zero", args=("merge", "/dev/zero", "-o", "all.json"), process=True)
    f("init-existing", args=("init", "config.yaml"))
    f("init-missing-dir", None, args=("init", "/nonexistent/dir/x.yaml"))
    f("init-dev-full", None, args=("init", "/dev/full"), expect=(2,))
    f("unknown-command", args=("runn", "config.yaml"))
    f("run-no-config", args=("run",))
    f("run-unknown-option", args=(*RUN, "--bogus"))
    f("cache-unknown", args=("cache", "purge"))
    f("models-show-missing", args=("models", "show", "nope/nope"))
    f("models-show-empty", args=("models", "show", ""))
    f("models-show-bad-version", args=("models", "show", "acme/echo:nothex"))
    f("models-show-slashes", args=("models", "show", "a/b/c/d"))
    f("models-list-limit-0", args=("models", "list", "--limit", "0"), expect=(0, 2))
    f("models-list-limit-negative", args=("models", "list", "--limit", "-1"))
    f("models-list-sort-bogus", args=("models", "list", "--sort", "bogus"))
    f("models-list-collection-missing", args=("models", "list", "--collection", "nope"))
    f(
        "models-list-401",
        args=("models", "list"),
        env={"REPLICATE_API_TOKEN": "r8_wrong_wrong_wrong"},
    )
    f("models-list-no-token", args=("models", "list"), env={"REPLICATE_API_TOKEN": None})
    f(
        "models-list-unreachable",
        args=("models", "list"),
        env={"REPLICATE_BASE_URL": "http://127.0.0.1:9"},
    )
    f(
        "models-sort-runs-top-5",
        args=("models", "list", "--sort", "runs", "--limit", "5", "--json"),
        fake=(catalogue,),
        expect=0,
        checks=("top-runs",),
        bullet=RIGHT_MESSAGES,
    )
    f(
        "validate-counts-warnings",
        config(
            prompts="['Say {{topic}} <<topic>>']",  # a warning of the config's, besides the two
            providers=f"[{{id: {PROVIDER}, max_lenght: 5, temprature: 1}}]",
        ),
        args=VALIDATE,
        expect=(0,),
        checks=("warning-count",),
        bullet=RIGHT_MESSAGES,
    )
    return f.cases


def interrupted_counts() -> list[Case]:
    """After Ctrl-C the pass rate counts only the cells that ran."""
    f = Family("interrupted", RIGHT_MESSAGES, expect=130, process=True, results=RESULTS)
    fast_and_slow = model(
        lambda i: Reply(tokens("cats"), processing=30.0 if "slow" in str(i.get("prompt")) else 0.0)
    )
    tests = "\n  - vars: {topic: cats fast}" + "".join(
        f"\n  - vars: {{topic: cats slow {n}}}" for n in range(3)
    )
    f(
        "pass-rate-over-cells-that-ran",
        config(tests=tests),
        fake=(fast_and_slow,),
        action="sigint@create4+0.5",  # the fast cell has finished by then
        checks=("pass-rate-ran",),
    )
    return f.cases


ALL = [signals, closed_stdout, commands, interrupted_counts]
