"""The run store itself: concurrent writers, damage, and what it keeps."""

from __future__ import annotations

import multiprocessing
import sqlite3
import zlib
from pathlib import Path

import pytest

from replicate_eval.history.store import RunStore, StoreError, default_store_dir
from replicate_eval.results import RunResult, Totals


def result(run_id: str, started_at: str = "2026-12-04T10:00:00+00:00") -> RunResult:
    return RunResult(
        run_id=run_id,
        reval_version="test",
        config_path="/evals/config.yaml",
        description="d",
        started_at=started_at,
        finished_at=started_at,
        complete=True,
        prompts=[],
        providers=[],
        tests=[],
        cells=[],
        totals=Totals(cells=0, passed=0, failed=0, errors=0, predictions=0, wall_time_s=0.5),
    )


def _write_runs(folder: str, writer: int, count: int) -> None:
    with RunStore(Path(folder)) as store:
        for n in range(count):
            store.add(result(f"w{writer}-{n}", f"2026-12-04T10:{writer:02d}:{n:02d}+00:00"))


def test_concurrent_writers_lose_no_run(tmp_path: Path) -> None:
    """Eight processes recording at once, into a store none of them found existing."""
    context = multiprocessing.get_context("spawn")
    writers = [
        context.Process(target=_write_runs, args=(str(tmp_path), writer, 15)) for writer in range(8)
    ]
    for process in writers:
        process.start()
    for process in writers:
        process.join(60)
        assert process.exitcode == 0
    with RunStore(tmp_path) as store:
        assert store.count() == 8 * 15
        newest = store.runs(limit=1)[0]
        assert newest.id.endswith("-14")  # some writer's last
        assert store.load("w3-7").run_id == "w3-7"


def test_runs_are_listed_newest_first_and_found_by_prefix(tmp_path: Path) -> None:
    with RunStore(tmp_path) as store:
        store.add(result("20261201T1-a", "2026-12-01T10:00:00+00:00"))
        store.add(result("20261203T1-b", "2026-12-03T10:00:00+00:00"))
        # Recorded last, though it started before: a merge of earlier shards is the latest.
        store.add(result("20261202T1-c", "2026-12-02T10:00:00+00:00"))
        assert [run.id for run in store.runs()] == ["20261202T1-c", "20261203T1-b", "20261201T1-a"]
        assert [run.id for run in store.find("2026120")] == [
            "20261202T1-c",
            "20261203T1-b",
            "20261201T1-a",
        ]
        assert store.find("20261202") and not store.find("2026*")  # GLOB's * is literal
        assert store.nth_newest(2) is not None and store.nth_newest(3) is None
        store.add(result("20261202T1-c", "2026-12-02T10:00:00+00:00"))  # recorded again
        assert store.count() == 3
        assert store.remove("20261202T1-c") and not store.remove("20261202T1-c")


def test_a_store_reval_did_not_write_is_left_alone(tmp_path: Path) -> None:
    database = tmp_path / "runs.sqlite3"
    sqlite3.connect(database).execute("CREATE TABLE notes (x)").connection.commit()
    with pytest.raises(StoreError, match="reval did not write"):
        RunStore(tmp_path)
    assert sqlite3.connect(database).execute("SELECT name FROM sqlite_master").fetchall() == [
        ("notes",)
    ]


def test_a_damaged_run_is_reported_not_a_traceback(tmp_path: Path) -> None:
    with RunStore(tmp_path) as store:
        store.add(result("good"))
        store.add(result("bad"))
        store._db.execute("UPDATE runs SET results = ? WHERE id = 'bad'", (zlib.compress(b"{"),))
        assert store.load("good").run_id == "good"
        with pytest.raises(StoreError, match="`reval runs rm bad` removes it"):
            store.load("bad")


def test_the_default_folder_follows_xdg_and_reval_store() -> None:
    assert default_store_dir({"XDG_DATA_HOME": "/d"}) == Path("/d/reval")
    assert default_store_dir({"REVAL_STORE": "/s", "XDG_DATA_HOME": "/d"}) == Path("/s")
    assert default_store_dir({}) == Path.home() / ".local" / "share" / "reval"
