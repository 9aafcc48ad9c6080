"""Comparing two runs: what got better, what got worse, and whether chance explains it.

Cells are grouped by test × prompt × provider (a group holds its ``--repeat`` runs) and matched
across the runs by identity (``history.identity``), never by position; what each group's change
means is in ``history/changes.py``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from replicate_eval.errors import UsageError
from replicate_eval.history.changes import (
    ALPHA,
    CellChange,
    Change,
    PassRate,
    RunDiff,
    RunSummary,
    Side,
)
from replicate_eval.history.compared import ComparedCell, ComparedRun, compared
from replicate_eval.history.identity import (
    Matching,
    TestIdentity,
    match_labels,
    match_tests,
    reindexed,
)
from replicate_eval.history.significance import (
    PassCounts,
    fisher_exact,
    is_regression,
    min_p_value,
)
from replicate_eval.report.labels import test_title
from replicate_eval.results import GroupKey, RunResult, runs_by_position


def diff_results(base: RunResult | ComparedRun, new: RunResult | ComparedRun) -> RunDiff:
    """What changed from ``base`` to ``new``: results from ``evaluate``, ``read_results`` or a
    ``RunStore`` (the public form of ``reval diff``)."""
    for run in (base, new):
        if not isinstance(run, (RunResult, ComparedRun)):
            raise UsageError(
                "diff_results compares two RunResults (reval.read_results(path), "
                f"RunStore.load(run_id), evaluate()), not {type(run).__name__}"
            )
    return diff_runs(
        *(run if isinstance(run, ComparedRun) else compared(run) for run in (base, new))
    )


def diff_runs(base: ComparedRun, new: ComparedRun) -> RunDiff:
    """What changed from ``base`` to ``new``."""
    before, after = _Indexed(base), _Indexed(new)
    tests = reindexed(match_tests(_identities(base), _identities(new)), before.tests, after.tests)
    prompts = reindexed(
        match_labels([p.label for p in base.prompts], [p.label for p in new.prompts]),
        before.prompts,
        after.prompts,
    )
    providers = reindexed(
        match_labels([p.label for p in base.providers], [p.label for p in new.providers]),
        before.providers,
        after.providers,
    )
    base_groups, new_groups = runs_by_position(base.cells), runs_by_position(new.cells)
    gate = _Gate(base.min_pass, new.min_pass)
    changes: list[CellChange] = []
    seen_new: set[GroupKey] = set()
    left_out = not_run = 0
    for (t, p, v), cells in base_groups.items():
        t2, p2, v2 = tests.pairs.get(t), prompts.pairs.get(p), providers.pairs.get(v)
        key = (t2, p2, v2) if t2 is not None and p2 is not None and v2 is not None else None
        if t2 is None and new.selected:
            left_out += 1  # a test the new run's filter or shard did not choose
            continue
        if key is not None and key not in new_groups and not new.complete:
            not_run += 1  # the new run was interrupted before this cell
            continue
        if key is None or key not in new_groups:
            changes.append(CellChange(*before.names(t, p, v), "removed", _side(cells), None))
            continue
        seen_new.add(key)
        changes.append(gate.compared(after.names(*key), _side(cells), _side(new_groups[key])))
    for key, cells in new_groups.items():
        if key not in seen_new:
            changes.append(CellChange(*after.names(*key), "new", None, _side(cells)))
    return RunDiff(
        base=RunSummary.of(base),
        new=RunSummary.of(new),
        changes=changes,
        rates=_rates(before, after, prompts, providers),
        warnings=_warnings(base, new, providers, changes, before, after),
        pairings=_pairings(before, after, prompts, providers),
        added_prompts=[after.prompt(j) for j in prompts.added],
        removed_prompts=[before.prompt(i) for i in prompts.removed],
        added_providers=[after.provider(j) for j in providers.added],
        removed_providers=[before.provider(i) for i in providers.removed],
        left_out=left_out,
        not_run=not_run,
    )


class _Indexed:
    """A run's tests, prompts and providers by their own index (kept through --shard and
    --filter-pattern), and each list's indexes in order."""

    def __init__(self, run: ComparedRun) -> None:
        self.run = run
        self.tests = [t.index for t in run.tests]
        self.prompts = [p.index for p in run.prompts]
        self.providers = [p.index for p in run.providers]
        self._tests = {t.index: t for t in run.tests}
        self._prompts = {p.index: p for p in run.prompts}
        self._providers = {p.index: p for p in run.providers}

    def prompt(self, index: int) -> str:
        found = self._prompts.get(index)
        return found.label if found else f"prompt {index + 1}"

    def provider(self, index: int) -> str:
        found = self._providers.get(index)
        return found.label if found else f"provider {index + 1}"

    def version(self, index: int) -> str | None:
        found = self._providers.get(index)
        return found.version if found else None

    def names(self, test: int, prompt: int, provider: int) -> tuple[str, str, str]:
        info = self._tests.get(test)
        title = test_title(info.description, info.vars, test) if info else f"test {test + 1}"
        return title, self.prompt(prompt), self.provider(provider)


# Without repeats there are no statistics: passed then not is a regression. So with
# --min-pass, whose verdict the user chose: a test passing K of its runs, then not.
_VERDICTS: dict[tuple[bool, bool], Change] = {
    (True, True): "unchanged",
    (True, False): "regression",
    (False, True): "fixed",
    (False, False): "still_failing",
}


@dataclass(frozen=True)
class _Gate:
    """How a test × prompt × provider's runs compare: by --min-pass verdicts when both runs
    had one, else by pass counts (Fisher's exact test for repeats)."""

    base_min_pass: int | None
    new_min_pass: int | None

    def compared(self, names: tuple[str, str, str], before: Side, after: Side) -> CellChange:
        was, now = PassCounts(before.passed, before.runs), PassCounts(after.passed, after.runs)
        p_value = None
        if after.rate < before.rate:
            p_value = fisher_exact(was, now, alternative="less")
        elif after.rate > before.rate:
            p_value = fisher_exact(now, was, alternative="less")
        if self.base_min_pass is not None and self.new_min_pass is not None:
            verdict = (before.passed >= self.base_min_pass, after.passed >= self.new_min_pass)
            judged = _VERDICTS[verdict]
            if judged == "unchanged" and (before.rate < 1 or after.rate < 1):
                judged = "flaky"  # passing, as --min-pass allows, with runs that did not
            return CellChange(*names, judged, before, after, p_value=p_value)
        if before.runs == 1 and after.runs == 1:
            return CellChange(
                *names, _VERDICTS[(before.passed == 1, after.passed == 1)], before, after
            )
        change: Change = "flaky"
        if after.rate < before.rate and is_regression(was, now, alpha=ALPHA):
            change = "regression"
        elif after.rate > before.rate and is_regression(now, was, alpha=ALPHA):
            change = "fixed"
        elif after.rate == before.rate == 1:
            change = "unchanged"
        elif after.rate == before.rate == 0:
            change = "still_failing"
        return CellChange(*names, change, before, after, p_value=p_value)


def _identities(result: ComparedRun) -> list[TestIdentity]:
    return [TestIdentity(test.description, test.vars) for test in result.tests]


def _side(cells: list[ComparedCell]) -> Side:
    scores = [cell.score for cell in cells if cell.score is not None]
    failing = next((cell for cell in cells if cell.status != "passed"), None)
    return Side(
        statuses=tuple(cell.status for cell in cells),
        score=sum(scores) / len(scores) if scores else None,
        output=cells[0].output,
        reason=(failing.reason or failing.error) if failing else None,
    )


def _rates(
    before: _Indexed, after: _Indexed, prompts: Matching, providers: Matching
) -> list[PassRate]:
    def counted(result: ComparedRun) -> dict[tuple[int, int], PassCounts]:
        tally: dict[tuple[int, int], list[int]] = {}
        for cell in result.cells:
            entry = tally.setdefault((cell.prompt_index, cell.provider_index), [0, 0])
            entry[0] += cell.status == "passed"
            entry[1] += 1
        return {key: PassCounts(passed, runs) for key, (passed, runs) in tally.items()}

    was_counted, now_counted = counted(before.run), counted(after.run)
    rates: list[PassRate] = []
    matched: set[tuple[int, int]] = set()
    for (p, v), was in sorted(was_counted.items()):
        p2, v2 = prompts.pairs.get(p), providers.pairs.get(v)
        now = now_counted.get((p2, v2)) if p2 is not None and v2 is not None else None
        if now is not None and p2 is not None and v2 is not None:
            matched.add((p2, v2))
        p_value = fisher_exact(was, now, alternative="two-sided") if now else None
        rates.append(PassRate(before.prompt(p), before.provider(v), was, now, p_value))
    for (p, v), now in sorted(now_counted.items()):
        if (p, v) not in matched:
            rates.append(PassRate(after.prompt(p), after.provider(v), None, now, None))
    return rates


def _warnings(
    base: ComparedRun,
    new: ComparedRun,
    providers: Matching,
    changes: list[CellChange],
    before: _Indexed,
    after: _Indexed,
) -> list[str]:
    warnings = []
    if base.config_sha256 and new.config_sha256:
        if base.config_sha256 != new.config_sha256:
            warnings.append(
                f"the config changed between the runs ({base.config_path} → "
                f"{new.config_path}: its contents differ), so some differences may come from it"
            )
    elif base.config_path != new.config_path:
        warnings.append(f"the runs are of different configs: {base.config_path}, {new.config_path}")
    for name, run in (("base", base), ("new", new)):
        keys = Counter(identity.key for identity in _identities(run))
        twice = sum(count > 1 for count in keys.values())
        if twice:
            warnings.append(
                f"the {name} run has {twice} test(s) written more than once (the same "
                "description and vars): the copies are compared in the order they are written"
            )
    if changes and not any(cell.base and cell.new for cell in changes):
        warnings.append(
            "the runs have no test × prompt × provider in common: is the base run of the same "
            "eval? (every cell is new or removed)"
        )
    for i, j in providers.pairs.items():
        was, now = before.version(i), after.version(j)
        if was and now and was != now:
            warnings.append(
                f"provider `{after.provider(j)}` ran a different model version: "
                f"{was[:12]} in the base run, {now[:12]} now"
            )
    if new.selected:
        warnings.append(
            "the new run ran only some of the config's tests (a filter or a shard): the base "
            "run's other tests are left out, not counted as removed"
        )
    if base.selected and not new.selected:
        warnings.append(
            "the base run ran only some of the config's tests (a filter or a shard): the new "
            "run's other tests show as new"
        )
    for name, result in (("base", base), ("new", new)):
        if not result.complete:
            warnings.append(
                f"the {name} run was interrupted: {result.totals.cells} of "
                f"{result.totals.planned} cells ran"
            )
    if base.repeat != new.repeat:
        warnings.append(f"the runs repeat each cell differently: {base.repeat}×, {new.repeat}×")
    if base.min_pass != new.min_pass:
        warnings.append(
            f"the runs judged tests differently: --min-pass {base.min_pass or 'off'} in the "
            f"base run, {new.min_pass or 'off'} now; tests are compared by pass counts"
            if None in (base.min_pass, new.min_pass)
            else f"the runs used different --min-pass: {base.min_pass}, {new.min_pass}"
        )
    weakest = min_p_value(base.repeat, new.repeat)
    if (
        max(base.repeat, new.repeat) > 1
        and weakest >= ALPHA
        and None in (base.min_pass, new.min_pass)
    ):
        runs = (
            f"{base.repeat} runs of each cell"
            if base.repeat == new.repeat
            else f"{base.repeat} and {new.repeat} runs of each cell"
        )
        warnings.append(
            f"with {runs} no drop can be significant (the smallest possible p is "
            f"{weakest:.3f}): a test is called a regression only with --repeat 4 or more in "
            "both runs, or with --min-pass"
        )
    return warnings


def _pairings(
    before: _Indexed, after: _Indexed, prompts: Matching, providers: Matching
) -> list[str]:
    said = [
        f"prompt `{before.prompt(i)}` compared with `{after.prompt(j)}`"
        for i, j in prompts.paired_by_position
    ]
    said += [
        f"provider `{before.provider(i)}` compared with `{after.provider(j)}`"
        for i, j in providers.paired_by_position
    ]
    return said
