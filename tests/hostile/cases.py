"""The hostile-input corpus: every family of cases, in one list (see case.py for a case's shape).

python -m tests.hostile.corpus --list     # the names
"""

from __future__ import annotations

from tests.hostile import (
    cases_code,
    cases_config,
    cases_files,
    cases_history,
    cases_models,
    cases_process,
    cases_promptfoo,
)
from tests.hostile.case import Case

FAMILIES = [
    cases_config.broken_yaml,
    cases_config.key_typos,
    cases_config.wrong_types,
    cases_config.environment,
    cases_config.nothing_to_run,
    cases_models.model_errors,
    cases_models.network_faults,
    cases_code.hostile_output,
    cases_code.user_code,
    cases_code.regexes,
    cases_code.templates,
    *cases_files.ALL,
    *cases_process.ALL,
    *cases_history.ALL,
    *cases_promptfoo.ALL,
]


def all_cases() -> list[Case]:
    cases = [case for family in FAMILIES for case in family()]
    names = [case.name for case in cases]
    duplicates = {name for name in names if names.count(name) > 1}
    assert not duplicates, f"case names must be unique: {sorted(duplicates)}"
    return cases


CASES = all_cases()
BY_NAME = {case.name: case for case in CASES}
