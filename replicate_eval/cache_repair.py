"""A cache file SQLite cannot use: damage told apart from a lock, and the file set aside.

A cache is only a cache: a file that is not a database, a damaged one, or a directory where the
file should be costs a warning and is replaced by a fresh file, never a failed run. A locked file
(another reval writing) is not damaged and is never touched.

Several reval processes may find the same damaged file at once, so the move happens under a lock
file and only if the path still holds the file that was found damaged: the second process then
opens the fresh file instead of moving it aside too. (A process that still has the damaged file
open keeps writing to the moved copy; its cached responses are lost, never its results.)
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from replicate_eval.errors import RevalError

# SQLite's primary result codes (https://www.sqlite.org/rescode.html).
SQLITE_CORRUPT = 11
SQLITE_CANTOPEN = 14
SQLITE_NOTADB = 26
# SQLite names a database's journal files after it; they move with it.
COMPANIONS = ("-wal", "-shm")

FileIdentity = tuple[int, int]


class NotACache(RevalError):
    """A readable SQLite database, but not one reval wrote (other tables or columns)."""


@dataclass(frozen=True)
class Damage:
    """A damaged cache file found and set aside: why, and where it went (None: deleted)."""

    path: Path
    reason: str
    moved_to: Path | None

    def describe(self) -> str:
        where = f"moved it to {self.moved_to}" if self.moved_to else "deleted it"
        return f"the response cache {self.path} was not usable ({self.reason}): {where}"


def damage_reason(exc: BaseException, path: Path) -> str | None:
    """Why ``exc`` shows the file at ``path`` is unusable; None when it does not (a lock, a
    read-only folder, a full disk: nothing wrong with the file itself)."""
    if isinstance(exc, NotACache):
        return str(exc)
    if not isinstance(exc, sqlite3.Error):
        return None
    code = getattr(exc, "sqlite_errorcode", None)  # Python 3.11+; the message before that
    primary = code & 0xFF if isinstance(code, int) else None
    text = str(exc)
    if primary in (SQLITE_CORRUPT, SQLITE_NOTADB) or (
        primary is None and ("malformed" in text or "not a database" in text)
    ):
        return text
    if primary == SQLITE_CANTOPEN or "unable to open" in text:
        for file in files_of(path):
            if file.exists() and not file.is_file():
                return f"{file.name} is a directory, not a file"
    return None


def files_of(path: Path) -> list[Path]:
    return [path, *(path.with_name(path.name + suffix) for suffix in COMPANIONS)]


def identity(path: Path) -> FileIdentity | None:
    """Which file the path holds now (device, inode); None when there is none."""
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_dev, stat.st_ino


@contextmanager
def repair_lock(path: Path) -> Iterator[None]:
    """Only one process sets a damaged file aside at a time (POSIX; elsewhere, no lock)."""
    try:
        import fcntl
    except ImportError:  # Windows: renaming an open file fails there anyway
        yield
        return
    with path.with_name(path.name + ".lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def set_aside(
    path: Path, found: FileIdentity | None, reason: str, *, delete: bool
) -> Damage | None:
    """Move (or delete) the damaged file and its journals, if the path still holds the file
    found damaged; None when another process already replaced it."""
    with repair_lock(path):
        if identity(path) != found:
            return None
        target = None if delete else _free_name(path)
        # Journals first: a process opening the path meanwhile must not adopt the old -wal.
        for file in reversed(files_of(path)):
            if not (file.exists() or file.is_symlink()):
                continue
            if target is None:
                _remove(file)
            else:
                file.replace(target.with_name(target.name + file.name[len(path.name) :]))
    return Damage(path, reason, target)


def corrupt_copies(path: Path) -> list[Path]:
    """The damaged files set aside earlier (with their journals)."""
    return sorted(path.parent.glob(f"{path.name}.corrupt-*"))


def remove_copies(path: Path) -> list[Path]:
    """Delete what ``corrupt_copies`` lists; return the copies themselves (not journals)."""
    copies = corrupt_copies(path)
    for copy in copies:
        _remove(copy)
    return [copy for copy in copies if not copy.name.endswith(COMPANIONS)]


def _free_name(path: Path) -> Path:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    number = 1
    while any(file.exists() for file in files_of(target)):
        number += 1
        target = path.with_name(f"{path.name}.corrupt-{stamp}-{number}")
    return target


def _remove(file: Path) -> None:
    if file.is_dir() and not file.is_symlink():
        shutil.rmtree(file)
    else:
        file.unlink(missing_ok=True)
