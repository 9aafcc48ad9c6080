"""Tests kept in files: ``tests: file://cases.csv``, or a list mixing files and inline tests.

Test files: ``.csv`` (a column per var; ``__expected`` / ``__expectedN`` add assertions,
``__description`` names the test, ``__metadata:NAME`` sets metadata), ``.jsonl`` (a test
object per line), ``.json`` or ``.yaml`` (a list of test objects). Every bad row of every
file is reported, each with its file and line; a file that cannot be read is reported at the
config line that names it.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from replicate_eval.config.csv_expected import BadExpected, expected_assertion
from replicate_eval.config.file_glob import GlobTooWide, has_magic, matching_files
from replicate_eval.config.json_values import BadJson, check_depth, parse_json
from replicate_eval.config.limits import MAX_CONFIG_FILE_BYTES
from replicate_eval.config.problems import Problem
from replicate_eval.config.text_files import UnreadableFile, read_text
from replicate_eval.config.yaml_source import Loc, YamlError, parse_yaml

FILE_PREFIX = "file://"
TEST_FILE_SUFFIXES = (".csv", ".json", ".jsonl", ".yaml", ".yml")
_NOT_A_TEST = "a test must be a mapping with `vars` and `assert`"


@dataclass(frozen=True)
class TestSource:
    """One test as written, and where: inline at ``loc`` in the config, or in a file at ``at``
    (``cases.csv:3``, ``cases.yaml: item 2``)."""

    data: Any
    loc: Loc = ()
    at: str | None = None


def gather_tests(
    raw: Any, base_dir: Path, loc: Loc = ("tests",)
) -> tuple[list[TestSource], list[Problem]]:
    """Every test ``tests:`` (or another list of tests, at ``loc``) holds, each ``file://``
    item replaced by the tests in that file."""
    if raw is None:
        return [], []
    if isinstance(raw, str) and raw.startswith(FILE_PREFIX):
        return load_test_file(raw, base_dir, loc)
    if not isinstance(raw, list):
        return [], [Problem(loc, "expected a list of tests, or `file://` and a tests file")]
    sources: list[TestSource] = []
    problems: list[Problem] = []
    for index, item in enumerate(raw):
        if isinstance(item, str) and item.startswith(FILE_PREFIX):
            found, wrong = load_test_file(item, base_dir, (*loc, index))
            sources += found
            problems += wrong
        else:
            sources.append(TestSource(item, (*loc, index)))
    return sources, problems


def load_test_file(
    reference: str, base_dir: Path, loc: Loc
) -> tuple[list[TestSource], list[Problem]]:
    """The tests in the file ``reference`` names, or in every file its glob matches (sorted,
    as promptfoo's `file://cases/*.yaml`); problems with the file itself are at ``loc``."""
    paths, problems = referenced_files(reference, base_dir, loc, "tests file")
    sources: list[TestSource] = []
    for path in paths:
        found, wrong = _load_one(path, loc)
        sources += found
        problems += wrong
    return sources, problems


def referenced_files(
    reference: str, base_dir: Path, loc: Loc, what: str
) -> tuple[list[Path], list[Problem]]:
    """The file a ``file://`` reference names (relative to ``base_dir``), or every file its
    glob matches, sorted; a glob matching nothing is a problem at ``loc`` naming ``what``."""
    pattern = reference.removeprefix(FILE_PREFIX)
    if not has_magic(pattern):
        return [base_dir / pattern], []
    try:
        paths = matching_files(pattern, base_dir)
    except GlobTooWide as exc:
        return [], [Problem(loc, str(exc))]
    if not paths:
        return [], [Problem(loc, f"no {what} matches `{pattern}` (in {base_dir})")]
    return paths, []


def _load_one(path: Path, loc: Loc) -> tuple[list[TestSource], list[Problem]]:
    suffix = path.suffix.lower()
    if suffix not in TEST_FILE_SUFFIXES:
        message = (
            f"{path}: tests are read from {', '.join(TEST_FILE_SUFFIXES)} files, "
            f"not `{path.suffix or path.name}`"
        )
        return [], [Problem(loc, message)]
    try:
        # utf-8-sig: spreadsheets start their CSV files with a byte-order mark.
        text = read_text(path, limit=MAX_CONFIG_FILE_BYTES, encoding="utf-8-sig", nul_ok=False)
    except UnreadableFile as exc:
        return [], [Problem(loc, f"cannot read the tests file {path}: {exc}")]
    reader = {".csv": _csv_tests, ".jsonl": _jsonl_tests, ".json": _json_tests}.get(
        suffix, _yaml_tests
    )
    sources, problems = reader(path, text)
    if not sources and not problems:
        # A tests file with no row is a mistake (an export gone wrong), not a run of nothing.
        return [], [Problem(loc, f"the tests file {path} holds no tests")]
    return sources, problems


def _jsonl_tests(path: Path, text: str) -> tuple[list[TestSource], list[Problem]]:
    sources: list[TestSource] = []
    problems: list[Problem] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        at = f"{path}:{number}"
        try:
            item = parse_json(line)
        except BadJson as exc:
            message = str(exc).replace("not valid JSON", "not a JSON object", 1)
            problems.append(Problem((), message, at=at))
            continue
        _add_test(item, at, sources, problems, depth=0)
    return sources, problems


def _json_tests(path: Path, text: str) -> tuple[list[TestSource], list[Problem]]:
    try:
        data = parse_json(text)
    except BadJson as exc:
        at = f"{path}:{exc.line}" if exc.line else str(path)
        return [], [Problem((), str(exc), at=at)]
    return _listed_tests(path, data, {})


def _yaml_tests(path: Path, text: str) -> tuple[list[TestSource], list[Problem]]:
    try:
        doc = parse_yaml(text, path)
    except YamlError as exc:
        return [], [Problem((), exc.detail, at=exc.where)]
    if doc is None:
        return [], []
    refused: dict[int, list[Problem]] = {}  # by item
    for value in doc.refused:
        number, inside = (value.loc[0], value.loc[1:]) if value.loc else (-1, ())
        at = f"{path}:{value.line}"
        if isinstance(number, int) and number >= 0:
            at += f": item {number + 1}"
        refused.setdefault(int(number), []).append(Problem(inside, value.message, at=at))
    sources, problems = _listed_tests(path, doc.data, refused)
    return sources, [*problems, *(p for found in refused.values() for p in found)]


def _listed_tests(
    path: Path, data: Any, refused: dict[int, list[Problem]]
) -> tuple[list[TestSource], list[Problem]]:
    if not isinstance(data, list):
        return [], [Problem((), "expected a list of tests", at=str(path))]
    sources: list[TestSource] = []
    problems: list[Problem] = []
    for index, item in enumerate(data):
        if index not in refused:  # a refused value was read as None: only its own message
            _add_test(item, f"{path}: item {index + 1}", sources, problems, depth=1)
    return sources, problems


def _add_test(
    item: Any, at: str, sources: list[TestSource], problems: list[Problem], *, depth: int
) -> None:
    if not isinstance(item, dict):
        problems.append(Problem((), _NOT_A_TEST, at=at))
        return
    too_deep = check_depth(item, depth)
    if too_deep:
        problems.append(Problem((), too_deep, at=at))
        return
    sources.append(TestSource(item, at=at))


def _csv_tests(path: Path, text: str) -> tuple[list[TestSource], list[Problem]]:
    # A quoted value may span lines: read records, and report the line each one starts on.
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [name.strip() for name in next(reader, [])]
    except csv.Error as exc:
        return [], [Problem((), str(exc), at=f"{path}:1")]
    for name in header:
        special = name == "__description" or name.startswith(("__expected", "__metadata:"))
        if name.startswith("__") and not special:
            message = (
                f"unknown column `{name}`; special columns are `__expected` "
                "(`__expected1`, `__expected2`...), `__description` and `__metadata:NAME`"
            )
            return [], [Problem((), message, at=f"{path}:1")]
    sources: list[TestSource] = []
    problems: list[Problem] = []
    while True:
        number = reader.line_num + 1
        try:
            row = next(reader, None)
        except csv.Error as exc:  # the rest of the file cannot be split into records
            problems.append(Problem((), str(exc), at=f"{path}:{number}"))
            return sources, problems
        if row is None:
            return sources, problems
        if not any(cell.strip() for cell in row):
            continue
        at = f"{path}:{number}"
        if len(row) != len(header):
            message = f"{len(row)} values for {len(header)} columns ({', '.join(header)})"
            problems.append(Problem((), message, at=at))
            continue
        test = _csv_test(header, row, at, problems)
        if test is not None:
            sources.append(TestSource(test, at=at))


def _csv_test(
    header: list[str], row: list[str], at: str, problems: list[Problem]
) -> dict[str, Any] | None:
    test: dict[str, Any] = {"vars": {}, "assert": []}
    ok = True
    for name, value in zip(header, row, strict=True):
        if name == "__description":
            test["description"] = value
        elif name.startswith("__metadata:"):  # promptfoo's: the test's metadata NAME
            if value.strip():
                test.setdefault("metadata", {})[name.removeprefix("__metadata:")] = value
        elif name.startswith("__expected"):
            if value.strip():
                try:
                    test["assert"].append(expected_assertion(value.strip()))
                except BadExpected as exc:
                    problems.append(Problem((name,), str(exc), at=at))
                    ok = False
        else:
            test["vars"][name] = value
    return test if ok else None
