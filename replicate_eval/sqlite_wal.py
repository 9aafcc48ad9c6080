"""Opening a SQLite file that several reval processes share: the response cache, the run store.

WAL mode lets readers go on while one process writes, and writers wait for each other up to a
busy timeout. Switching a new file to WAL needs the file to itself, and SQLite does not wait for
that, so two processes opening a new file together retry here.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Sequence
from pathlib import Path


def connect_wal(
    path: Path,
    *,
    busy_timeout: float,
    tables: Sequence[str],
    check: Callable[[sqlite3.Connection], None],
) -> sqlite3.Connection:
    """An autocommit connection (each statement its own short transaction) to ``path`` in WAL
    mode with ``tables`` created. ``check`` runs first, before anything is written to a file
    that may be someone else's database; what it raises is raised."""
    db = sqlite3.connect(path, timeout=busy_timeout, isolation_level=None, check_same_thread=False)
    try:
        _set_up(db, busy_timeout, tables, check)
    except BaseException:
        db.close()
        raise
    return db


def _set_up(
    db: sqlite3.Connection,
    busy_timeout: float,
    tables: Sequence[str],
    check: Callable[[sqlite3.Connection], None],
) -> None:
    deadline = time.monotonic() + busy_timeout
    while True:
        try:
            check(db)
            mode = db.execute("PRAGMA journal_mode").fetchone()[0]
            if str(mode).lower() != "wal":
                db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            for table in tables:
                db.execute(table)
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)
