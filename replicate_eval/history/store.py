"""The run store: every run's results, kept in one SQLite file so later runs compare with them.

WAL mode (``sqlite_wal``): several reval processes may record runs at once, and listing never
waits for a writer. A run is one row: what ``reval runs`` lists, in columns (read without
touching the results), and the results themselves, compressed JSON of the versioned
``RunResult`` schema (``schema_version`` is kept beside it, so a later reval can tell).

Unlike the response cache, a damaged store is never replaced: it is the history, so its owner
is told where it is and how to run without it.
"""

from __future__ import annotations

import sqlite3
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from replicate_eval.errors import RevalError
from replicate_eval.results import SCHEMA_VERSION, RunResult
from replicate_eval.results_file import Model
from replicate_eval.sqlite_wal import connect_wal

STORE_FILE = "runs.sqlite3"
STORE_LAYOUT = 1  # PRAGMA user_version: the tables' layout; a newer one is refused, not damaged
_BUSY_TIMEOUT_S = 30.0  # a long wait beats a lost record: writers take milliseconds each
_COLUMNS = (
    "id",
    "started_at",
    "finished_at",
    "kind",
    "config_path",
    "config_sha256",
    "description",
    "git_commit",
    "git_branch",
    "cells",
    "planned",
    "passed",
    "failed",
    "errors",
    "wall_time_s",
    "complete",
    "repeat",
    "shard",
    "schema_version",
    "results",
)
_TABLE = """CREATE TABLE IF NOT EXISTS runs (
    id             TEXT PRIMARY KEY,
    started_at     TEXT NOT NULL,
    finished_at    TEXT NOT NULL,
    kind           TEXT NOT NULL,
    config_path    TEXT NOT NULL,
    config_sha256  TEXT,
    description    TEXT,
    git_commit     TEXT,
    git_branch     TEXT,
    cells          INTEGER NOT NULL,
    planned        INTEGER NOT NULL,
    passed         INTEGER NOT NULL,
    failed         INTEGER NOT NULL,
    errors         INTEGER NOT NULL,
    wall_time_s    REAL NOT NULL,
    complete       INTEGER NOT NULL,
    repeat         INTEGER NOT NULL,
    shard          TEXT,
    schema_version INTEGER NOT NULL,
    results        BLOB NOT NULL)"""
_INDEX = "CREATE INDEX IF NOT EXISTS runs_by_time ON runs (started_at, id)"
_SUMMARY = ", ".join(_COLUMNS[:-1])
# Newest first, in the order the runs were recorded: a merge of shards, recorded after them,
# is the latest run although its start is its first shard's.
_NEWEST_FIRST = "ORDER BY rowid DESC"


class StoreError(RevalError):
    """The run store cannot be opened, read or written."""


def default_store_dir(env: Mapping[str, str]) -> Path:
    """``$REVAL_STORE``, else ``$XDG_DATA_HOME/reval``, else ``~/.local/share/reval`` (the XDG
    base directory specification's default for data)."""
    if env.get("REVAL_STORE"):
        return Path(env["REVAL_STORE"])
    base = env.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "reval"


def open_store(folder: Path | None, env: Mapping[str, str], *, create: bool = True) -> RunStore:
    """The store in ``folder``, else in the default folder."""
    return RunStore(folder if folder is not None else default_store_dir(env), create=create)


@dataclass(frozen=True)
class StoredRun:
    """A run as ``reval runs`` lists it: its row, without the results."""

    id: str
    started_at: str
    finished_at: str
    kind: str  # "run" or "merge"
    config_path: str
    config_sha256: str | None
    description: str | None
    git_commit: str | None
    git_branch: str | None
    cells: int
    planned: int
    passed: int
    failed: int
    errors: int
    wall_time_s: float
    complete: bool
    repeat: int
    shard: str | None
    schema_version: int

    @property
    def pass_rate(self) -> float:
        return self.passed / self.cells if self.cells else 0.0


class RunStore:
    """The store in ``folder`` (created when missing). Every method raises ``StoreError``."""

    def __init__(self, folder: Path, *, create: bool = True) -> None:
        """``create`` False (commands that only read): a store not there yet is an empty one,
        and nothing is made on disk (a mistyped --store leaves no folder behind)."""
        self.path = folder / STORE_FILE
        if folder.exists() and not folder.is_dir():
            raise StoreError(
                f"the run store's folder {folder} is a file, not a folder (choose another "
                "with --store DIR or REVAL_STORE, or run without it: --no-store)"
            )
        if not create and not self.path.exists():
            self._db = sqlite3.connect(":memory:", check_same_thread=False)
            self._db.execute(_TABLE)
            return
        try:
            folder.mkdir(parents=True, exist_ok=True)
            self._db = connect_wal(
                self.path, busy_timeout=_BUSY_TIMEOUT_S, tables=(_TABLE, _INDEX), check=_check
            )
        except (OSError, sqlite3.Error, StoreError) as exc:
            raise self._error("cannot open", exc) from None

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def add(self, result: RunResult, *, kind: str = "run") -> None:
        """Record ``result`` (tokens already masked by the caller); a run id recorded before is
        replaced, so recording the same results twice keeps one row."""
        totals = result.totals
        blob = zlib.compress(result.to_json().encode(), 6)
        row = (
            result.run_id,
            result.started_at,
            result.finished_at,
            kind,
            result.config_path,
            result.config_sha256,
            result.description,
            result.git.commit if result.git else None,
            result.git.branch if result.git else None,
            totals.cells,
            totals.planned,
            totals.passed,
            totals.failed,
            totals.errors,
            totals.wall_time_s,
            int(result.complete),
            result.repeat,
            result.shard,
            result.schema_version,
            blob,
        )
        marks = ", ".join("?" * len(_COLUMNS))
        self._run(f"INSERT OR REPLACE INTO runs ({', '.join(_COLUMNS)}) VALUES ({marks})", row)

    def runs(self, limit: int | None = None) -> list[StoredRun]:
        """The runs, newest first."""
        rows = self._run(
            f"SELECT {_SUMMARY} FROM runs {_NEWEST_FIRST} LIMIT ?",
            (-1 if limit is None else limit,),
        )
        return [_stored(row) for row in rows]

    def find(self, prefix: str) -> list[StoredRun]:
        """The runs whose id starts with ``prefix``, newest first."""
        # GLOB, not LIKE: `_` and `%` are literal in run ids; escape GLOB's own specials.
        pattern = "".join(f"[{c}]" if c in "*?[" else c for c in prefix) + "*"
        rows = self._run(f"SELECT {_SUMMARY} FROM runs WHERE id GLOB ? {_NEWEST_FIRST}", (pattern,))
        return [_stored(row) for row in rows]

    def nth_newest(self, n: int) -> StoredRun | None:
        rows = self._run(f"SELECT {_SUMMARY} FROM runs {_NEWEST_FIRST} LIMIT 1 OFFSET ?", (n,))
        return _stored(rows[0]) if rows else None

    def count(self) -> int:
        [(held,)] = self._run("SELECT COUNT(*) FROM runs", ())
        return int(str(held))

    def load(self, run_id: str) -> RunResult:
        return self.load_as(run_id, RunResult)

    def load_as(self, run_id: str, model: type[Model]) -> Model:
        """The run's results read into ``model``: a whole ``RunResult``, or a part of it."""
        rows = self._run("SELECT results, schema_version FROM runs WHERE id = ?", (run_id,))
        if not rows:
            raise StoreError(f"run {run_id} is not in the run store {self.path}")
        if int(str(rows[0][1])) > SCHEMA_VERSION:
            raise StoreError(
                f"run {run_id} was recorded by a newer reval (results schema {rows[0][1]}, "
                f"this reval reads {SCHEMA_VERSION}): upgrade reval to read it"
            )
        try:
            blob = rows[0][0]
            assert isinstance(blob, bytes)
            return model.model_validate_json(zlib.decompress(blob))
        except (zlib.error, ValidationError, ValueError) as exc:
            raise StoreError(
                f"run {run_id} in the run store {self.path} cannot be read "
                f"({type(exc).__name__}); `reval runs rm {run_id}` removes it"
            ) from None

    def remove(self, run_id: str) -> bool:
        """Delete the run; False when there was none."""
        try:
            return self._db.execute("DELETE FROM runs WHERE id = ?", (run_id,)).rowcount > 0
        except sqlite3.Error as exc:
            raise self._error("cannot use", exc) from None

    def _run(self, sql: str, parameters: tuple[object, ...]) -> list[tuple[object, ...]]:
        try:
            return self._db.execute(sql, parameters).fetchall()
        except sqlite3.Error as exc:
            raise self._error("cannot use", exc) from None

    def _error(self, doing: str, exc: BaseException) -> StoreError:
        return StoreError(
            f"{doing} the run store {self.path}: {exc} (choose another folder with --store DIR "
            "or REVAL_STORE, or run without it: --no-store)"
        )


def _check(db: sqlite3.Connection) -> None:
    names = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    if names and "runs" not in names:
        raise StoreError(
            f"it is a SQLite database reval did not write (tables: {', '.join(names)})"
        )
    layout = int(db.execute("PRAGMA user_version").fetchone()[0])
    if layout > STORE_LAYOUT:
        raise StoreError(
            f"it was made by a newer reval (store layout {layout}, this reval knows "
            f"{STORE_LAYOUT}): upgrade reval, or use another folder"
        )
    found = {row[1] for row in db.execute("PRAGMA table_info(runs)")}
    # A later layout may add columns; the ones this reval reads must all be there.
    if found and not set(_COLUMNS) <= found:
        raise StoreError("its `runs` table is not a reval run store's")
    if not names:
        db.execute(f"PRAGMA user_version = {STORE_LAYOUT}")


def _stored(row: tuple[object, ...]) -> StoredRun:
    values = dict(zip(_COLUMNS, row, strict=False))
    values["complete"] = bool(values["complete"])
    return StoredRun(**values)  # type: ignore[arg-type]
