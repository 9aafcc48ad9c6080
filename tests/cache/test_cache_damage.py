"""A damaged response cache costs a warning and a fresh file, never a run; a locked one is
left alone. `reval cache clear` works on any file; schemas are counted and cleared."""

from __future__ import annotations

import sqlite3
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from replicate_eval.cache import CacheKey, ResponseCache
from replicate_eval.cache_repair import identity, set_aside
from replicate_eval.config.load import load_config
from replicate_eval.providers.base import ProviderResponse
from tests.cache.support import CREATE, cache_file, cases
from tests.conftest import REVAL, RunCli, RunConfig, reval_env, yaml_text
from tests.fake_replicate import FakeReplicate


def copies_of(path: Path) -> list[Path]:
    """The damaged files set aside next to the cache (not their journals)."""
    return [
        p
        for p in path.parent.glob(f"{path.name}.corrupt-*")
        if not p.name.endswith(("-wal", "-shm"))
    ]


def real_cache(run_config: RunConfig, n: int = 2) -> Path:
    """A cache file written by a real run, checkpointed (its WAL folded into it)."""
    run_config(cases(n))
    path = cache_file()
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


def random_bytes(path: Path) -> None:
    path.write_bytes(bytes(range(256)) * 40)


def text_file(path: Path) -> None:
    path.write_text("responses, but as a text file\n" * 100)


def truncated(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def a_directory(path: Path) -> None:
    path.unlink()
    (path / "inside").mkdir(parents=True)


def wal_is_a_directory(path: Path) -> None:
    wal = path.with_name(path.name + "-wal")
    wal.unlink(missing_ok=True)
    wal.mkdir()


def foreign_database(path: Path) -> None:
    path.unlink()
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE responses (id INTEGER PRIMARY KEY, body BLOB)")


DAMAGE: dict[str, tuple[Callable[[Path], None], str]] = {
    "random bytes": (random_bytes, "file is not a database"),
    "a text file": (text_file, "file is not a database"),
    "a truncated database": (truncated, "database disk image is malformed"),
    "a directory": (a_directory, "responses.sqlite3 is a directory, not a file"),
    "a -wal directory": (wal_is_a_directory, "responses.sqlite3-wal is a directory, not a file"),
    "another program's database": (
        foreign_database,
        "its table `responses` is not a reval cache's",
    ),
}


@pytest.mark.parametrize("kind", DAMAGE)
def test_a_damaged_cache_is_moved_aside_and_the_run_caches_in_a_fresh_file(
    fake_replicate: FakeReplicate, run_config: RunConfig, kind: str
) -> None:
    fake_replicate.add_model("meta/llama", official=True)
    path = real_cache(run_config)
    damage, reason = DAMAGE[kind]
    damage(path)
    before = path.read_bytes() if path.is_file() else None

    run = run_config(cases(2))
    assert run.result.exit_code == 0
    assert run.json["totals"]["passed"] == 2 and run.json["totals"]["predictions"] == 2
    [copy] = copies_of(path)
    warning = " ".join(run.result.stderr.split())
    assert f"warning: the response cache {path} was not usable ({reason}): " in warning
    assert f"moved it to {copy}; using a fresh cache" in warning
    if before is not None:
        assert copy.read_bytes() == before  # set aside as it was, for whoever wants to look
    assert path.is_file() and not path.with_name(path.name + "-wal").is_dir()

    again = run_config(cases(2))  # the fresh file kept the run's responses
    assert again.json["totals"]["cached"] == 2 and again.result.stderr.count("warning") == 0
    assert len(fake_replicate.received("POST", CREATE)) == 4


def test_a_garbage_wal_is_discarded_by_sqlite_and_the_cache_kept(
    fake_replicate: FakeReplicate, run_config: RunConfig
) -> None:
    """SQLite ignores a -wal whose header checksum is wrong (https://www.sqlite.org/wal.html):
    the database itself is whole, so nothing is moved aside and its entries still answer."""
    fake_replicate.add_model("meta/llama", official=True)
    path = real_cache(run_config)
    path.with_name(path.name + "-wal").write_bytes(bytes(range(256)) * 200)
    run = run_config(cases(3))
    assert (run.result.exit_code, run.json["totals"]["cached"]) == (0, 2)
    assert copies_of(path) == [] and "warning" not in run.result.stderr
    assert run_config(cases(3)).json["totals"]["cached"] == 3


def cache_and_keys(tmp_path: Path, n: int) -> tuple[ResponseCache, list[CacheKey]]:
    config = tmp_path / "c.yaml"
    config.write_text(yaml_text(cases(1)))
    provider = load_config(config, {"REPLICATE_API_TOKEN": "r8_x"}).providers[0]
    return ResponseCache(tmp_path / "cache"), [
        ResponseCache.key(provider, {"prompt": f"case {i}"}) for i in range(n)
    ]


def zero_from_page(path: Path, page: int) -> None:
    """Damage SQLite finds only when it reads those pages (4 KiB each)."""
    with path.open("r+b") as file:
        file.seek(4096 * page)
        file.write(b"\0" * (path.stat().st_size - 4096 * page))


def test_damage_found_mid_run_is_a_warning_and_a_fresh_file(tmp_path: Path) -> None:
    cache, keys = cache_and_keys(tmp_path, 300)
    for key in keys:
        cache.put(key, ProviderResponse(output="x" * 2000, latency_ms=1.0))
    cache.close()
    cache = ResponseCache(tmp_path / "cache")  # opens cleanly: the first pages are whole
    zero_from_page(cache.path, 20)  # then the disk loses most of the tables' pages

    assert cache.get(keys[-1]) is None
    [problem] = cache.problems
    [copy] = copies_of(cache.path)
    assert problem == (
        f"the response cache {cache.path} is damaged (database disk image is malformed): "
        f"moved it to {copy}; the rest of this run is cached in a fresh file"
    )
    cache.put(keys[0], ProviderResponse(output="kept", latency_ms=1.0))
    cache.close()
    reopened = ResponseCache(tmp_path / "cache")
    hit = reopened.get(keys[0])
    assert hit is not None and hit.output == "kept" and reopened.repaired == []
    assert reopened.info().entries == 1
    reopened.close()


def test_a_locked_cache_is_never_moved_aside(tmp_path: Path) -> None:
    cache, [key] = cache_and_keys(tmp_path, 1)
    cache.put(key, ProviderResponse(output="ok", latency_ms=1.0))
    cache.close()
    holder = sqlite3.connect(cache.path, isolation_level=None)
    holder.execute("PRAGMA locking_mode=EXCLUSIVE")
    holder.execute("INSERT INTO schemas VALUES ('n', 'k', 0, '{}')")  # takes the lock, keeps it
    try:
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            ResponseCache(tmp_path / "cache", busy_timeout=0.1)
    finally:
        holder.close()
    assert copies_of(cache.path) == []
    reopened = ResponseCache(tmp_path / "cache")
    hit = reopened.get(key)
    assert hit is not None and hit.output == "ok"
    reopened.close()


def test_clear_deletes_a_damaged_file_and_the_copies_set_aside(
    fake_replicate: FakeReplicate, run_config: RunConfig, run_cli: RunCli
) -> None:
    fake_replicate.add_model("meta/llama", official=True)
    path = real_cache(run_config)
    random_bytes(path)
    run_cli("cache", "info")  # sets it aside
    random_bytes(path)
    cleared = run_cli("cache", "clear")
    assert cleared.exit_code == 0, cleared.stderr
    lines = cleared.stdout.splitlines()
    assert lines[0] == (
        f"The cache file {path} was damaged (file is not a database): "
        "deleted it and started an empty one"
    )
    assert lines[1] == f"Removed 0 cached responses and 0 model schemas from {path}"
    assert lines[2].startswith("Deleted 1 damaged cache file(s) set aside earlier: ")
    assert copies_of(path) == [] and "warning" not in cleared.stderr
    assert "Responses: 0" in run_cli("cache", "info").stdout
    assert run_config(cases(1)).json["totals"]["predictions"] == 1  # the fresh file works


def test_clear_deletes_a_file_whose_damage_only_a_full_read_finds(
    tmp_path: Path, run_cli: RunCli
) -> None:
    cache, keys = cache_and_keys(tmp_path, 300)
    for key in keys:
        cache.put(key, ProviderResponse(output="x" * 2000, latency_ms=1.0))
    cache.close()
    zero_from_page(cache.path, 20)
    ResponseCache(tmp_path / "cache").close()  # opening does not see it
    cleared = run_cli("cache", "clear", "--cache-dir", tmp_path / "cache")
    assert cleared.exit_code == 0, cleared.stderr
    assert cleared.stdout.startswith(
        f"The cache file {cache.path} was damaged (database disk image is malformed): "
        "deleted it and started an empty one\n"
    )
    assert copies_of(cache.path) == []
    assert "Responses: 0" in run_cli("cache", "info", "--cache-dir", tmp_path / "cache").stdout


def test_info_on_a_damaged_file_says_so(
    fake_replicate: FakeReplicate, run_config: RunConfig, run_cli: RunCli
) -> None:
    fake_replicate.add_model("meta/llama", official=True)
    path = real_cache(run_config)
    text_file(path)
    info = run_cli("cache", "info")
    assert info.exit_code == 0
    [copy] = copies_of(path)
    assert f"Damaged:   file is not a database; moved to {copy}\n" in info.stdout
    assert "Responses: 0\nSchemas:   0\n" in info.stdout
    assert "Set aside: 1 damaged cache file(s) (`reval cache clear` deletes them)" in info.stdout
    assert f"moved it to {copy}; using a fresh cache" in " ".join(info.stderr.split())


def test_schemas_are_counted_and_cleared(
    fake_replicate: FakeReplicate, run_config: RunConfig, run_cli: RunCli
) -> None:
    fake_replicate.add_model("meta/llama", official=True)
    fake_replicate.add_model("meta/llama-big", official=True)
    run_config(cases(2))
    run_config(cases(1, "replicate:meta/llama-big"))
    info = run_cli("cache", "info").stdout
    assert "Responses: 3\nSchemas:   2\n" in info
    cleared = run_cli("cache", "clear").stdout
    assert f"Removed 3 cached responses and 2 model schemas from {cache_file()}" in cleared
    assert "Responses: 0\nSchemas:   0\n" in run_cli("cache", "info").stdout
    # The schema is fetched again: it was really gone. (The run uses the current version that
    # read names: no second look-up.)
    reads = len(fake_replicate.received("GET", "/v1/models/meta/llama"))
    run_config(cases(1))
    assert len(fake_replicate.received("GET", "/v1/models/meta/llama")) == reads + 1
    assert "Schemas:   1\n" in run_cli("cache", "info").stdout


def test_a_file_another_process_already_replaced_is_left_alone(tmp_path: Path) -> None:
    """Two revals find the same damaged file: the second must not move the first's fresh one."""
    path = tmp_path / "responses.sqlite3"
    random_bytes(path)
    seen_damaged = identity(path)
    path.rename(tmp_path / "moved")  # the first process set it aside...
    path.write_bytes(b"")  # ...and started a fresh file
    assert set_aside(path, seen_damaged, "file is not a database", delete=False) is None
    assert path.exists() and copies_of(path) == []


def test_two_processes_opening_one_damaged_cache(
    fake_replicate: FakeReplicate, tmp_path: Path
) -> None:
    fake_replicate.add_model("meta/llama", official=True)
    path = cache_file()
    path.parent.mkdir(parents=True)
    random_bytes(path)
    env = reval_env(fake_replicate)
    processes = []
    for name in ("a", "b"):
        config = tmp_path / f"{name}.yaml"
        config.write_text(yaml_text(cases(10, prompt=f"{name} case <<n>>")))
        processes.append(
            subprocess.Popen(
                [REVAL, "run", str(config), "-j", "8", "--no-progress"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                env=env,
            )
        )
    for process in processes:
        assert process.wait(timeout=60) == 0, process.stderr.read() if process.stderr else ""
    assert len(copies_of(path)) == 1  # one process moved it; the other used the fresh file
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT COUNT(*) FROM responses").fetchone() == (20,)
