"""``reval diff -o FILE``: the diff's files, chosen by extension: ``.md`` (a pull-request
comment), ``.json`` (for scripts) and ``.html`` (one page)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from replicate_eval.atomic import atomic_write_chunks
from replicate_eval.errors import UsageError
from replicate_eval.history.changes import RunDiff
from replicate_eval.report.diff_html import diff_html_chunks
from replicate_eval.report.diff_json import diff_json
from replicate_eval.report.diff_markdown import markdown_diff
from replicate_eval.report.files import Written, check_output_paths

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

    As ``files.write_outputs`` does: atomically (a reader never sees half a file), failures
    collected as messages."""
    written, failures = [], []
    for path in paths:
        try:
            text = DIFF_WRITERS[path.suffix.lower()](diff)
            atomic_write_chunks(path, (text,) if isinstance(text, str) else text)
        except OSError as exc:
            failures.append(f"could not write {path}: {exc.strerror or exc}")
        except Exception as exc:  # a bug in a writer must not cost the other files
            failures.append(
                f"could not write {path}: {type(exc).__name__}: {exc} (a bug in reval; "
                "REVAL_DEBUG=1 shows the traceback)"
            )
            if os.environ.get("REVAL_DEBUG"):
                raise
        else:
            written.append(path)
    return Written(written, failures)
