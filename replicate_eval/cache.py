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

from replicate_eval.canonical import canonical_json
from replicate_eval.config import ProviderConfig
from replicate_eval.media import SavedImage
from replicate_eval.providers.base import ProviderResponse

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
    size_bytes: int
    oldest: float | None
    newest: float | None


class ResponseCache:
    """The cache file. ``get`` and ``put`` are best effort: a locked or broken file makes a
    miss or a skipped write (noted in ``problems``), never a lost result. They block, so the
    runner calls them from a worker thread; a lock serialises them."""

    def __init__(self, folder: Path, *, busy_timeout: float = 10.0) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / CACHE_FILE
        # Autocommit: each statement is its own short transaction.
        self._db = sqlite3.connect(
            self.path, timeout=busy_timeout, isolation_level=None, check_same_thread=False
        )
        self._lock = threading.Lock()
        self.problems: list[str] = []
        self._set_up(busy_timeout)

    def _set_up(self, busy_timeout: float) -> None:
        """WAL mode and the tables. Switching to WAL needs the file to itself, and SQLite does
        not wait for that, so two processes opening a new cache together retry here."""
        deadline = time.monotonic() + busy_timeout
        while True:
            try:
                mode = self._db.execute("PRAGMA journal_mode").fetchone()[0]
                if str(mode).lower() != "wal":
                    self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=NORMAL")
                for table in _TABLES:
                    self._db.execute(table)
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    @staticmethod
    def namespace(provider: ProviderConfig) -> str:
        """An HMAC of the provider's token: accounts never share entries; the token is not kept."""
        token = provider.token.get_secret_value().encode()
        return hmac.new(token, b"reval response cache v1", hashlib.sha256).hexdigest()[:32]

    @staticmethod
    def key(provider: ProviderConfig, model_input: Mapping[str, Any]) -> CacheKey:
        target = provider.target
        version = target.version or ("deployment" if target.deployment else "latest")
        material = canonical_json(
            {"kind": target.kind, "model": target.slug, "version": version, "input": model_input}
        )
        return CacheKey(
            ResponseCache.namespace(provider), hashlib.sha256(material.encode()).hexdigest()
        )

    def get(self, key: CacheKey) -> ProviderResponse | None:
        try:
            with self._lock:
                row = self._db.execute(
                    "SELECT response FROM responses WHERE namespace = ? AND key = ?",
                    (key.namespace, key.key),
                ).fetchone()
        except sqlite3.Error as exc:
            self.problems.append(f"could not read the response cache {self.path}: {exc}")
            return None
        if row is None:
            return None
        try:
            data = json.loads(row[0])
            return ProviderResponse(
                output=data["output"],
                latency_ms=data["latency_ms"],
                prediction_id=data.get("prediction_id"),
                metrics=data.get("metrics") or {},
                images=tuple(
                    SavedImage(**{**image, "path": Path(image["path"])})
                    for image in data.get("images") or []
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
                {**image.as_dict(), "path": str(image.path.resolve())} for image in response.images
            ],
        }
        try:
            with self._lock:
                self._db.execute(
                    "INSERT OR REPLACE INTO responses VALUES (?, ?, ?, ?)",
                    (key.namespace, key.key, time.time(), json.dumps(data, default=str)),
                )
        except sqlite3.Error as exc:
            self.problems.append(f"could not write to the response cache {self.path}: {exc}")

    def get_schema(self, namespace: str, key: str, max_age: float | None) -> Any:
        """A stored version schema, unless older than ``max_age`` seconds; None otherwise."""
        try:
            with self._lock:
                row = self._db.execute(
                    "SELECT schema, created_at FROM schemas WHERE namespace = ? AND key = ?",
                    (namespace, key),
                ).fetchone()
        except sqlite3.Error:
            return None
        if row is None or (max_age is not None and time.time() - row[1] > max_age):
            return None
        try:
            return json.loads(row[0])
        except ValueError:
            return None

    def put_schema(self, namespace: str, key: str, schema: Any) -> None:
        try:
            with self._lock:
                self._db.execute(
                    "INSERT OR REPLACE INTO schemas VALUES (?, ?, ?, ?)",
                    (namespace, key, time.time(), json.dumps(schema)),
                )
        except sqlite3.Error as exc:
            self.problems.append(f"could not write to the response cache {self.path}: {exc}")

    def info(self) -> CacheInfo:
        """Raises sqlite3.Error when the file cannot be read."""
        entries, oldest, newest = self._db.execute(
            "SELECT COUNT(*), MIN(created_at), MAX(created_at) FROM responses"
        ).fetchone()
        size = sum(
            path.stat().st_size for path in (self.path, Path(f"{self.path}-wal")) if path.exists()
        )
        return CacheInfo(self.path, entries, size, oldest, newest)

    def clear(self) -> int:
        """Raises sqlite3.Error when the file cannot be written (another reval writing)."""
        removed: int = self._db.execute("DELETE FROM responses").rowcount
        self._db.execute("VACUUM")
        return removed

    def close(self) -> None:
        self._db.close()
