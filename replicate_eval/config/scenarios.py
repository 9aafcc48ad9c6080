"""promptfoo's ``scenarios``: sets of data, each run through the same tests.

A scenario is ``{description, config: [data...], tests: [test...]}``; every data item is merged
with every test (no tests: one empty test), and the merged tests follow the config's own
``tests``. The merge is promptfoo's (its evaluator, ``mergeScenarioTest``): the test's keys over
the data's, ``vars`` and ``metadata`` merged (the test's win), ``assert`` the data's then the
test's; ``defaultTest`` is applied afterwards like to any test. Two small departures: a data
item's ``options`` are kept under the test's (promptfoo drops them), and a test with no
``description`` takes the data's, then the scenario's.

A scenario may be a ``file://`` YAML or JSON file (or glob) holding one scenario or a list;
its ``tests`` may be a tests file, and a ``config`` item ``{$values: file://…}`` is replaced by
the items of that file, as in promptfoo.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from replicate_eval.config.case_files import (
    FILE_PREFIX,
    TestSource,
    gather_tests,
    load_test_file,
    referenced_files,
)
from replicate_eval.config.json_values import BadJson, check_depth, parse_json
from replicate_eval.config.limits import MAX_CONFIG_FILE_BYTES, MAX_SCENARIO_TESTS
from replicate_eval.config.problems import Problem, format_loc, problems_from_validation
from replicate_eval.config.schema import TestEntry
from replicate_eval.config.text_files import UnreadableFile, read_text
from replicate_eval.config.yaml_source import Loc, YamlError, parse_yaml
from replicate_eval.errors import ConfigError
from replicate_eval.suggest import did_you_mean

_KEYS = ("description", "config", "tests")
_FILE_ITEM_KEYS = ("$values", "$expand")  # promptfoo's: a file whose items join `config`


def gather_scenarios(raw: Any, base_dir: Path) -> tuple[list[TestSource], list[Problem]]:
    """The tests every scenario makes, in order, each where its test (or data) is written."""
    if raw is None:
        return [], []
    if isinstance(raw, str) and raw.startswith(FILE_PREFIX):
        raw = [raw]
    if not isinstance(raw, list):
        return [], [Problem(("scenarios",), "expected a list of scenarios, or `file://` files")]
    problems: list[Problem] = []
    scenarios: list[_Scenario] = []
    for index, item in enumerate(raw):
        loc: Loc = ("scenarios", index)
        if isinstance(item, str) and item.startswith(FILE_PREFIX):
            scenarios += _scenario_files(item, base_dir, loc, problems)
        else:
            scenarios.append(_Scenario(item, loc, None))
    sources: list[TestSource] = []
    made = 0
    for scenario in scenarios:
        expanded = scenario.expand(base_dir, problems)
        if expanded is None:
            continue
        data, tests = expanded
        made += len(data) * len(tests)
        if made > MAX_SCENARIO_TESTS:
            message = (
                f"the scenarios make more than {MAX_SCENARIO_TESTS:,} tests "
                "(each data item of `config` runs every test); split them into several configs"
            )
            return [], [*problems, Problem(("scenarios",), message)]
        for each in data:
            sources += [_merged(each, test, scenario.description) for test in tests]
    return sources, problems


class _Scenario:
    """One scenario as written: at ``loc`` in the config, or in ``file``."""

    def __init__(self, data: Any, loc: Loc, at: str | None) -> None:
        self.data = data
        self.loc = loc
        self.at = at
        self.description: str | None = None

    def problem(self, inside: Loc, message: str) -> Problem:
        if self.at is not None:
            return Problem(inside, message, at=self.at)
        return Problem((*self.loc, *inside), message)

    def expand(
        self, base_dir: Path, problems: list[Problem]
    ) -> tuple[list[TestSource], list[TestSource]] | None:
        """Its valid data items and tests; None when it cannot make any."""
        if not isinstance(self.data, dict):
            problems.append(self.problem((), "a scenario is a mapping with `config` and `tests`"))
            return None
        ok = True
        for key in self.data:
            if key not in _KEYS:
                message = f"unknown key of a scenario (it takes {', '.join(_KEYS)})"
                problems.append(self.problem((key,), message + did_you_mean(str(key), _KEYS)))
                ok = False
        description = self.data.get("description")
        if description is not None and not isinstance(description, str):
            problems.append(self.problem(("description",), "expected text"))
            ok = False
        self.description = description
        config = self.data.get("config")
        if not isinstance(config, list) or not config:
            message = "a scenario needs a list of data items (vars, assert...) to run its tests on"
            problems.append(self.problem(("config",), message))
            return None
        data = self._data_items(config, base_dir, problems)
        tests = self._tests(base_dir, problems)
        return (data, tests) if ok and data and tests else None

    def _data_items(
        self, config: list[Any], base_dir: Path, problems: list[Problem]
    ) -> list[TestSource]:
        items: list[TestSource] = []
        for index, item in enumerate(config):
            loc: Loc = ("config", index)
            reference = _file_item(item)
            if reference is not None:
                found, wrong = load_test_file(reference, base_dir, (*self.loc, *loc))
                problems += [self._moved(p) for p in wrong]
                items += found
            else:
                items.append(self._source(item, loc))
        return [item for item in items if _valid(item, problems)]

    def _tests(self, base_dir: Path, problems: list[Problem]) -> list[TestSource]:
        raw = self.data.get("tests")
        if raw is None:
            return [TestSource({}, (*self.loc, "config"), self.at)]  # promptfoo's empty test
        found, wrong = gather_tests(raw, base_dir, (*self.loc, "tests"))
        problems += [self._moved(p) for p in wrong]
        if self.at is not None:  # a test written in the scenario's file, not in the config
            found = [
                source
                if source.at
                else TestSource(source.data, (), self._item_at(source.loc[len(self.loc) :]))
                for source in found
            ]
        if not found and not wrong:
            problems.append(self.problem(("tests",), "holds no tests"))
        return [source for source in found if _valid(source, problems)]

    def _source(self, item: Any, inside: Loc) -> TestSource:
        if self.at is not None:
            return TestSource(item, (), self._item_at(inside))
        return TestSource(item, (*self.loc, *inside))

    def _item_at(self, inside: Loc) -> str:
        """Where an item of a scenario read from a file is: ``s.yaml: scenario 1, tests[2]``."""
        return f"{self.at}, {format_loc(inside)}"

    def _moved(self, problem: Problem) -> Problem:
        """A problem found at a config location, for a scenario read from a file."""
        if self.at is None or problem.at is not None:
            return problem
        return Problem(problem.loc[len(self.loc) :], problem.message, at=self.at)


def _file_item(item: Any) -> str | None:
    """The file a ``config`` item ``{$values: file://…}`` names; None for other items."""
    if isinstance(item, dict) and len(item) == 1:
        ((key, value),) = item.items()
        if key in _FILE_ITEM_KEYS and isinstance(value, str) and value.startswith(FILE_PREFIX):
            return value
    return None


def _valid(source: TestSource, problems: list[Problem]) -> bool:
    """Whether a data item or test is a valid test on its own (its problems reported where it
    is written, once, rather than once per test it is merged into)."""
    try:
        TestEntry.model_validate(source.data)
    except ValidationError as exc:
        if source.at is None:
            problems += problems_from_validation(exc, source.loc)
        else:
            problems += [
                Problem(p.loc, p.message, at=source.at) for p in problems_from_validation(exc)
            ]
        return False
    return True


def _merged(data: TestSource, test: TestSource, description: str | None) -> TestSource:
    """``test`` run on ``data`` (promptfoo's merge, see the module's docstring), written where
    the test is."""
    first: dict[str, Any] = data.data
    second: dict[str, Any] = test.data
    merged = {**first, **second}
    first_vars, second_vars = first.get("vars"), second.get("vars")
    if isinstance(first_vars, dict) and isinstance(second_vars, dict):
        merged["vars"] = {**first_vars, **second_vars}
    for key in ("metadata", "options"):
        if isinstance(first.get(key), dict) and isinstance(second.get(key), dict):
            merged[key] = {**first[key], **second[key]}
    if "assert" in first or "assert" in second:
        merged["assert"] = [*(first.get("assert") or []), *(second.get("assert") or [])]
    if merged.get("description") is None and description is not None:
        merged["description"] = description
    return TestSource(merged, test.loc, test.at)


def _scenario_files(
    reference: str, base_dir: Path, loc: Loc, problems: list[Problem]
) -> list[_Scenario]:
    paths, wrong = referenced_files(reference, base_dir, loc, "scenario file")
    problems += wrong
    scenarios: list[_Scenario] = []
    for path in paths:
        try:
            data = _read_structured(path)
        except ConfigError as exc:
            problems.append(Problem(loc, str(exc)))
            continue
        items = data if isinstance(data, list) else [data]
        scenarios += [
            _Scenario(item, ("scenarios", number), f"{path}: scenario {number + 1}")
            for number, item in enumerate(items)
        ]
    return scenarios


def _read_structured(path: Path) -> Any:
    """A scenario file's data (YAML, or JSON by its suffix), within the config's bounds."""
    try:
        text = read_text(path, limit=MAX_CONFIG_FILE_BYTES, nul_ok=False)
    except UnreadableFile as exc:
        raise ConfigError(f"cannot read the scenario file {path}: {exc}") from None
    try:
        if path.suffix.lower() == ".json":
            data = parse_json(text)
        else:
            doc = parse_yaml(text, path)
            if doc is not None and doc.refused:
                first = doc.refused[0]
                raise ConfigError(f"{path}:{first.line}: {first.message}")
            data = None if doc is None else doc.data
    except BadJson as exc:
        raise ConfigError(f"{path}: {exc}") from None
    except YamlError as exc:
        raise ConfigError(f"{exc.where}: {exc.detail}") from None
    if data is None:
        raise ConfigError(f"the scenario file {path} is empty")
    too_deep = check_depth(data)
    if too_deep:
        raise ConfigError(f"{path}: {too_deep}")
    return data
