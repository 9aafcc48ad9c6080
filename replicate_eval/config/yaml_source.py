"""Reading a YAML config while remembering where each key was written.

PyYAML's ``safe_load`` forgets line numbers and silently keeps the last of two equal keys. We
compose the node tree ourselves so that every error can name ``file:line`` and duplicates are
caught, then construct plain Python data from the same tree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from replicate_eval.errors import ConfigError

Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class YamlDocument:
    path: Path
    data: Any
    lines: dict[Loc, int] = field(default_factory=dict)

    def line_of(self, loc: Loc) -> int | None:
        """The line of the longest prefix of ``loc`` that appears in the file (1-based)."""
        for end in range(len(loc), -1, -1):
            line = self.lines.get(loc[:end])
            if line is not None:
                return line
        return None


def read_yaml(path: Path) -> YamlDocument:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the file ({exc}).") from None

    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise ConfigError(
                f"{path}: the file is empty; it needs at least `prompts` and `providers`."
            )
        lines: dict[Loc, int] = {(): node.start_mark.line + 1}
        _index_lines(node, (), lines, path)
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        problem = exc.problem or exc.context or "invalid YAML"
        raise ConfigError(f"{where}: this is not valid YAML ({problem}).") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: this is not valid YAML ({exc}).") from None
    finally:
        loader.dispose()
    return YamlDocument(path=path, data=data, lines=lines)


def _index_lines(node: yaml.Node, loc: Loc, lines: dict[Loc, int], path: Path) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge" or not isinstance(
                key_node, yaml.ScalarNode
            ):
                continue
            key = key_node.value
            line = key_node.start_mark.line + 1
            if key in seen:
                raise ConfigError(
                    f"{path}:{line}: key `{key}` appears twice in the same mapping "
                    f"(first on line {seen[key]}); YAML would silently keep only the last one."
                )
            seen[key] = line
            child: Loc = (*loc, key)
            lines[child] = line
            _index_lines(value_node, child, lines, path)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            child = (*loc, index)
            lines[child] = item.start_mark.line + 1
            _index_lines(item, child, lines, path)
