"""Globs in ``file://`` prompt references (``prompts/*.txt``, ``prompts/**/*.md``), bounded.

``glob.glob`` would walk the whole file system for ``file:///**/*.txt`` and follow symlinked
directories into loops. Here the walk counts the directory entries it looks at and stops past
``MAX_GLOB_ENTRIES``; ``**`` does not follow symlinked directories. As in ``glob``, wildcards
do not match names starting with a dot, and only files match.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterator
from fnmatch import fnmatchcase
from pathlib import Path

from replicate_eval.config.limits import MAX_GLOB_ENTRIES
from replicate_eval.errors import ConfigError


class GlobTooWide(ConfigError):
    """The pattern would look at more than MAX_GLOB_ENTRIES directory entries."""


def has_magic(pattern: str) -> bool:
    return glob.has_magic(pattern)


def matching_files(pattern: str, base_dir: Path) -> list[Path]:
    """The files ``pattern`` (relative to ``base_dir`` unless absolute) matches, sorted.

    Raises GlobTooWide."""
    full = Path(pattern) if Path(pattern).is_absolute() else base_dir / pattern
    parts = full.parts
    fixed = next((i for i, part in enumerate(parts) if glob.has_magic(part)), len(parts))
    start = Path(*parts[:fixed]) if fixed else Path()
    try:
        return sorted(set(_Walk().matches(start, parts[fixed:])))
    except ValueError:  # a NUL in the pattern: no file has such a name
        return []


class _Walk:
    def __init__(self) -> None:
        self.entries = 0

    def _scan(self, folder: Path) -> list[os.DirEntry[str]]:
        try:
            with os.scandir(folder) as found:
                entries = []
                for entry in found:
                    self.entries += 1
                    if self.entries > MAX_GLOB_ENTRIES:
                        raise GlobTooWide
                    entries.append(entry)
                return entries
        except OSError:  # not a folder, or unreadable: nothing matches there
            return []

    def matches(self, folder: Path, parts: tuple[str, ...]) -> Iterator[Path]:
        if not parts:
            if _is_file(folder):
                yield folder
            return
        part, rest = parts[0], parts[1:]
        if part == "**":
            yield from self.matches(folder, rest)  # `**` may stand for no folder at all
            for entry in self._scan(folder):
                if entry.name.startswith("."):
                    continue
                if _is_dir(entry):
                    yield from self.matches(Path(entry.path), parts)
                elif not rest and _is_file(Path(entry.path)):  # a final `**` matches files too
                    yield Path(entry.path)
            return
        if not glob.has_magic(part):
            yield from self.matches(folder / part, rest)
            return
        for entry in self._scan(folder):
            if _hidden(entry.name, part) or not fnmatchcase(entry.name, part):
                continue
            yield from self.matches(Path(entry.path), rest)


def _hidden(name: str, part: str) -> bool:
    return name.startswith(".") and not part.startswith(".")


# Unreadable entries (permissions, vanished files) match nothing, like glob's.
def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except OSError:
        return False


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir(follow_symlinks=False)
    except OSError:
        return False
