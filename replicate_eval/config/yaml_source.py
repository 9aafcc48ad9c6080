"""Reading a YAML config while remembering where each key was written.

PyYAML's ``safe_load`` forgets line numbers and silently keeps the last of two equal keys. We
compose the node tree ourselves (``yaml_loader``: bounded depth, aliases and values) so that
every error can name ``file:line``, then construct plain Python data from the same tree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from replicate_eval.config.limits import MAX_CONFIG_FILE_BYTES
from replicate_eval.config.text_files import UnreadableFile, read_text
from replicate_eval.config.yaml_loader import BoundedLoader, Refused, yaml_error_line
from replicate_eval.errors import ConfigError

Loc = tuple[str | int, ...]

# What YAML allows in a file (YAML 1.1, 5.1): no NUL and no other control characters.
_NOT_YAML = re.compile("[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


class YamlError(ConfigError):
    """The file cannot be read as YAML; ``where`` is ``file:line``, ``detail`` what is wrong."""

    def __init__(self, where: str, detail: str) -> None:
        super().__init__(f"{where}: {detail}")
        self.where = where
        self.detail = detail


@dataclass(frozen=True)
class RefusedValue:
    """A value the file holds that reval refuses (a ``.nan``, a 5000-digit number...)."""

    loc: Loc
    line: int
    message: str


@dataclass(frozen=True)
class YamlDocument:
    path: Path
    data: Any
    lines: dict[Loc, int] = field(default_factory=dict)
    refused: tuple[RefusedValue, ...] = ()

    def line_of(self, loc: Loc) -> int | None:
        """The line of the longest prefix of ``loc`` that appears in the file (1-based)."""
        for end in range(len(loc), -1, -1):
            line = self.lines.get(loc[:end])
            if line is not None:
                return line
        return None


def read_yaml(path: Path) -> YamlDocument:
    try:
        text = read_text(path, limit=MAX_CONFIG_FILE_BYTES)
    except UnreadableFile as exc:
        reason = str(exc)
        raise ConfigError(
            f"{path}: {reason}."
            if reason == "no such file"
            else f"{path}: cannot read it: {reason}."
        ) from None
    doc = parse_yaml(text, path)
    if doc is None:
        raise ConfigError(
            f"{path}: the file is empty; it needs at least `prompts` and `providers`."
        )
    return doc


def parse_yaml(text: str, path: Path) -> YamlDocument | None:
    """The document in ``text`` (None when empty). Raises ConfigError naming ``path:line``."""
    bad = _NOT_YAML.search(text)
    if bad:
        line = text.count("\n", 0, bad.start()) + 1
        char = bad.group()
        what = "a NUL byte" if char == "\x00" else f"the control character U+{ord(char):04X}"
        raise YamlError(
            f"{path}:{line}",
            f"contains {what}, which a YAML file cannot hold "
            f"(in a double-quoted string, write it as the escape \\u{ord(char):04x})",
        )
    loader = BoundedLoader(text)
    try:
        node = loader.single_node()
        if node is None:
            return None
        data = loader.construct_document(node)
    except Refused as exc:
        raise YamlError(f"{path}:{exc.line}", f"{exc.message}.") from None
    except yaml.YAMLError as exc:
        at_line, column, problem = yaml_error_line(exc)
        where = f"{path}:{at_line}:{column}" if at_line else str(path)
        raise YamlError(where, f"this is not valid YAML ({problem}).") from None
    except RecursionError:  # a merge chain PyYAML flattens recursively
        raise YamlError(str(path), "values are nested too deeply to read.") from None
    finally:
        loader.dispose()
    lines: dict[Loc, int] = {(): node.start_mark.line + 1}
    found: list[RefusedValue] = []
    _index(node, (), lines, loader.refused, found, set())
    return YamlDocument(path=path, data=data, lines=lines, refused=tuple(found))


def _index(
    node: yaml.Node,
    loc: Loc,
    lines: dict[Loc, int],
    refused: dict[int, str],
    found: list[RefusedValue],
    seen: set[int],
) -> None:
    """Record the line of every key path; each node's inside is visited once, so an alias
    costs one entry (its inside is reported at the anchor) and cannot recurse."""
    if id(node) in seen:
        return
    seen.add(id(node))
    why = refused.get(id(node))
    if why is not None:  # constructed as None: nothing inside to index
        found.append(RefusedValue(loc, node.start_mark.line + 1, why))
        return
    if isinstance(node, yaml.MappingNode):
        # After construction, merged (`<<:`) pairs come first and the mapping's own after.
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                continue
            child: Loc = (*loc, key_node.value)
            lines[child] = key_node.start_mark.line + 1
            _index(value_node, child, lines, refused, found, seen)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            child = (*loc, index)
            lines[child] = item.start_mark.line + 1
            _index(item, child, lines, refused, found, seen)
