"""Reading a file a config names: regular files only, at most a size limit, UTF-8 text.

``Path.read_text`` would block forever on a FIFO, read /dev/zero until memory runs out, and
read a several-GB file whole. Here the file is opened without blocking, checked with
``fstat``, and read with a bounded ``read``.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from replicate_eval.errors import ConfigError


class UnreadableFile(ConfigError):
    """Why a file cannot be used; ``str()`` is a short reason, e.g. ``is a directory``."""


def read_text(path: Path, *, limit: int, encoding: str = "utf-8", nul_ok: bool = True) -> str:
    """The file's text. Raises UnreadableFile with the reason (naming a line when it can)."""
    try:
        # O_NONBLOCK: opening a FIFO without a writer would otherwise wait forever.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise UnreadableFile("no such file") from None
    except IsADirectoryError:
        raise UnreadableFile("is a directory, not a file") from None
    except OSError as exc:
        raise UnreadableFile(exc.strerror or str(exc)) from None
    except ValueError:  # a NUL in the name
        raise UnreadableFile("is not a valid file name") from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise UnreadableFile("is a directory, not a file")
        if not stat.S_ISREG(info.st_mode):
            raise UnreadableFile("is not a regular file (a device, FIFO or socket)")
        if info.st_size > limit:
            raise UnreadableFile(_too_large(limit))
        with os.fdopen(fd, "rb", closefd=False) as file:
            data = file.read(limit + 1)  # the size can change under us: read at most this
    except OSError as exc:
        raise UnreadableFile(exc.strerror or str(exc)) from None
    finally:
        os.close(fd)
    if len(data) > limit:
        raise UnreadableFile(_too_large(limit))
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise UnreadableFile(f"is not UTF-8 text (line {line})") from None
    if not nul_ok and "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise UnreadableFile(f"contains a NUL byte (line {line}); it must be text")
    return text


def _too_large(limit: int) -> str:
    return f"is larger than {limit // (1024 * 1024)} MiB, reval's limit for this file"
