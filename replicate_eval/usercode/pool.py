"""Running a config's Python code in worker processes, with a time limit per call.

A ``python`` assertion is the user's code: it may ``exit(0)``, raise ``KeyboardInterrupt``, loop
forever or sleep. Run in reval's process it could end the run with its own exit code (a green
build for a failing eval) or block the event loop, so that Ctrl-C is ignored and predictions are
left running. Here each call goes to a worker process (``worker.py``) and comes back as a verdict
or a problem; a worker that overruns its limit is killed and replaced, one that dies is replaced.

Workers start on first use, run in their own session (the terminal's Ctrl-C reaches reval only)
and die with reval. A ``file://`` module is imported once per worker before its first call, under
the same limit; a module that cannot be imported fails its checks at once, without trying again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import pickle
import signal
import struct
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from replicate_eval.usercode.limits import DEFAULT_TIME_LIMIT
from replicate_eval.usercode.worker import CheckProblem, PythonSource

# The worker sees reval's own import path (PYTHONPATH included) and nothing from the current
# folder that could shadow the standard library.
_BOOT = (
    "import json, sys; sys.path[:0] = json.loads(sys.argv[1]); "
    "from replicate_eval.usercode.worker import main; main()"
)


def default_size() -> int:
    return max(2, min(4, os.cpu_count() or 2))


@dataclass(frozen=True)
class CheckAnswer:
    passed: bool
    reason: str
    score: float | None


@dataclass
class _Worker:
    process: asyncio.subprocess.Process
    loaded: set[PythonSource] = field(default_factory=set)
    expired: bool = False  # killed for overrunning its time limit
    killed: bool = False  # never to be used again (it may not be reaped yet)

    @property
    def alive(self) -> bool:
        return self.process.returncode is None and not self.killed

    def kill(self) -> None:
        """The worker and whatever its code started: it leads its own process group."""
        self.killed = True
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            self.process.kill()


class UserCodePool:
    """At most ``size`` workers; callers wait for a free one."""

    def __init__(self, *, size: int | None = None, time_limit: float = DEFAULT_TIME_LIMIT) -> None:
        self.time_limit = time_limit
        self._size = size or default_size()
        self._idle: asyncio.Queue[_Worker | None] | None = None
        self._workers: list[_Worker] = []
        self._broken: dict[PythonSource, str] = {}  # modules that could not be imported

    async def check(
        self,
        source: PythonSource,
        output: Any,
        variables: Mapping[str, Any],
        context: dict[str, Any],
        threshold: float | None,
    ) -> CheckAnswer:
        """The verdict of ``source`` on ``output``. Raises CheckProblem when the code raised,
        exited, overran the time limit or killed its process."""
        request = ("check", source, output, dict(variables), context, threshold)
        passed, reason, score = await self._run(source, request)
        return CheckAnswer(bool(passed), str(reason), score)

    async def transform(
        self,
        source: PythonSource,
        output: Any,
        variables: Mapping[str, Any],
        context: dict[str, Any],
    ) -> Any:
        """What ``source`` makes of ``output`` (a JSON value). Raises CheckProblem as ``check``
        does, and when the code returned None or something JSON cannot hold."""
        return await self._run(source, ("transform", source, output, dict(variables), context))

    async def _run(self, source: PythonSource, request: tuple[Any, ...]) -> Any:
        if source in self._broken:
            raise CheckProblem(self._broken[source])
        idle = self._queue()
        worker = await idle.get()
        try:
            if worker is None or not worker.alive:
                worker = await self._start()
            if source.form == "file" and source not in worker.loaded:
                try:
                    await self._call(worker, ("load", source), what=f"importing {source.code}")
                except CheckProblem as problem:
                    self._broken[source] = str(problem)
                    raise
                worker.loaded.add(source)
            wanted = "a value" if request[0] == "transform" else "a verdict"
            return await self._call(worker, request, what=f"`{source.label}`", wanted=wanted)
        finally:
            idle.put_nowait(worker if worker is not None and worker.alive else None)

    async def aclose(self) -> None:
        """Stop every worker (they would also die with reval)."""
        for worker in self._workers:
            worker.kill()
        for worker in self._workers:
            with contextlib.suppress(ProcessLookupError, ChildProcessError):
                await worker.process.wait()
        self._workers.clear()

    def _queue(self) -> asyncio.Queue[_Worker | None]:
        if self._idle is None:  # made in the running loop, on first use
            self._idle = asyncio.Queue()
            for _ in range(self._size):
                self._idle.put_nowait(None)
        return self._idle

    async def _start(self) -> _Worker:
        try:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-I",
                "-c",
                _BOOT,
                json.dumps(sys.path),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.DEVNULL,
                start_new_session=True,
            )
        except OSError as exc:
            raise CheckProblem(f"could not start a process for Python checks: {exc}") from None
        worker = _Worker(process)
        self._workers = [w for w in self._workers if w.process.returncode is None]
        self._workers.append(worker)
        return worker

    async def _call(
        self, worker: _Worker, request: tuple[Any, ...], *, what: str, wanted: str = "a verdict"
    ) -> Any:
        process = worker.process
        assert process.stdin is not None and process.stdout is not None
        try:
            payload = pickle.dumps(request, protocol=pickle.HIGHEST_PROTOCOL)
        except (pickle.PicklingError, TypeError, AttributeError, RecursionError) as exc:
            raise CheckProblem(f"{what} could not be given its inputs ({exc})") from None
        timer = asyncio.get_running_loop().call_later(self.time_limit, _expire, worker)
        try:
            process.stdin.write(struct.pack(">I", len(payload)) + payload)
            await process.stdin.drain()
            (size,) = struct.unpack(">I", await process.stdout.readexactly(4))
            reply: dict[str, Any] = json.loads(await process.stdout.readexactly(size))
        except (asyncio.IncompleteReadError, ConnectionError, BrokenPipeError):
            worker.kill()
            raise CheckProblem(await self._why_ended(worker, what, wanted)) from None
        except BaseException:
            worker.kill()  # interrupted mid-call: the worker's state is unknown
            raise
        finally:
            timer.cancel()
        if "problem" in reply:
            raise CheckProblem(str(reply["problem"]))
        return reply["ok"]

    async def _why_ended(self, worker: _Worker, what: str, wanted: str) -> str:
        if worker.expired:
            return f"{what} did not finish within {self.time_limit:g} s (--check-timeout); stopped"
        code = await worker.process.wait()
        return f"{what} ended its process (exit status {code}) instead of returning {wanted}"


def _expire(worker: _Worker) -> None:
    worker.expired = True
    worker.kill()
