"""reval's standard streams: tokens masked in everything written, and a closed pipe no
reason to stop (``reval run ... | head`` finishes the run, writes its files, keeps its code)."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable
from typing import TextIO

from replicate_eval.redact import REDACT


class TerminalStream:
    """What reval writes to a standard stream: tokens masked, and a closed pipe (`reval run |
    head`) no reason to stop: the run goes on, writes its files and exits with its own code."""

    def __init__(self, stream: Callable[[], TextIO]) -> None:
        self._stream = stream
        self.closed_pipe = False

    def write(self, text: str) -> int:
        if not self.closed_pipe:
            stream = self._stream()
            masked = REDACT(text)
            try:
                stream.write(masked)
            except BrokenPipeError:
                self._drop()
            except OSError as exc:  # a full disk, an I/O error: the same, and said once
                self._drop(exc)
            except UnicodeEncodeError:  # an ASCII terminal (LANG=C): show what it can
                encoding = getattr(stream, "encoding", None) or "ascii"
                stream.write(masked.encode(encoding, "replace").decode(encoding))
        return len(text)

    def flush(self) -> None:
        if not self.closed_pipe:
            try:
                self._stream().flush()
            except BrokenPipeError:
                self._drop()
            except OSError as exc:
                self._drop(exc)

    def _drop(self, problem: OSError | None = None) -> None:
        """Whatever is still buffered, and everything after, goes nowhere (no error at exit).
        A stream that fails for another reason than a closed pipe (`> /dev/full`) is named on
        the other stream: the results files are still written, and the exit code is the run's."""
        self.closed_pipe = True
        stream = self._stream()
        if problem is not None:
            other = sys.__stderr__ if stream is not sys.__stderr__ else None
            with contextlib.suppress(OSError, ValueError, AttributeError):
                if other is not None:
                    other.write(
                        f"warning: cannot write to the output ({problem.strerror}); "
                        "going on without it\n"
                    )
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), stream.fileno())

    def isatty(self) -> bool:
        return self._stream().isatty()

    def fileno(self) -> int:
        return self._stream().fileno()

    @property
    def encoding(self) -> str:
        return getattr(self._stream(), "encoding", None) or "utf-8"


def current_stream(name: str) -> Callable[[], TextIO]:
    """The stream as it is when written to (tests swap them), not Rich's own stand-in for it
    while a spinner runs, which would send the text back to the console it came from."""

    def stream() -> TextIO:
        found = getattr(sys, name)
        proxied: TextIO = getattr(found, "rich_proxied_file", found)
        return proxied

    return stream


def fixed_stream(stream: TextIO) -> Callable[[], TextIO]:
    return lambda: stream
