"""Tests and prompts kept in files: ``tests: file://cases.csv``, ``prompts: file://p.txt``.

Test files: ``.csv`` (a column per var; ``__expected`` / ``__expectedN`` add assertions,
``__description`` names the test), ``.jsonl`` (a test object per line), ``.json`` or ``.yaml``
(a list of test objects). ``tests:`` may also be a list mixing files and inline tests. A bad row
is reported with its file and line. Prompt files hold several prompts separated by a line
``---``; ``file://prompts/*.txt`` takes every matching file.
"""

from __future__ import annotations

import csv
import glob
import io
import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from replicate_eval.config.problems import format_loc, problems_from_validation
from replicate_eval.config.schema import TestEntry
from replicate_eval.errors import ConfigError

FILE_PREFIX = "file://"
TEST_FILE_SUFFIXES = (".csv", ".json", ".jsonl", ".yaml", ".yml")
# `__expected` values: a prefix picks the assertion type; plain text means `equals`.
_EXPECTED_PREFIXES = ("not-icontains", "not-contains", "icontains", "contains", "regex", "python")


def expand_tests(raw: Any, base_dir: Path) -> Any:
    """``tests`` with every ``file://`` item replaced by the tests that file holds."""
    if isinstance(raw, str) and raw.startswith(FILE_PREFIX):
        return load_test_file(raw, base_dir)
    if not isinstance(raw, list):
        return raw
    expanded: list[Any] = []
    for item in raw:
        if isinstance(item, str) and item.startswith(FILE_PREFIX):
            expanded += load_test_file(item, base_dir)
        else:
            expanded.append(item)
    return expanded


def load_test_file(reference: str, base_dir: Path) -> list[dict[str, Any]]:
    path = base_dir / reference.removeprefix(FILE_PREFIX)
    if path.suffix.lower() not in TEST_FILE_SUFFIXES:
        raise ConfigError(
            f"{path}: tests are read from {', '.join(TEST_FILE_SUFFIXES)} files, "
            f"not `{path.suffix or path.name}`"
        )
    try:
        # utf-8-sig: spreadsheets start their CSV files with a byte-order mark.
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the tests file {path}: {exc}") from None
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _csv_tests(path, text)
    if suffix == ".jsonl":
        tests = []
        for number, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                tests.append(_test_object(path, number, _json(path, number, line)))
        return tests
    try:
        data = json.loads(text) if suffix == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: not valid {suffix.lstrip('.').upper()}: {exc}") from None
    if not isinstance(data, list):
        raise ConfigError(f"{path}: expected a list of tests")
    return [_test_object(path, index + 1, item, what="item") for index, item in enumerate(data)]


def _json(path: Path, number: int, line: str) -> Any:
    try:
        return json.loads(line)
    except ValueError as exc:
        raise ConfigError(f"{path}:{number}: not a JSON object: {exc}") from None


def _test_object(path: Path, number: int, item: Any, what: str = "line") -> dict[str, Any]:
    where = f"{path}:{number}" if what == "line" else f"{path}: item {number}"
    if not isinstance(item, dict):
        raise ConfigError(f"{where}: a test must be a mapping with `vars` and `assert`")
    # Checked here so that a mistake names this file, not the config's `tests:` line.
    try:
        TestEntry.model_validate(item)
    except ValidationError as exc:
        found = problems_from_validation(exc)
        raise ConfigError(
            "\n".join(f"{where}: {format_loc(p.loc) or 'test'}: {p.message}" for p in found)
        ) from None
    return item


def _csv_tests(path: Path, text: str) -> list[dict[str, Any]]:
    # A quoted value may span lines: read records, and report the line each one starts on.
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [name.strip() for name in next(reader, [])]
    except csv.Error as exc:
        raise ConfigError(f"{path}:1: {exc}") from None
    for name in header:
        if name.startswith("__") and not (name == "__description" or name.startswith("__expected")):
            raise ConfigError(
                f"{path}:1: unknown column `{name}`; special columns are `__expected` "
                "(`__expected1`, `__expected2`...) and `__description`"
            )
    tests: list[dict[str, Any]] = []
    while True:
        number = reader.line_num + 1
        try:
            row = next(reader, None)
        except csv.Error as exc:
            raise ConfigError(f"{path}:{number}: {exc}") from None
        if row is None:
            return tests
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise ConfigError(
                f"{path}:{number}: {len(row)} values for {len(header)} columns "
                f"({', '.join(header)})"
            )
        test: dict[str, Any] = {"vars": {}, "assert": []}
        for name, value in zip(header, row, strict=True):
            if name == "__description":
                test["description"] = value
            elif name.startswith("__expected"):
                if value.strip():
                    test["assert"].append(_expected(value.strip()))
            else:
                test["vars"][name] = value
        tests.append(test)


def _expected(value: str) -> dict[str, Any]:
    """``contains: x`` -> a contains assertion; plain text -> equals."""
    head, sep, rest = value.partition(":")
    if sep and head.strip() in _EXPECTED_PREFIXES:
        return {"type": head.strip(), "value": rest.strip()}
    return {"type": "equals", "value": value}


def expand_prompt_reference(reference: str, base_dir: Path) -> list[tuple[Path, str, int, int]]:
    """Every prompt a ``file://`` reference names: (file, text, number in file, count in file).

    A glob matches several files; a file holds prompts separated by a line ``---``.
    """
    pattern = reference.removeprefix(FILE_PREFIX)
    if glob.has_magic(pattern):
        full = pattern if Path(pattern).is_absolute() else str(base_dir / pattern)
        # Path.glob refuses absolute patterns; glob.glob takes both.
        paths = sorted(Path(found) for found in glob.glob(full, recursive=True))  # noqa: PTH207
        if not paths:
            raise ConfigError(f"no prompt file matches {base_dir / pattern}")
    else:
        paths = [base_dir / pattern]
    found = []
    for path in paths:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(
                f"cannot read prompt file {path}: {getattr(exc, 'strerror', None) or exc}"
            ) from None
        parts = _split_prompts(text)
        if len(parts) > 1:  # a file of one prompt is kept exactly as written
            parts = [part.strip("\n") for part in parts if part.strip()]
        found += [(path, part, number, len(parts)) for number, part in enumerate(parts, start=1)]
    return found


def _split_prompts(text: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    for line in text.splitlines(keepends=True):
        if line.strip() == "---":
            parts.append("".join(current))
            current = []
        else:
            current.append(line)
    parts.append("".join(current))
    return parts


def read_var_file(value: Any, base_dir: Path) -> Any:
    """A var value ``file://path`` is that file's text."""
    if not (isinstance(value, str) and value.startswith(FILE_PREFIX)):
        return value
    path = base_dir / value.removeprefix(FILE_PREFIX)
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from None
