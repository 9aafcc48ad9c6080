"""Result files, chosen by extension: ``-o results.json``, ``-o report.html``, ``.csv``,
``.xml`` (JUnit) and ``.md``; and the GitHub Actions step summary."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from replicate_eval.atomic import atomic_write_chunks
from replicate_eval.errors import UsageError
from replicate_eval.report.ci import to_csv, to_junit, to_markdown
from replicate_eval.report.html import html_chunks
from replicate_eval.report.modes import ImageMode
from replicate_eval.results import RunResult


@dataclass(frozen=True)
class ReportOptions:
    html_images: ImageMode = "embed"
    # Markdown after the run's own in `.md` files: the diff with a --baseline.
    markdown_appendix: str = ""


# A writer gives the file's text whole or in pieces (JSON and HTML: per cell and row, for flat
# memory).
Text = str | Iterable[str]
Writer = Callable[[RunResult, Path, ReportOptions], Text]


def _json(result: RunResult, path: Path, options: ReportOptions) -> Text:
    return result.json_chunks()


def _html(result: RunResult, path: Path, options: ReportOptions) -> Text:
    return html_chunks(result, report_path=path, images=options.html_images)


def _linked_html(result: RunResult, path: Path, options: ReportOptions) -> Text:
    return html_chunks(result, report_path=path, images="link")


WRITERS: dict[str, Writer] = {
    ".json": _json,
    ".html": _html,
    ".csv": lambda result, path, options: to_csv(result),
    ".xml": lambda result, path, options: to_junit(result),
    ".md": lambda result, path, options: _with_appendix(to_markdown(result), options),
}


def _with_appendix(markdown: str, options: ReportOptions) -> str:
    return f"{markdown}\n\n{options.markdown_appendix}" if options.markdown_appendix else markdown


def check_output_paths(paths: Sequence[Path]) -> None:
    """Refuse, before any prediction is made, output files that could not be written."""
    for path in paths:
        if path.suffix.lower() not in WRITERS:
            known = ", ".join(WRITERS)
            raise UsageError(
                f"--output {path}: unknown file type `{path.suffix or path.name}`; "
                f"reval writes {known}"
            )
        try:
            parent_ok, is_folder = path.parent.is_dir(), path.is_dir()
        except (OSError, ValueError) as exc:  # a name too long, a NUL in it...
            # Not clip(): the name is cut as given, spaces and all.
            raise UsageError(f"--output {str(path)[:200]}: cannot be used ({exc})") from None
        if not parent_ok:
            raise UsageError(f"--output {path}: folder {path.parent} does not exist")
        if is_folder:
            raise UsageError(f"--output {path}: is a folder, not a file")


def html_report_path(result: RunResult, paths: Sequence[Path]) -> Path | None:
    """The HTML report of this run: the one asked for, else one beside the images, if any.

    In the run's own folder it is `report.html`; in a folder the user chose (and may reuse),
    it is named after the run so that it replaces nothing.
    """
    asked = [path for path in paths if path.suffix.lower() == ".html"]
    if asked:
        return asked[0]
    if result.output_dir is None:
        return None
    folder = Path(result.output_dir)
    name = "report.html" if folder.name == result.run_id else f"reval-report-{result.run_id}.html"
    return folder / name


@dataclass(frozen=True)
class Written:
    files: list[Path]
    failures: list[str]  # one message per file that could not be written


def write_outputs(result: RunResult, paths: Sequence[Path], options: ReportOptions) -> Written:
    """Write the files asked for, and the HTML report beside the images when none was asked.

    One file that cannot be written does not stop the others: the predictions are paid for."""
    jobs: list[tuple[Path, Writer]] = [(path, WRITERS[path.suffix.lower()]) for path in paths]
    report = html_report_path(result, paths)
    if report is not None and report not in paths:
        # Beside the images it shows, linking keeps it small; the folder travels as a whole.
        jobs.append((report, _linked_html))
    return write_each(
        (path, functools.partial(writer, result, path, options)) for path, writer in jobs
    )


def write_each(jobs: Iterable[tuple[Path, Callable[[], Text]]]) -> Written:
    """Write each file with the text its function makes, atomically (a reader never sees half
    a file). One that cannot be written does not stop the others: ``failures`` says which."""
    written, failures = [], []
    for path, make in jobs:
        try:
            text = make()
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


def append_step_summary(
    result: RunResult, env: Mapping[str, str], appendix: str = ""
) -> Path | None:
    """Append the Markdown summary to ``$GITHUB_STEP_SUMMARY`` when GitHub Actions sets it."""
    target = env.get("GITHUB_STEP_SUMMARY", "").strip()
    if not target:
        return None
    path = Path(target)
    with path.open("a", encoding="utf-8") as summary:
        summary.write(
            _with_appendix(to_markdown(result), ReportOptions(markdown_appendix=appendix)) + "\n"
        )
    return path
