"""`cog:` providers against real Cog servers (the `cog` and `coglet` packages), no fakes.

The predictors are the quickstart's (configs/cog/) and small ones in tests/fixtures/cog/: a
setup that fails, a prediction that raises, a slow model for timeouts and Ctrl-C.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from replicate_eval.errors import ProviderError
from replicate_eval.providers.cog.server import CogModel, CogServers
from tests.conftest import RunCli, RunConfig, start_reval

ROOT = Path(__file__).parents[2]
FIXTURES = Path(__file__).parents[1] / "fixtures" / "cog"


def cog_servers_running() -> list[int]:
    """PIDs of Cog model servers on this machine (what must not outlive a run)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        # The server, and the worker process it starts for the predictor.
        if b"cog.server.http" in command or b"coglet.server._run_worker" in command:
            found.append(int(entry.name))
    return found


@pytest.fixture(autouse=True)
def no_server_left_behind() -> Iterator[None]:
    before = set(cog_servers_running())
    yield
    deadline = time.monotonic() + 5
    while set(cog_servers_running()) - before and time.monotonic() < deadline:
        time.sleep(0.1)
    assert set(cog_servers_running()) - before == set()


def one(provider: str | dict[str, Any], *prompts: str) -> dict[str, Any]:
    """A config: these prompts (or just `hi`) for one provider entry."""
    return {"prompts": list(prompts or ["hi"]), "providers": [provider]}


def test_the_quickstart_runs_offline(
    run_cli: RunCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Replicate's settings are not a local model's: hello-world takes no temperature.
    monkeypatch.setenv("REPLICATE_TEMPERATURE", "0.7")
    out = tmp_path / "results.json"
    result = run_cli(
        "run", ROOT / "configs" / "quickstart.yaml", "-o", out, "--output-dir", tmp_path / "img"
    )
    assert result.exit_code == 0, result.stdout + result.stderr
    data = json.loads(out.read_text())
    assert data["totals"]["passed"] == data["totals"]["cells"] == 12
    hello = [c for c in data["cells"] if c["provider_label"] == "hello-world"]
    assert {c["output"] for c in hello} >= {"hello world", "hello a friendly fox"}
    assert all(c["input"] == {"text": c["rendered_prompt"]} for c in hello)
    shapes = [c for c in data["cells"] if c["provider_label"] == "shapes"]
    for cell in shapes:
        [image] = cell["images"]
        assert (image["format"], image["width"], image["height"]) == ("png", 320, 240)
        assert image["source"].startswith("data:image/png;base64,")
        assert Path(image["path"]).parent == tmp_path / "img"
    assert data["totals"]["predictions"] == 12


def test_a_running_server_by_url(run_config: RunConfig) -> None:
    async def serve_and_run() -> str:
        servers = CogServers()
        try:
            server = await servers.for_folder((ROOT / "configs" / "cog" / "hello-world").resolve())
            run = await asyncio.to_thread(
                run_config,
                one({"id": f"cog:{server.url}", "prompt_input": "text"}, "there", "again"),
            )
            return " | ".join(str(cell["output"]) for cell in run.cells)
        finally:
            await servers.aclose()

    assert asyncio.run(serve_and_run()) == "hello there | hello again"


def test_no_server_at_the_url(run_config: RunConfig) -> None:
    run = run_config(one("cog:http://127.0.0.1:9"))
    assert run.cells[0]["error"].startswith("no Cog server answers at http://127.0.0.1:9")


def test_a_setup_that_fails_shows_the_models_logs(run_config: RunConfig) -> None:
    run = run_config(one(f"cog:{FIXTURES / 'broken-setup'}", "a", "b"))
    assert run.result.exit_code == 100
    errors = [cell["error"] for cell in run.cells]
    assert all("did not start: setup failed" in e or "did not start" in e for e in errors)
    assert all("weights.safetensors is missing" in e for e in errors)


def test_a_prediction_that_raises_is_that_cells_error(
    run_config: RunConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REPLICATE_API_TOKEN", "r8_not_for_local_models")
    run = run_config(one(f"cog:{FIXTURES / 'raises'}", "fine", "boom", "token?"))
    fine, boom, token = run.cells
    assert (fine["status"], fine["output"]) == ("passed", "FINE")
    assert boom["status"] == "error"
    assert boom["error"].startswith("prediction failed: ")
    assert "Prediction failed" not in boom["error"] and "cannot handle boom" in boom["error"]
    assert token["output"] == "token visible: False"  # the model does not get reval's token


def test_one_prediction_at_a_time_without_busy_errors(
    run_config: RunConfig, tmp_path: Path
) -> None:
    log = tmp_path / "runs.log"
    provider = {"id": f"cog:{FIXTURES / 'slow'}", "seconds": 0.3, "log_to": str(log)}
    run = run_config(one(provider, "a", "b", "c", "d"), "-j", "4")
    assert [cell["status"] for cell in run.cells] == ["passed"] * 4, run.cells
    spans = sorted(tuple(map(float, line.split())) for line in log.read_text().splitlines())
    assert len(spans) == 4
    assert all(end <= next_start for (_, end), (next_start, _) in itertools.pairwise(spans))


def test_a_timeout_cancels_and_frees_the_model_for_the_next_cell(run_config: RunConfig) -> None:
    slow = FIXTURES / "slow"
    run = run_config(
        {
            "prompts": ["hi"],
            "providers": [
                {"id": f"cog:{slow}", "label": "stuck", "timeout": 1, "seconds": 3},
                {"id": f"cog:{slow}", "label": "quick", "seconds": 0.1},
            ],
        },
        "-j",
        "1",
    )
    stuck, quick = run.cells
    assert stuck["error"].startswith("timed out after 1 s; reval ")
    assert quick["status"] == "passed", quick  # the server was free again, not "busy"


def test_a_missing_runtime_says_how_to_install_it(
    write_config: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib.util

    from replicate_eval.config.load import load_config
    from replicate_eval.errors import ConfigError

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "coglet" else real(name, *a)
    )
    path = write_config(one(f"cog:{FIXTURES / 'raises'}"))
    with pytest.raises(ConfigError, match=r"pip install 'replicate-eval\[cog\]'"):
        load_config(path, {})


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_interrupting_stops_the_local_server(
    write_config: Callable[..., Path], tmp_path: Path, stop: signal.Signals
) -> None:
    config = write_config(one(f"cog:{FIXTURES / 'slow'}", "a", "b"))
    out = tmp_path / "results.json"
    process = start_reval(
        "run", config, "-o", out, "--no-progress", env=os.environ.copy(), cwd=tmp_path
    )
    try:
        deadline = time.monotonic() + 30
        while not cog_servers_running():
            assert time.monotonic() < deadline, "the Cog server never started"
            time.sleep(0.1)
        time.sleep(1.5)  # the server is up and the first prediction is running
        process.send_signal(stop)
        _, stderr = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 130, stderr
    assert json.loads(out.read_text())["complete"] is False
    # no_server_left_behind checks that the server (and its worker) are gone


def test_cells_share_one_queue_per_server() -> None:
    async def check() -> None:
        servers = CogServers()
        try:
            first = servers.slots("http://127.0.0.1:5000", 1)
            assert servers.slots("http://127.0.0.1:5000", 1) is first
            assert servers.slots("http://127.0.0.1:5001", 2) is not first
            with pytest.raises(ProviderError, match="ask for different `concurrency`"):
                servers.slots("http://127.0.0.1:5000", 4)
        finally:
            await servers.aclose()

    asyncio.run(check())


def test_a_cog_yaml_with_odd_values(tmp_path: Path) -> None:
    (tmp_path / "cog.yaml").write_text("predict: predict.py:Predictor\nconcurrency: 4\n")
    assert CogModel.read(tmp_path).concurrency == 1
    (tmp_path / "cog.yaml").write_text("predict: 42\n")
    with pytest.raises(ProviderError, match="`predict:` must name the predictor"):
        CogModel.read(tmp_path)
