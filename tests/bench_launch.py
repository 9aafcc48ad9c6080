"""Child processes of the benchmark, timed and measured for peak RSS by a small launcher.

Linux keeps a process's peak RSS across exec, and a forked child starts with its parent's
memory: a `reval` forked from the benchmark, which holds the fake server and grows from one
scenario to the next, would report the benchmark's size as its own (109 MB for 10 cases). A
launcher process, itself small, forks the children instead, so their peaks are theirs.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from dataclasses import dataclass

_LAUNCHER = r"""
import json, os, subprocess, sys, time
for line in sys.stdin:
    job = json.loads(line)
    started = time.perf_counter()
    child = subprocess.Popen(
        job["command"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=job["env"]
    )
    errors = child.stderr.read()
    _, status, usage = os.wait4(child.pid, 0)
    print(json.dumps({
        "seconds": time.perf_counter() - started,
        "rss_mb": usage.ru_maxrss / 1024,
        "code": os.waitstatus_to_exitcode(status),
        "stderr": errors.decode(errors="replace")[-4000:],
    }), flush=True)
"""


@dataclass(frozen=True)
class Finished:
    seconds: float  # the whole child process, as a user would time it
    rss_mb: float  # its peak resident memory
    code: int
    stderr: str


class Launcher:
    def __init__(self) -> None:
        self._process: subprocess.Popen[str] | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        """Start it early, while this process is small (the launcher's own size is inherited)."""
        if self._process is None:
            self._process = subprocess.Popen(
                [sys.executable, "-c", _LAUNCHER],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )

    def run(self, command: list[str], env: dict[str, str]) -> Finished:
        self.start()
        process = self._process
        assert process is not None and process.stdin and process.stdout
        with self._lock:
            process.stdin.write(json.dumps({"command": command, "env": env}) + "\n")
            process.stdin.flush()
            answer = process.stdout.readline()
        if not answer:
            raise SystemExit(f"the benchmark's launcher died running {command}")
        return Finished(**json.loads(answer))


LAUNCHER = Launcher()
