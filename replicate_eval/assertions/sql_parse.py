"""Parsing `is-sql`'s statements with sqlglot, and checking them against the allow-lists
(kept apart from assertions/sql.py so that loading a config does not import sqlglot)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import regex
import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, SqlglotError

from replicate_eval.assertions.base import Outcome
from replicate_eval.assertions.sql import SqlRules
from replicate_eval.clip import clip

_STATEMENTS = (exp.Query, exp.DML, exp.DDL, exp.Command)
_OPERATIONS = {exp.Insert: "insert", exp.Update: "update", exp.Delete: "delete"}


def judge_sql(text: str, rules: SqlRules) -> Outcome:
    """Whether ``text`` (stripped, not empty, within MAX_SQL_CHARS) is statements of the
    rules' dialect that use only what they allow."""
    try:
        statements = [s for s in sqlglot.parse(text, read=rules.dialect) if s is not None]
    except ParseError as exc:
        first = exc.errors[0] if exc.errors else {}
        where = f" (line {first.get('line')}, column {first.get('col')})" if first else ""
        said = clip(str(first.get("description") or exc).splitlines()[0], 200)
        return Outcome(False, f"not {rules.database} SQL{where}: {said}")
    except (SqlglotError, RecursionError, ValueError) as exc:
        return Outcome(
            False, f"not {rules.database} SQL: {clip(str(exc) or type(exc).__name__, 200)}"
        )
    prose = [s for s in statements if not isinstance(s, _STATEMENTS)]
    if not statements or prose:
        shown = clip(" ".join(text.split()), 80)
        return Outcome(False, f"not a {rules.database} statement: {shown!r}")
    refused = _outside(statements, rules)
    if refused:
        return Outcome(False, f"{rules.database} SQL that uses what is not allowed: {refused}")
    count = "1 statement" if len(statements) == 1 else f"{len(statements)} statements"
    return Outcome(True, f"valid {rules.database} SQL ({count})")


def _outside(statements: list[Any], rules: SqlRules) -> str | None:
    for statement in statements:
        operation = _operation(statement)
        if rules.tables is not None:
            for table in statement.find_all(exp.Table):
                authority = f"{operation}::{table.db or 'null'}::{table.name}"
                if not _allowed(authority, rules.tables):
                    return f"table `{authority}`"
        if rules.columns is not None:
            for column in _columns(statement):
                authority = f"{operation}::{column.table or 'null'}::{column.name}"
                if not _allowed(authority, rules.columns):
                    return f"column `{authority}`"
    return None


def _operation(statement: Any) -> str:
    for kind, name in _OPERATIONS.items():
        if isinstance(statement, kind):
            return name
    return "select"


def _columns(statement: Any) -> Iterator[exp.Column]:
    for column in statement.find_all(exp.Column):
        if column.name:
            yield column


def _allowed(authority: str, patterns: tuple[regex.Pattern[str], ...]) -> bool:
    return any(pattern.fullmatch(authority, timeout=0.5) for pattern in patterns)
