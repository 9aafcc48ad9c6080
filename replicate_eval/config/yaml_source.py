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
        builder = _Builder(loader)
        data = builder.build(node, ())
    except Refused as exc:
        raise YamlError(f"{path}:{exc.line}", f"{exc.message}.") from None
    except yaml.YAMLError as exc:
        at_line, column, problem = yaml_error_line(exc)
        where = f"{path}:{at_line}:{column}" if at_line else str(path)
        raise YamlError(where, f"this is not valid YAML ({problem}).") from None
    finally:
        loader.dispose()
    builder.lines[()] = node.start_mark.line + 1
    return YamlDocument(path=path, data=data, lines=builder.lines, refused=tuple(builder.refused))


_STR = "tag:yaml.org,2002:str"
_SEQ = "tag:yaml.org,2002:seq"
_MAP = "tag:yaml.org,2002:map"
_MERGE = "tag:yaml.org,2002:merge"


class _Builder:
    """Python data from the node tree, noting the line of every key path on the way.

    Replaces PyYAML's constructor (generators, a second walk to find lines): one recursive
    pass (depth is bounded by the loader), each node built once, so an alias shares the value
    built at its anchor, as in PyYAML, and costs one step. Merges (``<<: *defaults``) follow
    YAML: the mapping's own keys win, then the first merged mapping.
    """

    def __init__(self, loader: BoundedLoader) -> None:
        self.loader = loader
        self.constructors = loader.yaml_constructors
        self.lines: dict[Loc, int] = {}
        self.refused: list[RefusedValue] = []
        self.built: dict[int, Any] = {}

    def build(self, node: yaml.Node, loc: Loc) -> Any:
        known = id(node)
        if known in self.built:
            return self.built[known]
        if isinstance(node, yaml.ScalarNode):
            value = self._scalar(node, loc)
        elif node.tag not in (_SEQ, _MAP):  # !!omap, !!pairs, !!set: no JSON form
            self._refuse(node, loc, f"`{node.tag.rsplit(':', 1)[-1]}` values are not supported")
            value = None
        elif isinstance(node, yaml.SequenceNode):
            value = []
            for index, item in enumerate(node.value):
                child = (*loc, index)
                self.lines[child] = item.start_mark.line + 1
                value.append(self.build(item, child))
        else:
            assert isinstance(node, yaml.MappingNode)
            value = self._mapping(node, loc)
        self.built[known] = value
        return value

    def _scalar(self, node: yaml.ScalarNode, loc: Loc) -> Any:
        if node.tag == _STR:
            return node.value
        construct = self.constructors.get(node.tag) or self.constructors[None]
        value = construct(self.loader, node)
        why = self.loader.refused.pop(id(node), None)
        if why is not None:
            self._refuse(node, loc, why)
        return value

    def _mapping(self, node: yaml.MappingNode, loc: Loc) -> dict[Any, Any]:
        value: dict[Any, Any] = {}
        own = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                self._merge(value, value_node, loc)
            else:
                own.append((key_node, value_node))
        for key_node, value_node in own:
            if not isinstance(key_node, yaml.ScalarNode):
                raise Refused(
                    key_node.start_mark.line + 1, "a key must be text or a number, not a collection"
                )
            key = self._scalar(key_node, loc)
            child = (*loc, key)
            self.lines[child] = key_node.start_mark.line + 1
            value[key] = self.build(value_node, child)
        return value

    def _merge(self, into: dict[Any, Any], merged: yaml.Node, loc: Loc) -> None:
        sources = merged.value if isinstance(merged, yaml.SequenceNode) else [merged]
        for source in reversed(sources):  # the first merged mapping wins
            if not isinstance(source, yaml.MappingNode):
                raise Refused(
                    source.start_mark.line + 1, "`<<` merges a mapping or a list of mappings"
                )
            into.update(self.build(source, loc))

    def _refuse(self, node: yaml.Node, loc: Loc, why: str) -> None:
        self.refused.append(RefusedValue(loc, node.start_mark.line + 1, why))
