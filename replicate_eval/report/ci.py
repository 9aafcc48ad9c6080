"""Result files for CI systems and spreadsheets: CSV, JUnit XML and a Markdown summary.

Each is written from the same ``RunResult`` as the table and the JSON file: a row or testcase
per test, a column or testsuite per prompt x provider.
"""

from __future__ import annotations

import csv
import io
import json
import re
from xml.etree import ElementTree

from replicate_eval.clip import clip
from replicate_eval.min_pass import Verdict, by_column, groups_line, verdict
from replicate_eval.report.labels import column_title, grader_summary, test_title
from replicate_eval.report.metrics_view import metrics_view
from replicate_eval.results import CellResult, PromptInfo, ProviderInfo, RunResult
from replicate_eval.terminal_text import printable

Column = tuple[PromptInfo, ProviderInfo]


def _columns(result: RunResult) -> list[Column]:
    return [(prompt, provider) for prompt in result.prompts for provider in result.providers]


def _column_name(result: RunResult, prompt: PromptInfo, provider: ProviderInfo) -> str:
    name = column_title(provider.label)
    return f"{name} / {prompt.label}" if len(result.prompts) > 1 else name


def _cells(result: RunResult) -> dict[tuple[int, int, int, int], CellResult]:
    """Every cell by (test, prompt, provider, repeat)."""
    return {(c.test_index, c.prompt_index, c.provider_index, c.repeat): c for c in result.cells}


def _runs(result: RunResult, test_index: int) -> list[tuple[int, str]]:
    """The (repeat, name suffix) pairs of a test: one without a suffix unless --repeat."""
    if result.repeat <= 1:
        return [(0, "")]
    return [(run, f" (run {run + 1} of {result.repeat})") for run in range(result.repeat)]


def _why(cell: CellResult) -> str:
    return cell.error or cell.reason or ""


# What XML 1.0 forbids even escaped and ``printable`` leaves: the non-characters.
_NOT_XML = re.compile("[\ufffe\uffff]")
_MESSAGE_LIMIT = 500  # characters of why a cell failed, in a JUnit message attribute
_ROW_LIMIT = 300  # characters of why a cell failed, in a Markdown summary row


def _xml_text(text: str | None) -> str:
    """Model output as XML can carry it: CI pages print it raw, so terminal escape sequences
    and control characters go, and characters XML cannot hold are replaced."""
    return _NOT_XML.sub("\ufffd", printable(text or ""))


# Spreadsheets run a cell that starts with one of these as a formula (OWASP, "CSV Injection";
# ASVS 1.2.10 adds NUL): a leading quote makes it text again.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\0")


def _csv_cell(text: str) -> str:
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


# --- CSV -------------------------------------------------------------------------------------
def to_csv(result: RunResult) -> str:
    """One row per test; for each prompt x provider an output and a status column."""
    buffer = io.StringIO()
    # RFC 4180's CRLF rows: the writer then quotes a cell holding a lone \r too, which a
    # reader would otherwise take for the end of the row.
    writer = csv.writer(buffer, lineterminator="\r\n")
    columns = _columns(result)
    header = ["test", "vars"] + (["repeat"] if result.repeat > 1 else [])
    for prompt, provider in columns:
        name = _column_name(result, prompt, provider)
        header += [f"{name}: output", f"{name}: status", f"{name}: reason"]
    rows = [header]
    cells = _cells(result)
    for test in result.tests:
        for run, _ in _runs(result, test.index):
            row = [test_title(test.description, test.vars, test.index), json.dumps(test.vars)]
            if result.repeat > 1:
                row.append(str(run))
            for prompt, provider in columns:
                cell = cells.get((test.index, prompt.index, provider.index, run))
                if cell is None:
                    row += ["", "not run", ""]
                else:
                    row += [cell.output or "", cell.status, _why(cell)]
            rows.append(row)
    writer.writerows([_csv_cell(value) for value in row] for row in rows)
    return buffer.getvalue()


# --- JUnit XML -------------------------------------------------------------------------------
def to_junit(result: RunResult) -> str:
    """A testsuite per prompt x provider, a testcase per test; failures carry the reasons."""
    cells = _cells(result)
    root = ElementTree.Element(
        "testsuites", name=_xml_text(result.description or result.config_path)
    )
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    total_time = 0.0
    for prompt, provider in _columns(result):
        suite_name = _xml_text(_column_name(result, prompt, provider))
        suite = ElementTree.SubElement(root, "testsuite", name=suite_name)
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        suite_time = 0.0
        if result.min_pass is not None:  # a testcase per test, passed by its verdict
            suite_time = _judged_cases(suite, result, cells, (prompt, provider), counts)
        # Without --min-pass, a testcase per run (each named "(run I of N)" with --repeat).
        pairs = [(t, run) for t in result.tests for run in _runs(result, t.index)]
        for test, (run, suffix) in [] if result.min_pass is not None else pairs:
            cell = cells.get((test.index, prompt.index, provider.index, run))
            seconds = (cell.latency_ms or 0.0) / 1000 if cell else 0.0
            case = ElementTree.SubElement(
                suite,
                "testcase",
                name=_xml_text(test_title(test.description, test.vars, test.index)) + suffix,
                classname=suite_name,
                time=f"{seconds:.3f}",
            )
            counts["tests"] += 1
            suite_time += seconds
            if cell is None:
                ElementTree.SubElement(case, "skipped", message="not run (interrupted)")
                counts["skipped"] += 1
                continue
            if cell.status == "failed":
                failure = ElementTree.SubElement(
                    case,
                    "failure",
                    message=_xml_text(clip(_why(cell), _MESSAGE_LIMIT)),
                    type="AssertionFailed",
                )
                failure.text = _xml_text(
                    "\n".join(f"{a.type}: {a.reason}" for a in cell.assertions if not a.passed)
                )
                counts["failures"] += 1
            elif cell.status == "error":
                error = ElementTree.SubElement(
                    case,
                    "error",
                    message=_xml_text(clip(_why(cell), _MESSAGE_LIMIT)),
                    type="ProviderError",
                )
                error.text = _xml_text(cell.error)
                counts["errors"] += 1
            if cell.output:
                ElementTree.SubElement(case, "system-out").text = _xml_text(cell.output)
        for key, value in counts.items():
            suite.set(key, str(value))
            totals[key] += value
        suite.set("time", f"{suite_time:.3f}")
        total_time += suite_time
    for key, value in totals.items():
        root.set(key, str(value))
    root.set("time", f"{total_time:.3f}")
    ElementTree.indent(root)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        + ElementTree.tostring(root, encoding="unicode")
        + "\n"
    )


def _judged_cases(
    suite: ElementTree.Element,
    result: RunResult,
    cells: dict[tuple[int, int, int, int], CellResult],
    column: Column,
    counts: dict[str, int],
) -> float:
    """A --min-pass suite's testcases, one per test with all its runs; returns their time."""
    prompt, provider = column
    total = 0.0
    for test in result.tests:
        keys = [(test.index, prompt.index, provider.index, run) for run in range(result.repeat)]
        runs = [cells[key] for key in keys if key in cells]
        seconds = sum(cell.latency_ms or 0.0 for cell in runs) / 1000
        case = ElementTree.SubElement(
            suite,
            "testcase",
            name=_xml_text(test_title(test.description, test.vars, test.index)),
            classname=suite.get("name", ""),
            time=f"{seconds:.3f}",
        )
        counts["tests"] += 1
        total += seconds
        judged = verdict(runs, result)
        outcome = _judged_case(case, runs, judged) if judged is not None else None
        if outcome is not None:
            counts[outcome] += 1
    return total


def _judged_case(case: ElementTree.Element, runs: list[CellResult], judged: Verdict) -> str | None:
    """A --min-pass testcase: passed when its runs reached K (its output names the runs that
    did not), else a failure (an error when every run that missed was an error). Returns the
    count it adds to: failures, errors, skipped, or None for a pass."""
    missed = [cell for cell in runs if cell.status != "passed"]
    why = "; ".join(f"run {cell.repeat + 1}: {_why(cell)}" for cell in missed)
    outcome: str | None = None
    if not runs or judged.undecided:  # interrupted before the runs could decide
        ElementTree.SubElement(case, "skipped", message=f"{judged.describe()}: not every run ran")
        outcome = "skipped"
    elif not judged.ok:
        failed = any(cell.status == "failed" for cell in missed)
        element = ElementTree.SubElement(
            case,
            "failure" if failed else "error",
            message=_xml_text(clip(f"{judged.describe()}: {why}", _MESSAGE_LIMIT)),
            type="AssertionFailed" if failed else "ProviderError",
        )
        element.text = _xml_text(
            "\n".join(f"run {cell.repeat + 1}: {_details(cell)}" for cell in missed)
        )
        outcome = "failures" if failed else "errors"
    # A passing test's output says which runs missed: the flakiness stays visible.
    lines = [judged.describe() + (f" ({why})" if why else "")]
    lines += [f"--- run {c.repeat + 1}: {c.status}\n{c.output}" for c in runs if c.output]
    ElementTree.SubElement(case, "system-out").text = _xml_text("\n".join(lines))
    return outcome


def _details(cell: CellResult) -> str:
    """Why a run did not pass: its error, else its failed assertions' reasons."""
    failed = [f"{a.type}: {a.reason}" for a in cell.assertions if not a.passed]
    return cell.error or "; ".join(failed) or _why(cell)


# --- Markdown --------------------------------------------------------------------------------
def to_markdown(result: RunResult) -> str:
    """Totals, pass rates per prompt x provider, and the failing cells: for a CI summary."""
    totals = result.totals
    cells = _cells(result)
    lines = [f"## reval: {_md(result.description or result.config_path)}", ""]
    state = "" if result.complete else " (interrupted: not every cell ran)"
    graded = totals.grader_predictions or totals.grader_cached
    graders = f" · {grader_summary(result)}" if graded else ""
    unknown = totals.ambiguous_unaccounted
    if unknown:
        requests = "request" if unknown == 1 else "requests"
        graders += f" · {unknown} create {requests} unaccounted for (may have run)"
    lines += [
        f"**{totals.passed} passed, {totals.failed} failed, {totals.errors} errors** "
        f"({totals.pass_rate:.0%} pass rate) · {totals.predictions} predictions{graders} · "
        f"{totals.wall_time_s:.1f}s{state}",
        "",
    ]
    columns = by_column(result)
    tests_line = groups_line(result)
    if tests_line is not None:  # --min-pass: the count the exit code reads
        lines += [f"**{tests_line}**", ""]
    extra = f" tests passed (min {result.min_pass}) |" if tests_line is not None else ""
    lines += [
        "| prompt x provider | passed | failed | errors | pass rate |" + extra,
        "| --- | ---: | ---: | ---: | ---: |" + (" ---: |" if extra else ""),
    ]
    for prompt, provider in _columns(result):
        statuses = [
            cell.status
            for test in result.tests
            for run, _ in _runs(result, test.index)
            if (cell := cells.get((test.index, prompt.index, provider.index, run))) is not None
        ]
        # Over the cells that ran, as the summary line counts (an interrupted run says so).
        rate = statuses.count("passed") / len(statuses) if statuses else 0.0
        passed, judged = columns.get((prompt.index, provider.index), (0, 0))
        counted = f" {passed}/{judged} |" if extra else ""
        lines.append(
            f"| {_md(_column_name(result, prompt, provider))} | {statuses.count('passed')} | "
            f"{statuses.count('failed')} | {statuses.count('error')} | {rate:.0%} |{counted}"
        )
    view = metrics_view(result)
    if view is not None:
        lines += [
            "",
            "### Named metrics",
            "",
            "| prompt x provider | " + " | ".join(_md(name) for name in view.columns) + " |",
            "| --- |" + " ---: |" * len(view.columns),
        ]
        for provider_label, prompt_label, values in view.rows:
            many = len(result.prompts) > 1
            where = f"{prompt_label} x {provider_label}" if many else provider_label
            lines.append(f"| {_md(where)} | " + " | ".join(values) + " |")
    failing = [cell for cell in result.cells if cell.status != "passed"]
    if failing:
        lines += [
            "",
            "### Failing cells",
            "",
            "| test | prompt x provider | why |",
            "| --- | --- | --- |",
        ]
        prompts = {p.index: p for p in result.prompts}
        providers = {p.index: p for p in result.providers}
        tests = {t.index: t for t in result.tests}
        for cell in failing:
            prompt, provider = prompts[cell.prompt_index], providers[cell.provider_index]
            test = tests[cell.test_index]
            lines.append(
                f"| {_md(test_title(test.description, test.vars, test.index))} | "
                f"{_md(_column_name(result, prompt, provider))} | "
                f"{cell.status.upper()}: {_md(clip(_why(cell), _ROW_LIMIT))} |"
            )
    return "\n".join(lines) + "\n"


def _md(text: str) -> str:
    """Text for a Markdown table cell: one line, pipes, markup and control characters
    neutralised."""
    flat = " ".join(printable(str(text)).split())
    for char in "\\|`*_<>[]":
        flat = flat.replace(char, "\\" + char)
    return flat
