"""Comparing two runs: what got better, what got worse, and whether chance explains it.

Cells are grouped by test × prompt × provider (a group holds its ``--repeat`` runs) and matched
across the runs by identity (``history.identity``), never by index. A group is:

    regression     it passed before and does not now (with repeats: its pass count dropped and
                   Fisher's exact test says chance is unlikely to explain the drop, p < 0.05)
    fixed          the reverse
    still_failing  it passed in neither run
    flaky          with repeats, it passed only some of the time and did not change
                   significantly either way (a drop chance may explain is flaky, not a regression)
    unchanged      it passed in both
    new, removed   only one run has it
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from replicate_eval.history.compared import ComparedCell, ComparedRun
from replicate_eval.history.identity import Matching, TestIdentity, match_labels, match_tests
from replicate_eval.history.significance import PassCounts, fisher_exact, is_regression
from replicate_eval.report.labels import test_title
from replicate_eval.results import CellStatus

Change = Literal["regression", "fixed", "still_failing", "flaky", "unchanged", "new", "removed"]
CHANGES: tuple[Change, ...] = (
    "regression",
    "fixed",
    "still_failing",
    "flaky",
    "new",
    "removed",
    "unchanged",
)
SCORE_STEP = 0.005  # smaller score changes are rounding, not change
ALPHA = 0.05


@dataclass(frozen=True)
class RunSummary:
    """Which run a side of the diff is."""

    run_id: str
    config_path: str
    description: str | None
    started_at: str
    commit: str | None
    passed: int
    cells: int

    @classmethod
    def of(cls, result: ComparedRun) -> RunSummary:
        return cls(
            run_id=result.run_id,
            config_path=result.config_path,
            description=result.description,
            started_at=result.started_at,
            commit=result.git.commit if result.git else None,
            passed=result.totals.passed,
            cells=result.totals.cells,
        )


@dataclass(frozen=True)
class Side:
    """One run's results of a test × prompt × provider: all its repeats."""

    statuses: tuple[CellStatus, ...]
    score: float | None  # the mean of the runs' scores
    output: str | None  # the first run's
    reason: str | None  # why the first run that did not pass failed

    @property
    def passed(self) -> int:
        return self.statuses.count("passed")

    @property
    def runs(self) -> int:
        return len(self.statuses)

    @property
    def rate(self) -> float:
        return self.passed / self.runs if self.runs else 0.0

    @property
    def outcome(self) -> str:
        """``passed``, ``failed``, ``error``, or ``3/5 passed`` for repeats."""
        if self.runs == 1:
            return self.statuses[0]
        return f"{self.passed}/{self.runs} passed"


@dataclass(frozen=True)
class CellChange:
    test: str  # the test's title: its description, or its vars
    prompt: str
    provider: str
    change: Change
    base: Side | None
    new: Side | None
    p_value: float | None = None  # one-sided Fisher's exact test, for groups with repeats

    @property
    def output_changed(self) -> bool:
        return (
            self.base is not None
            and self.new is not None
            and self.base.output is not None
            and self.new.output is not None
            and self.base.output != self.new.output
        )

    @property
    def score_delta(self) -> float | None:
        if self.base is None or self.new is None:
            return None
        if self.base.score is None or self.new.score is None:
            return None
        delta = self.new.score - self.base.score
        return delta if abs(delta) >= SCORE_STEP else None


@dataclass(frozen=True)
class PassRate:
    """A prompt × provider's pass rate in each run (None: the run did not have it)."""

    prompt: str
    provider: str
    base: PassCounts | None
    new: PassCounts | None
    p_value: float | None  # two-sided Fisher's exact test of the change, when both ran


@dataclass(frozen=True)
class RunDiff:
    base: RunSummary
    new: RunSummary
    changes: list[CellChange]
    rates: list[PassRate]
    warnings: list[str] = field(default_factory=list)
    pairings: list[str] = field(default_factory=list)  # entries matched although renamed
    added_prompts: list[str] = field(default_factory=list)
    removed_prompts: list[str] = field(default_factory=list)
    added_providers: list[str] = field(default_factory=list)
    removed_providers: list[str] = field(default_factory=list)

    def of(self, change: Change) -> list[CellChange]:
        return [cell for cell in self.changes if cell.change == change]

    @property
    def regressions(self) -> list[CellChange]:
        return self.of("regression")

    @property
    def counts(self) -> dict[Change, int]:
        counted = dict.fromkeys(CHANGES, 0)
        for cell in self.changes:
            counted[cell.change] += 1
        return counted

    @property
    def changed_outputs(self) -> list[CellChange]:
        return [cell for cell in self.changes if cell.output_changed]

    @property
    def score_changes(self) -> list[CellChange]:
        """Scores that moved while the verdict did not (a flip is listed as what it is)."""
        return [
            cell
            for cell in self.changes
            if cell.score_delta is not None and cell.change not in ("regression", "fixed")
        ]


_Group = tuple[int, int, int]  # test, prompt, provider index


def diff_runs(base: ComparedRun, new: ComparedRun) -> RunDiff:
    """What changed from ``base`` to ``new``."""
    tests = match_tests(_identities(base), _identities(new))
    prompts = match_labels([p.label for p in base.prompts], [p.label for p in new.prompts])
    providers = match_labels([p.label for p in base.providers], [p.label for p in new.providers])
    base_groups, new_groups = _groups(base.cells), _groups(new.cells)
    changes: list[CellChange] = []
    seen_new: set[_Group] = set()
    for (t, p, v), cells in base_groups.items():
        t2, p2, v2 = tests.pairs.get(t), prompts.pairs.get(p), providers.pairs.get(v)
        key = (t2, p2, v2) if t2 is not None and p2 is not None and v2 is not None else None
        if key is None or key not in new_groups:
            changes.append(CellChange(*_names(base, t, p, v), "removed", _side(cells), None))
            continue
        seen_new.add(key)
        changes.append(_compared(_names(new, *key), _side(cells), _side(new_groups[key])))
    for key, cells in new_groups.items():
        if key not in seen_new:
            changes.append(CellChange(*_names(new, *key), "new", None, _side(cells)))
    return RunDiff(
        base=RunSummary.of(base),
        new=RunSummary.of(new),
        changes=changes,
        rates=_rates(base, new, prompts, providers),
        warnings=_warnings(base, new, providers),
        pairings=_pairings(base, new, prompts, providers),
        added_prompts=[new.prompts[j].label for j in prompts.added],
        removed_prompts=[base.prompts[i].label for i in prompts.removed],
        added_providers=[new.providers[j].label for j in providers.added],
        removed_providers=[base.providers[i].label for i in providers.removed],
    )


# Without repeats there are no statistics: passed then not is a regression.
_SINGLE_RUNS: dict[tuple[bool, bool], Change] = {
    (True, True): "unchanged",
    (True, False): "regression",
    (False, True): "fixed",
    (False, False): "still_failing",
}


def _compared(names: tuple[str, str, str], before: Side, after: Side) -> CellChange:
    was, now = PassCounts(before.passed, before.runs), PassCounts(after.passed, after.runs)
    if before.runs == 1 and after.runs == 1:
        verdict = _SINGLE_RUNS[(before.passed == 1, after.passed == 1)]
        return CellChange(*names, verdict, before, after)
    p_value = None
    change: Change = "flaky"
    if after.rate < before.rate:
        p_value = fisher_exact(was, now, alternative="less")
        change = "regression" if is_regression(was, now, alpha=ALPHA) else "flaky"
    elif after.rate > before.rate:
        p_value = fisher_exact(now, was, alternative="less")
        change = "fixed" if is_regression(now, was, alpha=ALPHA) else "flaky"
    elif after.rate == 1:
        change = "unchanged"
    elif after.rate == 0:
        change = "still_failing"
    return CellChange(*names, change, before, after, p_value=p_value)


def _identities(result: ComparedRun) -> list[TestIdentity]:
    return [TestIdentity(test.description, test.vars) for test in result.tests]


def _groups(cells: Iterable[ComparedCell]) -> dict[_Group, list[ComparedCell]]:
    groups: dict[_Group, list[ComparedCell]] = {}
    for cell in cells:
        groups.setdefault((cell.test_index, cell.prompt_index, cell.provider_index), []).append(
            cell
        )
    for runs in groups.values():
        runs.sort(key=lambda cell: cell.repeat)
    return groups


def _side(cells: list[ComparedCell]) -> Side:
    scores = [cell.score for cell in cells if cell.score is not None]
    failing = next((cell for cell in cells if cell.status != "passed"), None)
    return Side(
        statuses=tuple(cell.status for cell in cells),
        score=sum(scores) / len(scores) if scores else None,
        output=cells[0].output,
        reason=(failing.reason or failing.error) if failing else None,
    )


def _names(result: ComparedRun, test: int, prompt: int, provider: int) -> tuple[str, str, str]:
    info = result.tests[test] if test < len(result.tests) else None
    title = test_title(info.description, info.vars, test) if info else f"test {test + 1}"
    prompt_label = result.prompts[prompt].label if prompt < len(result.prompts) else str(prompt)
    provider_label = (
        result.providers[provider].label if provider < len(result.providers) else str(provider)
    )
    return title, prompt_label, provider_label


def _rates(
    base: ComparedRun, new: ComparedRun, prompts: Matching, providers: Matching
) -> list[PassRate]:
    def counted(result: ComparedRun) -> dict[tuple[int, int], PassCounts]:
        tally: dict[tuple[int, int], list[int]] = {}
        for cell in result.cells:
            entry = tally.setdefault((cell.prompt_index, cell.provider_index), [0, 0])
            entry[0] += cell.status == "passed"
            entry[1] += 1
        return {key: PassCounts(passed, runs) for key, (passed, runs) in tally.items()}

    before, after = counted(base), counted(new)
    rates: list[PassRate] = []
    matched: set[tuple[int, int]] = set()
    for (p, v), was in sorted(before.items()):
        key = (prompts.pairs.get(p), providers.pairs.get(v))
        now = after.get(key) if None not in key else None  # type: ignore[arg-type]
        if now is not None:
            matched.add(key)  # type: ignore[arg-type]
        p_value = fisher_exact(was, now, alternative="two-sided") if now else None
        rates.append(PassRate(base.prompts[p].label, base.providers[v].label, was, now, p_value))
    for (p, v), now in sorted(after.items()):
        if (p, v) not in matched:
            rates.append(PassRate(new.prompts[p].label, new.providers[v].label, None, now, None))
    return rates


def _warnings(base: ComparedRun, new: ComparedRun, providers: Matching) -> list[str]:
    warnings = []
    if base.config_sha256 and new.config_sha256 and base.config_sha256 != new.config_sha256:
        warnings.append(
            f"the config changed between the runs ({base.config_path} → {new.config_path}: "
            "its contents differ), so some differences may come from the config"
        )
    elif base.config_path != new.config_path:
        warnings.append(f"the runs are of different configs: {base.config_path}, {new.config_path}")
    for i, j in providers.pairs.items():
        was, now = base.providers[i].version, new.providers[j].version
        if was and now and was != now:
            warnings.append(
                f"provider `{new.providers[j].label}` ran a different model version: "
                f"{was[:12]} in the base run, {now[:12]} now"
            )
    for name, result in (("base", base), ("new", new)):
        if not result.complete:
            warnings.append(
                f"the {name} run was interrupted: {result.totals.cells} of "
                f"{result.totals.planned} cells ran"
            )
        if result.shard:
            warnings.append(f"the {name} run is shard {result.shard}: only its tests are compared")
    if base.repeat != new.repeat:
        warnings.append(f"the runs repeat each cell differently: {base.repeat}×, {new.repeat}×")
    return warnings


def _pairings(
    base: ComparedRun, new: ComparedRun, prompts: Matching, providers: Matching
) -> list[str]:
    said = [
        f"prompt `{base.prompts[i].label}` compared with `{new.prompts[j].label}`"
        for i, j in prompts.paired_by_position
    ]
    said += [
        f"provider `{base.providers[i].label}` compared with `{new.providers[j].label}`"
        for i, j in providers.paired_by_position
    ]
    return said
