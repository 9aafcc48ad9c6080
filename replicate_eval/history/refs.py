"""What a REF names: a run in the store, or a results file (a CI artifact needs no store).

20261204T101500Z-3fa9c1   a run id, or any unique prefix of one (``20261204T10``)
latest, latest~N          the newest run, or the one N runs before it
results.json              a results file written by ``reval run -o results.json``
"""

from __future__ import annotations

import re
from pathlib import Path

from replicate_eval.errors import UsageError
from replicate_eval.history.store import RunStore, StoredRun
from replicate_eval.results import RunResult
from replicate_eval.results_file import Model, read_results_as

_LATEST = re.compile(r"latest(?:~([0-9]{1,6}))?")
_SHOWN_MATCHES = 5


class UnknownRun(UsageError):
    """A REF that names no run, or more than one."""


def is_results_file(ref: str) -> bool:
    """A path rather than a run id: it ends in .json, or has a folder in it. Nothing else is
    read as a file, so that a file named `latest` in the current folder never hides a run."""
    return ref.lower().endswith(".json") or "/" in ref or "\\" in ref


def stored_run(ref: str, store: RunStore) -> StoredRun:
    """The stored run ``ref`` names (not a results file)."""
    latest = _LATEST.fullmatch(ref.strip())
    if latest:
        back = int(latest.group(1) or 0)
        found = store.nth_newest(back)
        if found is None:
            held = store.count()
            raise UnknownRun(
                f"{ref}: the run store {store.path} holds {held} run(s)"
                + (f"; `latest~{held - 1}` is the oldest" if held else "")
            )
        return found
    if not ref.strip():
        raise UnknownRun("an empty REF names no run (a run id, `latest`, or a results .json)")
    matches = store.find(ref.strip())
    exact = [run for run in matches if run.id == ref.strip()]
    if exact:
        return exact[0]
    if not matches:
        raise UnknownRun(
            f"{ref}: no run in the run store {store.path} has an id starting so "
            "(`reval runs` lists them; a results file's path ends in .json)"
        )
    if len(matches) > 1:
        shown = ", ".join(run.id for run in matches[:_SHOWN_MATCHES])
        more = f" and {len(matches) - _SHOWN_MATCHES} more" if len(matches) > _SHOWN_MATCHES else ""
        raise UnknownRun(
            f"{ref}: {len(matches)} runs have an id starting so ({shown}{more}); "
            "give more of the id"
        )
    return matches[0]


def load_ref(ref: str, store: RunStore | None) -> RunResult:
    """The results ``ref`` names; ``store`` None (``--no-store``): results files only."""
    return load_ref_as(ref, store, RunResult)


def load_ref_as(ref: str, store: RunStore | None, model: type[Model]) -> Model:
    """``load_ref`` into ``model`` (``ComparedRun``: what a diff needs, three times faster)."""
    if is_results_file(ref):
        return read_results_as(Path(ref), model)
    if store is None:
        raise UnknownRun(
            f"{ref}: not a results file, and there is no run store to look in (--no-store)"
        )
    return store.load_as(stored_run(ref, store).id, model)
