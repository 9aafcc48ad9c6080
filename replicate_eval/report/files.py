"""Result files, chosen by extension: ``-o results.json``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from replicate_eval.errors import UsageError
from replicate_eval.report.atomic import atomic_write_text
from replicate_eval.results import RunResult


def _json(result: RunResult) -> str:
    return result.to_json()


WRITERS: dict[str, Callable[[RunResult], str]] = {".json": _json}


def check_output_paths(paths: Sequence[Path]) -> None:
    """Refuse, before any prediction is made, output files that could not be written."""
    for path in paths:
        if path.suffix.lower() not in WRITERS:
            known = ", ".join(WRITERS)
            raise UsageError(
                f"--output {path}: unknown file type `{path.suffix or path.name}`; "
                f"reval writes {known}"
            )
        if not path.parent.is_dir():
            raise UsageError(f"--output {path}: folder {path.parent} does not exist")
        if path.is_dir():
            raise UsageError(f"--output {path}: is a folder, not a file")


def write_outputs(result: RunResult, paths: Sequence[Path]) -> None:
    for path in paths:
        atomic_write_text(path, WRITERS[path.suffix.lower()](result))
