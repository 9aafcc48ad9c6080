"""promptfoo's `is-sql`: the output is one or more SQL statements a parser of the database's
dialect accepts (promptfoo src/assertions/sql.ts, with node-sql-parser; here sqlglot).

The value is optional: ``{databaseType, allowedTables, allowedColumns}``. ``databaseType`` is
node-sql-parser's name (MySQL by default, promptfoo's). The allow-lists are node-sql-parser's
authority strings, each a regular expression matched whole, ignoring case: a table is
``operation::database::table`` (``select::null::users``), a column
``operation::table::column`` (``select::null::name`` for a column no table names); every table
and column the statements use must match one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import regex

from replicate_eval.assertions.base import (
    AssertionProblem,
    AssertionSpec,
    CheckContext,
    InvalidAssertion,
    Outcome,
)

# node-sql-parser's database names (lowercased) -> sqlglot's dialects.
DIALECTS = {
    "mysql": "mysql",
    "mariadb": "mysql",
    "postgresql": "postgres",
    "postgres": "postgres",
    "bigquery": "bigquery",
    "sqlite": "sqlite",
    "transactsql": "tsql",
    "redshift": "redshift",
    "hive": "hive",
    "snowflake": "snowflake",
    "trino": "trino",
    "athena": "athena",
}
MAX_SQL_CHARS = 200_000  # a query, not a dump: longer outputs are not parsed


@dataclass(frozen=True)
class SqlRules:
    database: str = "MySQL"
    dialect: str = "mysql"
    tables: tuple[regex.Pattern[str], ...] | None = None
    columns: tuple[regex.Pattern[str], ...] | None = None


def prepare_sql(value: Any, base_dir: Path) -> SqlRules:
    if value is None:
        return SqlRules()
    if not isinstance(value, dict):
        raise InvalidAssertion(
            "value", "`is-sql` takes `{databaseType, allowedTables, allowedColumns}` or none"
        )
    unknown = sorted(set(value) - {"databaseType", "allowedTables", "allowedColumns"})
    if unknown:
        raise InvalidAssertion("value", f"`is-sql` has no `{unknown[0]}`")
    database = str(value.get("databaseType") or "MySQL")
    dialect = DIALECTS.get(database.lower())
    if dialect is None:
        known = ", ".join(
            sorted(
                {
                    "MySQL",
                    "MariaDB",
                    "PostgresQL",
                    "BigQuery",
                    "Sqlite",
                    "TransactSQL",
                    "Redshift",
                    "Hive",
                    "Snowflake",
                    "Trino",
                    "Athena",
                }
            )
        )
        raise InvalidAssertion("value", f"`is-sql` cannot parse `{database}` (known: {known})")
    return SqlRules(
        database,
        dialect,
        _patterns(value.get("allowedTables"), "allowedTables"),
        _patterns(value.get("allowedColumns"), "allowedColumns"),
    )


def _patterns(items: Any, key: str) -> tuple[regex.Pattern[str], ...] | None:
    if items is None:
        return None
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        raise InvalidAssertion("value", f"`is-sql`'s `{key}` is a list of texts")
    try:
        return tuple(regex.compile(item, regex.IGNORECASE) for item in items)
    except regex.error as exc:
        raise InvalidAssertion("value", f"`is-sql`'s `{key}`: {exc}") from None


def is_sql(output: str, value: Any, spec: AssertionSpec, ctx: CheckContext) -> Outcome:
    rules: SqlRules = spec.prepared or SqlRules()
    text = output.strip()
    if not text:
        return Outcome(False, "the output is empty, not SQL")
    if len(text) > MAX_SQL_CHARS:
        raise AssertionProblem(f"the output is over {MAX_SQL_CHARS:,} characters: not parsed")
    from replicate_eval.assertions.sql_parse import judge_sql  # sqlglot: 0.1 s to import

    return judge_sql(text, rules)


# A fenced code block: its opening fence (``` or ~~~, three or more), language, body, and a
# closing fence of the same character at least as long.
_FENCED = regex.compile(r"^(`{3,}|~{3,})([^\n]*)\n(.*?)^\1[`~]*[ \t]*$", regex.M | regex.S)


def sql_blocks(output: str) -> list[str]:
    """The bodies of the output's code blocks marked `sql` or unmarked (promptfoo's
    contains-sql, src/assertions/sql.ts)."""
    return [
        body.strip()
        for _, language, body in _FENCED.findall(output, timeout=0.5)
        if language.strip().lower() in ("", "sql")
    ]


def contains_sql(output: str, value: Any, spec: AssertionSpec, ctx: CheckContext) -> Outcome:
    """One of the output's SQL code blocks is valid, as `is-sql` judges it; with no block,
    the whole output is."""
    try:
        blocks = sql_blocks(output)
    except TimeoutError:
        raise AssertionProblem("the output's code blocks took too long to find") from None
    candidates = [block for block in blocks if block] or ([] if blocks else [output])
    failed = Outcome(False, "the output has no SQL code block with anything in it")
    for number, candidate in enumerate(candidates, 1):
        outcome = is_sql(candidate, value, spec, ctx)
        if outcome.passed:
            where = f"code block {number} of {len(blocks)}" if blocks else "the output"
            return Outcome(True, f"{where}: {outcome.reason}")
        failed = outcome
    return failed
