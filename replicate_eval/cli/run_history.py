"""``reval run``'s use of the run store: recording the run, the baseline it is compared with,
and the earlier run it finishes or re-runs part of (--only-failing, --only-errors, --resume)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from replicate_eval.cli.common import fail, warn
from replicate_eval.errors import RevalError

if TYPE_CHECKING:
    from replicate_eval.history.changes import RunDiff
    from replicate_eval.history.compared import ComparedRun
    from replicate_eval.history.rerun import CarryOver
    from replicate_eval.history.store import RunStore
    from replicate_eval.results import RunResult
    from replicate_eval.results_file import Model

FailOn = Literal["failure", "regression"]

BaselineOption = Annotated[
    str | None,
    typer.Option(
        "--baseline",
        metavar="REF",
        show_default=False,
        help="Compare this run with REF (a run id or prefix, `latest`, `latest~N`, or a "
        "results .json) and print the diff after the table; the Markdown summary carries it.",
    ),
]
FailOnOption = Annotated[
    FailOn,
    typer.Option(
        "--fail-on",
        help="What exits 100: `failure`, any cell that did not pass; `regression`, only a "
        "test that passed in the --baseline and does not now, or a test new since it that "
        "fails (a test failing in both does not fail the build); --fail-under still applies.",
    ),
]
OnlyFailingOption = Annotated[
    str | None,
    typer.Option(
        "--only-failing",
        metavar="REF",
        show_default=False,
        help="Run only the cells that failed or errored in REF (and any it lacks); carry the "
        "others over, marked so, into a complete result. A failure's output is still cached: "
        "it is judged again (after an assertion changed); --no-cache asks the model again.",
    ),
]
OnlyErrorsOption = Annotated[
    str | None,
    typer.Option(
        "--only-errors",
        metavar="REF",
        show_default=False,
        help="Run only the cells that errored in REF (and any it lacks); carry the rest over.",
    ),
]
ResumeOption = Annotated[
    str | None,
    typer.Option(
        "--resume",
        metavar="REF",
        show_default=False,
        help="Finish the interrupted run REF: run the cells it did not get to, carry the rest.",
    ),
]


class RunHistory:
    """The store a run records into (None: --no-store, or the default one unusable), and the
    runs its options name, all found before any prediction is made."""

    def __init__(self, folder: Path | None, no_store: bool) -> None:
        from replicate_eval.history.store import open_store

        self.store: RunStore | None = None
        if no_store:
            return
        try:
            self.store = open_store(folder, os.environ)
        except RevalError as exc:
            if folder is not None:  # asked for by name: nothing runs without it
                fail(str(exc))
            warn(f"{exc}; this run is not recorded")

    def load(self, ref: str, option: str) -> RunResult:
        from replicate_eval.results import RunResult

        return self.load_as(ref, option, RunResult)

    def load_baseline(self, ref: str) -> ComparedRun:
        from replicate_eval.history.compared import ComparedRun

        return self.load_as(ref, "--baseline", ComparedRun)

    def load_as(self, ref: str, option: str, model: type[Model]) -> Model:
        from replicate_eval.history.refs import load_ref_as

        try:
            return load_ref_as(ref, self.store, model)
        except RevalError as exc:
            fail(f"{option} {exc}")

    def carry_over(
        self, only_failing: str | None, only_errors: str | None, resume: str | None
    ) -> CarryOver | None:
        from replicate_eval.history.rerun import CarryOver, Rerun

        named: tuple[tuple[str | None, Rerun, str], ...] = (
            (only_failing, "failing", "--only-failing"),
            (only_errors, "errors", "--only-errors"),
            (resume, "missing", "--resume"),
        )
        chosen = [(ref, rerun, option) for ref, rerun, option in named if ref is not None]
        if len(chosen) > 1:
            fail(f"{' and '.join(option for _, _, option in chosen)} cannot be used together")
        if not chosen:
            return None
        ref, rerun, option = chosen[0]
        return CarryOver(self.load(ref, option), rerun)

    def record(self, result: RunResult, *, kind: str = "run") -> None:
        if self.store is None:
            return
        try:
            self.store.add(result, kind=kind)
        except RevalError as exc:
            warn(f"{exc}; this run is not recorded (its results files are written)")

    def close(self) -> None:
        if self.store is not None:
            self.store.close()


@contextmanager
def store_to_read(folder: Path | None, *, needed: bool = True) -> Iterator[RunStore | None]:
    """The store that `reval diff` and `reval runs` read, closed afterwards: exit 2 when it
    cannot be opened. Not ``needed`` (--no-store, REFs that are all results files): None."""
    from replicate_eval.history.store import open_store

    if not needed:
        yield None
        return
    try:
        store = open_store(folder, os.environ, create=False)
    except RevalError as exc:
        fail(str(exc))
    try:
        yield store
    finally:
        store.close()


def check_gate(fail_on: FailOn, baseline: str | None) -> None:
    if fail_on == "regression" and baseline is None:
        fail("--fail-on regression needs a --baseline REF to compare with")


def compare(baseline: ComparedRun | None, result: RunResult) -> RunDiff | None:
    from replicate_eval.history.diff import diff_results

    return diff_results(baseline, result) if baseline is not None else None
