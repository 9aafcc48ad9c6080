"""A YAML loader that refuses, while it reads, what reval could not represent or process.

On top of PyYAML's safe loader it refuses, each with the line it is on:

- nesting deeper than ``MAX_DEPTH`` (aliases expanded), before Python's recursion limit;
- an alias inside the collection it names (``&a [*a]``): a cycle has no JSON form;
- aliases that expand to more values than the file's size allows ("billion laughs"), counted
  while composing, at constant cost per node and per alias;
- the same key twice in one mapping (YAML would silently keep the last one);
- integers too long to write as text, non-finite numbers (``.nan``, ``.inf``), impossible
  dates, ``!!binary`` and ``!!set``: results are JSON.

Those last ones are *refused values*: the loader notes them and carries on, so that they are
reported with every other mistake of the file. Dates are kept as the text written.
libyaml parses when PyYAML has it (ten times faster); the composing is ours either way.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.events import AliasEvent, MappingStartEvent, ScalarEvent, SequenceStartEvent
from yaml.nodes import MappingNode, Node, ScalarNode
from yaml.resolver import Resolver

from replicate_eval.config.limits import (
    ALIAS_VALUES_PER_CHARACTER,
    MAX_DEPTH,
    MAX_INT_DIGITS,
    MIN_EXPANDED_VALUES,
)
from replicate_eval.errors import ConfigError

try:
    from yaml._yaml import CParser as _Parser
except ImportError:  # PyYAML built without libyaml
    from yaml.parser import Parser as _PyParser
    from yaml.reader import Reader
    from yaml.scanner import Scanner

    class _Parser(Reader, Scanner, _PyParser):  # type: ignore[no-redef]
        def __init__(self, stream: str) -> None:
            Reader.__init__(self, stream)
            Scanner.__init__(self)
            _PyParser.__init__(self)


_INT_LIMIT = 10**MAX_INT_DIGITS
_MERGE = "tag:yaml.org,2002:merge"


class Refused(ConfigError):
    """The file cannot be loaded at all: ``line`` (1-based) and what is wrong there."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


@dataclass(frozen=True)
class _Anchor:
    node: Node
    values: int  # values the node stands for, aliases inside it expanded
    depth: int  # collections nested inside it, itself included


class BoundedLoader(_Parser, Composer, SafeConstructor, Resolver):
    def __init__(self, text: str) -> None:
        _Parser.__init__(self, text)
        Composer.__init__(self)
        SafeConstructor.__init__(self)
        Resolver.__init__(self)
        self.budget = MIN_EXPANDED_VALUES + ALIAS_VALUES_PER_CHARACTER * len(text)
        self.values = 0  # values composed so far, aliases expanded
        self.depth = 0  # collections open around the node being composed
        self.deepest = 0
        self.open: set[str] = set()  # anchors of the collections being composed
        self.named: dict[str, _Anchor] = {}
        # id(node) -> why its value is refused; the node's value is constructed as None.
        self.refused: dict[int, str] = {}

    def single_node(self) -> Node | None:
        """``get_single_node``, which libyaml's parser would otherwise do itself, unbounded."""
        node: Node | None = Composer.get_single_node(self)
        return node

    def compose_node(self, parent: Node | None, index: Any) -> Node:
        if self.check_event(AliasEvent):
            return self._alias()
        event: Any = self.peek_event()
        anchor = event.anchor
        if anchor is not None and anchor in self.anchors:
            raise Refused(event.start_mark.line + 1, f"anchor `&{anchor}` is defined twice")
        self.values += 1
        if self.check_event(ScalarEvent):
            node: Node = self.compose_scalar_node(anchor)
            if anchor is not None:
                self.named[anchor] = _Anchor(node, 1, 0)
            return node
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise Refused(event.start_mark.line + 1, _too_deep())
        outer_deepest, self.deepest = self.deepest, self.depth
        values_before = self.values
        if anchor is not None:
            self.open.add(anchor)
        if self.check_event(SequenceStartEvent):
            node = self.compose_sequence_node(anchor)
        else:
            assert self.check_event(MappingStartEvent)
            node = self.compose_mapping_node(anchor)
            _check_keys(node)
        if anchor is not None:
            self.open.discard(anchor)
            self.named[anchor] = _Anchor(
                node, self.values - values_before + 1, self.deepest - self.depth + 1
            )
        self.depth -= 1
        self.deepest = max(outer_deepest, self.deepest)
        return node

    def _alias(self) -> Node:
        event: Any = self.get_event()
        line = event.start_mark.line + 1
        anchor = event.anchor
        if anchor in self.open:
            raise Refused(
                line,
                f"alias `*{anchor}` is inside the collection `&{anchor}` names, so it would "
                "contain itself forever; a config must be finite",
            )
        named = self.named.get(anchor)
        if named is None:
            raise Refused(line, f"alias `*{anchor}` names no anchor defined above it")
        if self.depth + named.depth > MAX_DEPTH:
            raise Refused(line, _too_deep())
        self.deepest = max(self.deepest, self.depth + named.depth)
        self.values += named.values
        if self.values > self.budget:
            raise Refused(
                line,
                f"the aliases in this file expand to more than {self.budget:,} values "
                "(reval's limit for a file this size); write the repeated parts once, "
                "for example in `defaultTest`",
            )
        return named.node

    def refuse(self, node: Node, why: str) -> None:
        self.refused[id(node)] = why


# --- values that could not be written as JSON: noted, and constructed as None ----------------
def _int(loader: BoundedLoader, node: ScalarNode) -> int | None:
    try:
        value: int = SafeConstructor.construct_yaml_int(loader, node)
    except ValueError:  # past sys.get_int_max_str_digits
        value = _INT_LIMIT
    if abs(value) >= _INT_LIMIT:
        loader.refuse(node, f"a whole number of more than {MAX_INT_DIGITS} digits")
        return None
    return value


def _float(loader: BoundedLoader, node: ScalarNode) -> float | None:
    value: float = SafeConstructor.construct_yaml_float(loader, node)
    if not math.isfinite(value):
        loader.refuse(node, f"`{node.value}` is not a finite number; results are JSON")
        return None
    return value


def _timestamp(loader: BoundedLoader, node: ScalarNode) -> str:
    # Kept as written: a date object would not survive the JSON results.
    return str(node.value)


def _unsupported(loader: BoundedLoader, node: Node) -> None:
    loader.refuse(node, f"`!!{node.tag.rsplit(':', 1)[-1]}` values are not supported")


_constructors: Any = BoundedLoader  # PyYAML's stubs type add_constructor for its own loaders
_constructors.add_constructor("tag:yaml.org,2002:int", _int)
_constructors.add_constructor("tag:yaml.org,2002:float", _float)
_constructors.add_constructor("tag:yaml.org,2002:timestamp", _timestamp)
for _tag in ("binary", "set"):
    _constructors.add_constructor(f"tag:yaml.org,2002:{_tag}", _unsupported)


def _too_deep() -> str:
    return f"values are nested more than {MAX_DEPTH} levels deep, reval's limit"


def _check_keys(node: MappingNode) -> None:
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        if key_node.tag == _MERGE or not isinstance(key_node, ScalarNode):
            continue
        line = key_node.start_mark.line + 1
        if key_node.value in seen:
            raise Refused(
                line,
                f"key `{key_node.value}` appears twice in the same mapping "
                f"(first on line {seen[key_node.value]}); YAML would silently keep only the "
                "last one",
            )
        seen[key_node.value] = line


def yaml_error_line(exc: yaml.YAMLError) -> tuple[int | None, int | None, str]:
    """(line, column, problem) of a PyYAML error, 1-based."""
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        if mark is None:
            return None, None, problem
        return mark.line + 1, mark.column + 1, problem
    return None, None, str(exc)
