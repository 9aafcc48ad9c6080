"""The response cache: nothing is paid twice, accounts never share, processes can share a file."""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

from tests.cache.support import CREATE, cache_file, cases
from tests.conftest import REVAL, RunCli, RunConfig, reval_env, yaml_text
from tests.fake_replicate import FakeReplicate, image_model, sdxl_schema


def test_a_second_run_is_answered_from_the_cache(
    fake_replicate: FakeReplicate, run_config: RunConfig
) -> None:
    fake_replicate.add_model("meta/llama", official=True)
    first = run_config(cases(3))
    assert first.json["totals"]["predictions"] == 3
    second = run_config(cases(3))
    assert len(fake_replicate.received("POST", CREATE)) == 3  # nothing new was sent
    totals = second.json["totals"]
    assert (totals["predictions"], totals["cached"], totals["passed"]) == (0, 3, 3)
    assert all(cell["cached"] for cell in second.cells)
    assert [c["output"] for c in second.cells] == [c["output"] for c in first.cells]
    assert "PASS (cached)" in second.result.stdout and "3 cached" in second.result.stdout


def test_only_missing_predictions_are_made(
    fake_replicate: FakeReplicate, run_config: RunConfig
) -> None:
    """What an interrupted run left behind is reused; the rest is made."""
    fake_replicate.add_model("meta/llama", official=True)
    run_config(cases(2))
    run = run_config(cases(5))
    assert run.json["totals"]["cached"] == 2
    assert len(fake_replicate.received("POST", CREATE)) == 5


def test_no_cache_neither_reads_nor_writes(
    fake_replicate: FakeReplicate, run_config: RunConfig, run_cli: RunCli
) -> None:
    fake_replicate.add_model("meta/llama", official=True)
    run_config(cases(2), "--no-cache")
    run_config(cases(2), "--no-cache")
    assert len(fake_replicate.received("POST", CREATE)) == 4
    assert "Responses: 0" in run_cli("cache", "info").stdout


def test_accounts_do_not_share_entries_and_the_token_is_not_stored(
    fake_replicate: FakeReplicate, run_config: RunConfig
) -> None:
    fake_replicate.add_model("meta/llama", official=True)
    other = "r8_second_account_token_0000000000000000"
    fake_replicate.tokens.add(other)
    run_config(cases(1))
    run_config(cases(1, {"id": "replicate:meta/llama", "apiKey": other}))
    assert len(fake_replicate.received("POST", CREATE)) == 2
    stored = cache_file().read_bytes()
    wal = Path(f"{cache_file()}-wal")
    stored += wal.read_bytes() if wal.exists() else b""
    assert fake_replicate.token.encode() not in stored and other.encode() not in stored


def test_the_key_covers_model_and_input(
    fake_replicate: FakeReplicate, run_config: RunConfig
) -> None:
    fake_replicate.add_model("meta/llama", official=True)
    fake_replicate.add_model("meta/llama-big", official=True)
    fake_replicate.add_model("acme/llama", versions=["a" * 64])
    run_config(cases(1))
    run_config(cases(1, "replicate:meta/llama-big"))
    run_config(cases(1, prompt="other case <<n>>"))
    run_config(cases(1, "replicate:acme/llama:" + "a" * 64))
    assert len(fake_replicate.received("POST")) == 4
    run_config(cases(1, "replicate:acme/llama:" + "a" * 64))
    assert len(fake_replicate.received("POST")) == 4


def test_cached_images_are_copied_into_the_new_run(
    fake_replicate: FakeReplicate, run_config: RunConfig, tmp_path: Path
) -> None:
    fake_replicate.add_model(
        "acme/painter", image_model(), official=True, openapi_schema=sdxl_schema()
    )
    config = {
        "prompts": ["a fox"],
        "providers": [{"id": "replicate:image:acme/painter", "width": 32}],
    }
    first = run_config(config, "--output-dir", tmp_path / "one")
    second = run_config(config, "--output-dir", tmp_path / "two")
    [before], [after] = first.cells[0]["images"], second.cells[0]["images"]
    assert second.cells[0]["cached"] and Path(after["path"]).parent == tmp_path / "two"
    assert Path(after["path"]).read_bytes() == Path(before["path"]).read_bytes()
    assert len([r for r in fake_replicate.received("GET") if r.path.startswith("/files/")]) == 1
    # If the earlier run's files are gone, the response is made again.
    for image in (tmp_path / "one").glob("*.png"):
        image.unlink()
    for image in (tmp_path / "two").glob("*.png"):
        image.unlink()
    third = run_config(config, "--output-dir", tmp_path / "three")
    assert not third.cells[0]["cached"] and third.cells[0]["status"] == "passed"


def test_two_processes_share_one_cache(
    fake_replicate: FakeReplicate, tmp_path: Path, run_cli: RunCli
) -> None:
    fake_replicate.add_model("meta/llama", official=True)
    env = reval_env(fake_replicate)
    processes = []
    for name in ("a", "b"):
        config = tmp_path / f"{name}.yaml"
        config.write_text(yaml_text(cases(40, prompt=f"{name} case <<n>>")))
        processes.append(
            subprocess.Popen(
                [REVAL, "run", str(config), "-j", "16", "--no-progress"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                env=env,
            )
        )
    for process in processes:
        assert process.wait(timeout=60) == 0, process.stderr.read() if process.stderr else ""
    with sqlite3.connect(cache_file()) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert db.execute("SELECT COUNT(*) FROM responses").fetchone() == (80,)
    assert "Responses: 80" in run_cli("cache", "info").stdout


def test_cache_info_and_clear(
    fake_replicate: FakeReplicate, run_config: RunConfig, run_cli: RunCli, tmp_path: Path
) -> None:
    fake_replicate.add_model("meta/llama", official=True)
    run_config(cases(2), "--cache-dir", tmp_path / "elsewhere")
    info = run_cli("cache", "info", "--cache-dir", tmp_path / "elsewhere")
    assert info.exit_code == 0
    assert f"Cache:     {tmp_path / 'elsewhere' / 'responses.sqlite3'}" in info.stdout
    assert "Responses: 2" in info.stdout
    cleared = run_cli("cache", "clear", "--cache-dir", tmp_path / "elsewhere")
    assert "Removed 2 cached responses" in cleared.stdout
    assert "Responses: 0" in run_cli("cache", "info", "--cache-dir", tmp_path / "elsewhere").stdout


def test_a_locked_cache_is_a_warning_not_a_lost_result(tmp_path: Path) -> None:
    from replicate_eval.cache import ResponseCache
    from replicate_eval.config.load import load_config
    from replicate_eval.providers.base import ProviderResponse

    config = tmp_path / "c.yaml"
    config.write_text(yaml_text(cases(1)))
    provider = load_config(config, {"REPLICATE_API_TOKEN": "r8_x"}).providers[0]
    cache = ResponseCache(tmp_path / "cache", busy_timeout=0.1)
    key = cache.key(provider, {"prompt": "case 0"})
    holder = sqlite3.connect(cache.path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        cache.put(key, ProviderResponse(output="ok", latency_ms=1.0))  # does not raise
        assert cache.get(key) is None
        assert "database is locked" in " ".join(cache.problems)
        assert list(cache.path.parent.glob("*.corrupt-*")) == []  # locked is not damaged
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    cache.put(key, ProviderResponse(output="ok", latency_ms=1.0))
    hit = cache.get(key)
    assert hit is not None and hit.output == "ok"
    cache.close()
