"""The response cache: a successful prediction's output, so the same call is never paid twice.

One SQLite file in WAL mode (several reval processes may share it: readers never block the
writer, and writers wait for each other). A response is stored as soon as its cell has it, so
re-running an interrupted eval makes only the predictions that are missing.

Key: the provider kind, model, version (or "latest" / the deployment) and the model input as
canonical JSON. Namespace: an HMAC of the API token, so two accounts never share entries and the
token itself is never stored.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import sqlite3
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from replicate_eval.cache_repair import (
    Damage,
    FileIdentity,
    NotACache,
    damage_reason,
    identity,
    remove_copies,
    set_aside,
)
from replicate_eval.cache_repair import corrupt_copies as find_corrupt_copies
from replicate_eval.canonical import canonical_json
from replicate_eval.config.types import ProviderConfig
from replicate_eval.media import SavedImage
from replicate_eval.providers.base import ProviderResponse
from replicate_eval.redact import REDACT
from replicate_eval.sqlite_wal import connect_wal

CACHE_FILE = "responses.sqlite3"
_TABLES = (
    """CREATE TABLE IF NOT EXISTS responses (
        namespace  TEXT NOT NULL,
        key        TEXT NOT NULL,
        created_at REAL NOT NULL,
        response   TEXT NOT NULL,
        PRIMARY KEY (namespace, key))""",
    # Model version schemas, for the preflight check.
    """CREATE TABLE IF NOT EXISTS schemas (
        namespace  TEXT NOT NULL,
        key        TEXT NOT NULL,
        created_at REAL NOT NULL,
        schema     TEXT NOT NULL,
        PRIMARY KEY (namespace, key))""",
)
# What _TABLES creates: a file whose tables differ is not a reval cache (or an older one).
_COLUMNS = {
    "responses": ["namespace", "key", "created_at", "response"],
    "schemas": ["namespace", "key", "created_at", "schema"],
}


def default_cache_dir(env: Mapping[str, str]) -> Path:
    """``$XDG_CACHE_HOME/reval``, else ``~/.cache/reval``."""
    base = env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "reval"


@dataclass(frozen=True)
class CacheKey:
    namespace: str
    key: str


@dataclass(frozen=True)
class CacheInfo:
    path: Path
    entries: int
    schemas: int
    size_bytes: int
    oldest: float | None
    newest: float | None
    corrupt_copies: list[Path]


@dataclass(frozen=True)
class Cleared:
    responses: int
    schemas: int
    copies: list[Path]  # damaged files set aside earlier, now deleted


class ResponseCache:
    """The cache file. ``get`` and ``put`` are best effort: a locked or broken file makes a
    miss or a skipped write (noted in ``problems``), never a lost result. They block, so the
    runner calls them from a worker thread; a lock serialises them.

    A damaged file (not a database, malformed, a directory) is set aside and replaced by a
    fresh one, when opening (listed in ``repaired``, for the caller to warn about) or mid-run
    (noted in ``problems``). ``delete_damaged`` deletes it instead (``reval cache clear``)."""

    def __init__(
        self, folder: Path, *, busy_timeout: float = 10.0, delete_damaged: bool = False
    ) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / CACHE_FILE
        self._busy_timeout = busy_timeout
        self._delete_damaged = delete_damaged
        self._lock = threading.Lock()
        self.problems: list[str] = []
        self.repaired: list[Damage] = []
        self._identity: FileIdentity | None = None
        self._db = self._open()

    def _open(self) -> sqlite3.Connection:
        """Connect, setting a damaged file aside; a second process that set it aside first
        leaves a fresh file, so this tries again rather than moving that one too."""
        for _ in range(3):
            found = identity(self.path)
            try:
                return self._connect()
            except (sqlite3.Error, NotACache) as exc:
                reason = damage_reason(exc, self.path)
                if reason is None:
                    raise
            done = set_aside(self.path, found, reason, delete=self._delete_damaged)
            if done is not None:
                self.repaired.append(done)
        return self._connect()

    def _connect(self) -> sqlite3.Connection:
        self._identity = identity(self.path)
        db = connect_wal(
            self.path, busy_timeout=self._busy_timeout, tables=_TABLES, check=self._check_tables
        )
        try:
            # Reading each table's first page finds most damage now rather than mid-run.
            for table in _COLUMNS:
                db.execute(f"SELECT * FROM {table} LIMIT 1").fetchall()
        except BaseException:
            db.close()
            raise
        return db

    @staticmethod
    def _check_tables(db: sqlite3.Connection) -> None:
        for table, columns in _COLUMNS.items():
            found = [row[1] for row in db.execute(f"PRAGMA table_info({table})")]
            if found and found != columns:
                raise NotACache(f"its table `{table}` is not a reval cache's")

    def _execute(self, sql: str, parameters: tuple[Any, ...]) -> list[Any]:
        """One statement; a damaged file is set aside and the statement made on a fresh one."""
        with self._lock:
            try:
                return self._db.execute(sql, parameters).fetchall()
            except sqlite3.Error as exc:
                reason = damage_reason(exc, self.path)
                if reason is None:
                    raise
            self._db.close()
            try:
                done = set_aside(self.path, self._identity, reason, delete=False)
                self._db = self._open()
            except OSError as exc:
                raise sqlite3.OperationalError(f"{reason}; could not replace it: {exc}") from exc
            where = f"moved it to {done.moved_to}" if done else "another reval replaced it"
            self.problems.append(
                f"the response cache {self.path} is damaged ({reason}): {where}; "
                "the rest of this run is cached in a fresh file"
            )
            return self._db.execute(sql, parameters).fetchall()

    @staticmethod
    def namespace(provider: ProviderConfig) -> str:
        """An HMAC of the provider's token: accounts never share entries; the token is not kept."""
        token = provider.token.get_secret_value().encode()
        return hmac.new(token, b"reval response cache v1", hashlib.sha256).hexdigest()[:32]

    @staticmethod
    def key(
        provider: ProviderConfig, model_input: Mapping[str, Any], version: str | None = None
    ) -> CacheKey:
        """``version``: the one the run resolved for an id without one (a model's current
        version, a deployment's release); None: the id's own key ("latest" when unknown)."""
        target = provider.target
        # Exactly these keys and words: they are in the cache files users already have.
        material = canonical_json(
            {
                "kind": target.kind,
                "model": target.slug,
                "version": version or target.version_key,
                "input": model_input,
            }
        )
        return CacheKey(
            ResponseCache.namespace(provider), hashlib.sha256(material.encode()).hexdigest()
        )

    def get(self, key: CacheKey) -> ProviderResponse | None:
        try:
            rows = self._execute(
                "SELECT response FROM responses WHERE namespace = ? AND key = ?",
                (key.namespace, key.key),
            )
        except sqlite3.Error as exc:
            self.problems.append(f"could not read the response cache {self.path}: {exc}")
            return None
        if not rows:
            return None
        try:
            data = json.loads(rows[0][0])
            return ProviderResponse(
                output=data["output"],
                latency_ms=data["latency_ms"],
                prediction_id=data.get("prediction_id"),
                metrics=data.get("metrics") or {},
                images=tuple(
                    SavedImage.model_validate(image) for image in data.get("images") or []
                ),
            )
        except (ValueError, KeyError, TypeError):
            return None  # an entry from another reval version: a miss, overwritten later

    def put(self, key: CacheKey, response: ProviderResponse) -> None:
        data = {
            "output": response.output,
            "latency_ms": response.latency_ms,
            "prediction_id": response.prediction_id,
            "metrics": dict(response.metrics),
            # Images are kept where their run saved them; a later hit copies them over.
            "images": [
                {**image.model_dump(), "path": str(image.file.resolve())}
                for image in response.images
            ],
        }
        try:
            self._execute(
                "INSERT OR REPLACE INTO responses VALUES (?, ?, ?, ?)",
                (key.namespace, key.key, time.time(), REDACT(json.dumps(data, default=str))),
            )
        except sqlite3.Error as exc:
            self.problems.append(f"could not write to the response cache {self.path}: {exc}")

    def get_schema(self, namespace: str, key: str, max_age: float | None) -> Any:
        """A stored version schema, unless older than ``max_age`` seconds; None otherwise."""
        try:
            rows = self._execute(
                "SELECT schema, created_at FROM schemas WHERE namespace = ? AND key = ?",
                (namespace, key),
            )
        except sqlite3.Error as exc:
            self.problems.append(f"could not read the response cache {self.path}: {exc}")
            return None
        row = rows[0] if rows else None
        if row is None or (max_age is not None and time.time() - row[1] > max_age):
            return None
        try:
            return json.loads(row[0])
        except ValueError:
            return None

    def put_schema(self, namespace: str, key: str, schema: Any) -> None:
        try:
            self._execute(
                "INSERT OR REPLACE INTO schemas VALUES (?, ?, ?, ?)",
                (namespace, key, time.time(), REDACT(json.dumps(schema))),
            )
        except sqlite3.Error as exc:
            self.problems.append(f"could not write to the response cache {self.path}: {exc}")

    def info(self) -> CacheInfo:
        """Raises sqlite3.Error when the file cannot be read."""
        [(entries, oldest, newest)] = self._execute(
            "SELECT COUNT(*), MIN(created_at), MAX(created_at) FROM responses", ()
        )
        [(schemas,)] = self._execute("SELECT COUNT(*) FROM schemas", ())
        size = sum(
            path.stat().st_size for path in (self.path, Path(f"{self.path}-wal")) if path.exists()
        )
        return CacheInfo(
            self.path, entries, schemas, size, oldest, newest, find_corrupt_copies(self.path)
        )

    def clear(self) -> Cleared:
        """Every response and schema, and the damaged files set aside earlier. A file found
        damaged on the way is deleted (listed in ``repaired``). Raises sqlite3.Error when the
        file cannot be written (another reval writing)."""
        with self._lock:
            try:
                responses: int = self._db.execute("DELETE FROM responses").rowcount
                schemas: int = self._db.execute("DELETE FROM schemas").rowcount
                self._db.execute("VACUUM")
            except sqlite3.Error as exc:
                reason = damage_reason(exc, self.path)
                if reason is None:
                    raise
                self._db.close()
                done = set_aside(self.path, self._identity, reason, delete=True)
                self.repaired += [done] if done else []
                self._db = self._open()
                responses = schemas = 0  # unknown: they went with the file
        return Cleared(responses, schemas, remove_copies(self.path))

    def close(self) -> None:
        self._db.close()
