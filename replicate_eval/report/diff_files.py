"""``reval diff -o FILE``: the diff's files, chosen by extension: ``.md`` (a pull-request
comment), ``.json`` (for scripts) and ``.html`` (one page)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from replicate_eval.errors import UsageError
from replicate_eval.history.changes import RunDiff
from replicate_eval.report.diff_html import diff_html_chunks
from replicate_eval.report.diff_json import diff_json
from replicate_eval.report.diff_markdown import markdown_diff
from replicate_eval.report.files import Written, check_output_paths, write_each

DiffWriter = Callable[[RunDiff], str | Iterable[str]]

DIFF_WRITERS: dict[str, DiffWriter] = {
    ".md": markdown_diff,
    ".json": diff_json,
    ".html": diff_html_chunks,
}
DIFF_SUFFIXES = tuple(DIFF_WRITERS)


def check_diff_paths(paths: Sequence[Path]) -> None:
    """Refuse, before the runs are read, files the diff could not be written to."""
    for path in paths:
        if path.suffix.lower() not in DIFF_WRITERS:
            raise UsageError(
                f"--output {path}: unknown file type `{path.suffix or path.name}`; "
                f"reval diff writes {', '.join(DIFF_SUFFIXES)}"
            )
    check_output_paths(paths)  # the folder exists, the path is not one


def write_diff(diff: RunDiff, paths: Sequence[Path]) -> Written:
    """Write each file asked for; one that cannot be written does not stop the others.

    As ``files.write_outputs`` does (``files.write_each``)."""
    return write_each(
        (path, functools.partial(DIFF_WRITERS[path.suffix.lower()], diff)) for path in paths
    )
