"""Starting and stopping local Cog model servers: the runtime Replicate runs in production.

For a ``cog:path/to/model`` provider reval runs ``python -m cog.server.http`` (from the ``cog``
and ``coglet`` packages) in the model folder, with ``COG_PREDICT_TYPE_STUB`` naming the
predictor from ``cog.yaml`` and ``PORT`` a free loopback port, then waits for ``/health-check``
to say READY. One server per folder, however many cells use it. Each server is its own process
group, so stopping it also stops the worker process Cog spawns; ``kill_all_now`` is the last
resort when reval itself must exit at once (a second Ctrl-C).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

from replicate_eval.errors import ProviderError
from replicate_eval.stats import RunStats

# Every server this process started and has not stopped yet: process group -> its log file.
_RUNNING: dict[int, Path] = {}


def kill_all_now() -> None:
    """Kill every Cog server still running, without waiting (reval is exiting)."""
    for group, log in list(_RUNNING.items()):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(group, signal.SIGKILL)
        with contextlib.suppress(OSError):
            log.unlink()
        _RUNNING.pop(group, None)


def _die_with_parent() -> None:
    """In the server process, before it starts: be killed if reval dies (Linux)."""
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


@dataclass(frozen=True)
class CogModel:
    """What reval needs from a model folder's cog.yaml."""

    folder: Path
    predictor: str  # file.py:Class
    concurrency: int  # predictions the model runs at once

    @classmethod
    def read(cls, folder: Path) -> CogModel:
        path = folder / "cog.yaml"
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ProviderError(f"cannot read {path}: {exc}") from None
        predictor = data.get("predict") if isinstance(data, dict) else None
        if not isinstance(predictor, str) or ":" not in predictor:
            raise ProviderError(
                f"{path}: `predict:` must name the predictor, e.g. predict.py:Predictor"
            )
        concurrency = data.get("concurrency")
        declared = concurrency.get("max") if isinstance(concurrency, dict) else None
        return cls(folder, predictor, declared if isinstance(declared, int) and declared > 0 else 1)


class CogServer:
    """One running model server."""

    def __init__(self, model: CogModel, *, setup_timeout: float) -> None:
        self.model = model
        self._setup_timeout = setup_timeout
        self._process: asyncio.subprocess.Process | None = None
        # The server's output, for the message when its setup fails.
        descriptor, name = tempfile.mkstemp(prefix="reval-cog-", suffix=".log")
        os.close(descriptor)
        self._log = Path(name)
        self.url = ""

    async def start(self, client: httpx.AsyncClient) -> None:
        port = _free_port()
        self.url = f"http://127.0.0.1:{port}"
        bin_dir = str(Path(sys.executable).parent)
        env = {
            # The model gets reval's environment but not its Replicate settings and token.
            **{k: v for k, v in os.environ.items() if not k.startswith("REPLICATE_")},
            "COG_PREDICT_TYPE_STUB": self.model.predictor,
            "PORT": str(port),
            # Cog starts its worker with the `python` on PATH: make it this environment's.
            "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
            "PYTHONUNBUFFERED": "1",
        }
        with self._log.open("wb") as log:
            self._process = await asyncio.create_subprocess_exec(
                sys.executable,
                *("-m", "cog.server.http", "--host", "127.0.0.1"),
                cwd=self.model.folder,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: stopping it stops its worker
                preexec_fn=_die_with_parent,
            )
        _RUNNING[self._process.pid] = self._log
        await self._wait_until_ready(client)

    async def _wait_until_ready(self, client: httpx.AsyncClient) -> None:
        deadline = time.monotonic() + self._setup_timeout
        status: Any = "not answering"
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.returncode is not None:
                raise self._setup_failed(f"the server exited with code {self._process.returncode}")
            with contextlib.suppress(httpx.HTTPError, ValueError, AttributeError):
                health = (await client.get(f"{self.url}/health-check", timeout=5)).json()
                status = health.get("status")
                if status == "READY":
                    # The port was free when probed; if another server took it first, ours
                    # could not bind and exits: make sure the READY came from ours.
                    await asyncio.sleep(0.2)
                    if self._process.returncode is not None:
                        raise self._setup_failed("its port was taken by another server")
                    return
                if status in ("SETUP_FAILED", "DEFUNCT"):
                    logs = (health.get("setup") or {}).get("logs") or ""
                    raise self._setup_failed(f"setup failed ({status})", logs)
            await asyncio.sleep(0.1)
        raise self._setup_failed(f"not ready after {self._setup_timeout:g} s (status: {status})")

    def _setup_failed(self, what: str, logs: str = "") -> ProviderError:
        # Not clip(): the end of the output says why setup failed, so the start is cut.
        tail = (logs or self.log_text())[-2000:].strip()
        return ProviderError(
            f"the Cog model in {self.model.folder} did not start: {what}."
            + (f" Its output ends with:\n{tail}" if tail else "")
        )

    def log_text(self) -> str:
        with contextlib.suppress(OSError):
            return self._log.read_text(encoding="utf-8", errors="replace")
        return ""

    async def stop(self) -> None:
        process = self._process
        if process is not None:
            if process.returncode is None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(process.pid, signal.SIGTERM)
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(process.wait(), timeout=5)
            # The group may outlive its leader (Cog's worker): make sure all of it is gone.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
            await process.wait()
            _RUNNING.pop(process.pid, None)
        self._remove_log()

    def _remove_log(self) -> None:
        with contextlib.suppress(OSError):
            self._log.unlink()


class CogServers:
    """The run's local Cog servers: started on first use, all stopped at the end."""

    def __init__(self, *, setup_timeout: float = 300.0, stats: RunStats | None = None) -> None:
        self._setup_timeout = setup_timeout
        self._servers: dict[Path, asyncio.Task[CogServer]] = {}
        self._slots: dict[str, asyncio.Semaphore] = {}
        self._sizes: dict[str, int] = {}
        self.client = httpx.AsyncClient(timeout=httpx.Timeout(10.0, read=None))
        self.stats = stats if stats is not None else RunStats()  # the run's: counts predictions

    def slots(self, url: str, concurrency: int) -> asyncio.Semaphore:
        """One semaphore per server, whichever providers share it."""
        if url not in self._slots:
            self._slots[url] = asyncio.Semaphore(concurrency)
            self._sizes[url] = concurrency
        elif self._sizes[url] != concurrency:
            raise ProviderError(
                f"providers of the Cog server {url} ask for different `concurrency` "
                f"({self._sizes[url]} and {concurrency}); give them the same"
            )
        return self._slots[url]

    async def for_folder(self, folder: Path) -> CogServer:
        if folder not in self._servers:
            self._servers[folder] = asyncio.ensure_future(self._start(folder))
        return await asyncio.shield(self._servers[folder])

    async def _start(self, folder: Path) -> CogServer:
        server = CogServer(CogModel.read(folder), setup_timeout=self._setup_timeout)
        try:
            await server.start(self.client)
        except BaseException:
            await server.stop()
            raise
        return server

    async def aclose(self) -> None:
        for task in self._servers.values():
            if not task.done():
                task.cancel()
            try:
                server = await task
            except (Exception, asyncio.CancelledError):
                continue  # it failed to start, and stopped itself
            await server.stop()
        await self.client.aclose()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port
