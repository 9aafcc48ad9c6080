"""Running one hostile case: a temp folder, its own fake Replicate, the `reval` command, a clock.

A case runs as a real `reval` process (the virtualenv's console script) in a new session, so
that a hang is ended by killing its whole process group and a signal reaches it as a terminal's
Ctrl-C would. `run_in_process` runs the same case through typer's CliRunner instead, for the
cases that cannot exit, hang or need signals (pytest uses it to stay fast).
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from typer.testing import CliRunner

from tests.fake_replicate import FakeReplicate
from tests.hostile.case import Case, FileContent, Folder, Link, Sparse

REVAL = str(Path(sys.executable).with_name("reval"))
MEMORY_LIMIT = 4 << 30  # a "billion laughs" must not take the machine down with it
# Seconds of CPU a case's reval process may burn (a run of these cases needs about one): a
# process spinning (a backtracking regex, an endless loop) is a hang without waiting the whole
# wall-clock limit with a core taken from the other cases.
CPU_LIMIT = 5
SCAN_LIMIT = 64 << 20  # bytes of each written file searched for tokens
# The environment children start from, taken once: in-process cases change os.environ for a
# moment (CliRunner's env), and a child started meanwhile by another thread must not see it.
BASE_ENV = {k: v for k, v in os.environ.items() if not k.startswith(("REPLICATE_", "REVAL_"))}


@dataclass
class Observed:
    """What a case did: its exit code (None: killed at the time limit), output and files."""

    exit_code: int | None
    stdout: str
    stderr: str
    seconds: float
    written: dict[str, bytes]  # files reval wrote, by path under the case folder (work/, home/)
    predictions: int  # predictions the fake created


@contextmanager
def case_folder(case: Case) -> Iterator[tuple[Path, Path]]:
    """A fresh folder with the case's files in ``work/`` and an empty ``home/``."""
    with tempfile.TemporaryDirectory(prefix="reval-hostile-") as tmp:
        root = Path(tmp)
        work, home = root / "work", root / "home"
        work.mkdir()
        home.mkdir()
        for name, content in case.files.items():
            _write(work / name, content)
        yield work, home


def _write(path: Path, content: FileContent) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, Folder):
        path.mkdir(exist_ok=True)
    elif isinstance(content, Link):
        path.symlink_to(content.target)
    elif isinstance(content, Sparse):
        with path.open("wb") as file:
            file.truncate(content.size)
    elif isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")


def started_fake(case: Case) -> FakeReplicate:
    # A short hold cap reaches the polling path in a second, as in tests/conftest.py.
    fake = FakeReplicate(hold_cap=1.0).start()
    for set_up in case.fake:
        set_up(fake)
    return fake


def child_environment(case: Case, fake: FakeReplicate, home: Path) -> dict[str, str | None]:
    """The changes to the environment: the fake's URL and token, an empty home, the case's own."""
    changes: dict[str, str | None] = {
        name: None for name in os.environ if name.startswith(("REPLICATE_", "REVAL_"))
    }  # for in-process runs; children start from BASE_ENV
    changes.update(
        HOME=str(home),
        XDG_CACHE_HOME=str(home / ".cache"),
        XDG_DATA_HOME=str(home / ".local" / "share"),
        NO_COLOR="1",
        COLUMNS="200",
        GITHUB_STEP_SUMMARY=None,
        REPLICATE_BASE_URL=fake.url,
        REPLICATE_API_TOKEN=fake.token,
    )
    changes.update(case.env)
    return changes


def observe(case: Case, *, in_process: bool = False, timeout: float | None = None) -> Observed:
    """Run a case (in a process unless ``in_process``) and collect what it did."""
    fake = started_fake(case)
    try:
        with case_folder(case) as (work, home):
            changes = child_environment(case, fake, home)
            begun = time.monotonic()
            if in_process:
                code, out, err = _in_process(case, work, changes)
            else:
                code, out, err = _in_child(case, work, changes, fake, timeout or case.timeout)
            seconds = time.monotonic() - begun
            written = _written_files(case, work.parent)
            return Observed(code, out, err, seconds, written, len(fake.predictions))
    finally:
        _close(fake)


def _close(fake: FakeReplicate) -> None:
    """Stop serving, but keep the fake's address: a request it still holds (a stall) wakes up
    later and must not fail on ``fake.url`` in a server thread (fake.stop() forgets it)."""
    server = fake._server
    if server is not None:
        server.shutdown()
        server.server_close()


# --- a real process ------------------------------------------------------------------------
def _limits() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    resource.setrlimit(resource.RLIMIT_CPU, (CPU_LIMIT, CPU_LIMIT + 1))


def _in_child(
    case: Case, work: Path, changes: Mapping[str, str | None], fake: FakeReplicate, limit: float
) -> tuple[int | None, str, str]:
    env = {k: v for k, v in {**BASE_ENV, **changes}.items() if v is not None}
    logs = work.parent / "logs"
    logs.mkdir()
    pipe = case.action in ("close-stdout", "head-1")
    with (logs / "stdout").open("wb") as out_file, (logs / "stderr").open("wb") as err_file:
        process = subprocess.Popen(
            [REVAL, *case.args],
            cwd=work,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE if pipe else out_file,
            stderr=err_file,
            start_new_session=True,
            preexec_fn=_limits,
        )
        deadline = time.monotonic() + limit
        head = b""
        try:
            if pipe:
                head = _read_then_close(process, case.action == "head-1")
            elif case.action:
                _signal_when(case.action, process, fake, deadline)
            code: int | None = process.wait(timeout=max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            code = None
        finally:
            _kill_group(process)
    out = head.decode("utf-8", "replace") + (logs / "stdout").read_text("utf-8", "replace")
    return code, out, (logs / "stderr").read_text("utf-8", "replace")


def _read_then_close(process: subprocess.Popen[bytes], one_line: bool) -> bytes:
    """`| head -1` reads a line and goes; a closed stdout is gone before anything is written."""
    assert process.stdout is not None
    line = process.stdout.readline() if one_line else b""
    process.stdout.close()
    return line


def _signal_when(
    action: str, process: subprocess.Popen[bytes], fake: FakeReplicate, deadline: float
) -> None:
    """``sigint@0.3`` (seconds after start), ``sigterm@create`` (once a create arrived),
    ``sigint@create4`` (four creates), ``sigint@schema`` (a model fetched), ``sigint2@...``
    (twice, 0.3 s apart), ``...+1.5`` (that long after the event)."""
    name, _, when = action.partition("@")
    when, _, extra = when.partition("+")
    twice = name.endswith("2")
    number = {"sigint": signal.SIGINT, "sigterm": signal.SIGTERM, "sighup": signal.SIGHUP}[
        name.rstrip("2")
    ]
    condition = _event(when, fake, process.pid)
    while not condition() and process.poll() is None:
        if time.monotonic() > deadline:
            return
        time.sleep(0.02)
    time.sleep(float(extra or 0))
    for _ in range(2 if twice else 1):
        if process.poll() is not None:
            return
        os.killpg(process.pid, number)
        time.sleep(0.3)


def _event(when: str, fake: FakeReplicate, pid: int) -> Callable[[], bool]:
    if when == "imports":  # reval has started importing its libraries (pydantic's core loaded)
        return lambda: _has_loaded(pid, "pydantic_core")
    if when.startswith("create"):
        count = int(when.removeprefix("create") or 1)
        return lambda: sum(r.path.endswith("/predictions") for r in fake.received("POST")) >= count
    if when == "schema":
        return lambda: any(r.path.startswith("/v1/models/") for r in fake.received("GET"))
    start, delay = time.monotonic(), float(when)
    return lambda: time.monotonic() - start >= delay


def _has_loaded(pid: int, library: str) -> bool:
    try:
        return library in Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return False


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


# --- in-process ----------------------------------------------------------------------------
def _in_process(
    case: Case, work: Path, changes: Mapping[str, str | None]
) -> tuple[int | None, str, str]:
    """typer's CliRunner, as tests/conftest.py runs reval; an exception is what the console
    script's entry point would report as an internal error."""
    from replicate_eval.cli import app

    before = Path.cwd()
    os.chdir(work)
    try:
        result = CliRunner().invoke(app, list(case.args), env=dict(changes), catch_exceptions=True)
    finally:
        os.chdir(before)
        _forget_failed_writes()
    stderr = result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        exc = result.exception
        stderr += f"internal error: {type(exc).__name__}: {exc}\n"
        return 1, result.stdout, stderr
    return result.exit_code, result.stdout, stderr


def _forget_failed_writes() -> None:
    """A write that failed (a lone surrogate, say) stays in Rich's buffer of reval's consoles,
    and every later print of this process would fail on it again: only a process forgets."""
    from replicate_eval.cli import common

    for console in (common.stdout, common.stderr):
        console._buffer.clear()


# --- what was written ----------------------------------------------------------------------
def _written_files(case: Case, root: Path) -> dict[str, bytes]:
    """Every regular file under the case's folder and home but the case's own inputs."""
    inputs = {Path("work") / name for name in case.files}
    found: dict[str, bytes] = {}
    for folder, _, files in os.walk(root):
        here = Path(folder).relative_to(root)
        if here.parts[:1] == ("logs",):
            continue
        for name in files:
            relative = here / name
            path = root / relative
            if relative in inputs or path.is_symlink() or not path.is_file():
                continue
            with path.open("rb") as file:
                found[str(relative)] = file.read(SCAN_LIMIT)
    return found
