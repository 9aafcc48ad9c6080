"""Which test, prompt and provider of one run is which of another's.

Indexes change whenever a test is added or the tests are reordered, so runs are matched by what
the entries are:

- a test by its description and vars (two equal tests: the first with the first); then a test
  whose vars changed but whose description is unique on both sides is still the same test;
- a prompt or a provider by its label; then, when as many are left unmatched on each side (a
  prompt's text edited, so its label changed; one model swapped for another), those are paired
  in the order they are written, and the pairing is reported.
"""

from __future__ import annotations

from collections import Counter, defaultdict, deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from replicate_eval.canonical import canonical_json


@dataclass(frozen=True)
class Matching:
    """Base index → new index for the entries both runs have."""

    pairs: dict[int, int]
    paired_by_position: list[tuple[int, int]] = field(default_factory=list)  # names differ
    removed: list[int] = field(default_factory=list)  # base indexes with no match
    added: list[int] = field(default_factory=list)  # new indexes with no match


@dataclass(frozen=True)
class TestIdentity:
    description: str | None
    vars: Mapping[str, Any]

    @property
    def key(self) -> str:
        # JSON-shaped, as a results file holds vars: a tuple and a list are one value.
        return canonical_json({"description": self.description, "vars": self.vars})


def match_tests(
    base: Sequence[TestIdentity], new: Sequence[TestIdentity], *, exact: bool = False
) -> Matching:
    """``exact``: only equal tests (results carried over must be of the very same test)."""
    pairs = _match_exact([t.key for t in base], [t.key for t in new])
    if exact:
        return _matching(len(base), len(new), pairs, paired_by_position=[])
    taken = set(pairs.values())
    later = _match_unique(
        {i: t.description for i, t in enumerate(base) if i not in pairs and t.description},
        {j: t.description for j, t in enumerate(new) if j not in taken and t.description},
    )
    return _matching(len(base), len(new), {**pairs, **later}, paired_by_position=[])


def match_labels(base: Sequence[str], new: Sequence[str], *, exact: bool = False) -> Matching:
    """Prompts or providers, by label, then (unless ``exact``) the rest in order when as many
    are left."""
    pairs = _match_exact(list(base), list(new))
    if exact:
        return _matching(len(base), len(new), pairs, paired_by_position=[])
    left_base = [i for i in range(len(base)) if i not in pairs]
    taken = set(pairs.values())
    left_new = [j for j in range(len(new)) if j not in taken]
    by_position: list[tuple[int, int]] = []
    if left_base and len(left_base) == len(left_new):
        by_position = list(zip(left_base, left_new, strict=True))
        pairs.update(by_position)
    return _matching(len(base), len(new), pairs, paired_by_position=by_position)


def _match_exact(base: list[str], new: list[str]) -> dict[int, int]:
    """Equal names pair in order: the second "x" of one side with the second of the other."""
    waiting: dict[str, deque[int]] = defaultdict(deque)
    for j, name in enumerate(new):
        waiting[name].append(j)
    pairs: dict[int, int] = {}
    for i, name in enumerate(base):
        queue = waiting.get(name)
        if queue:
            pairs[i] = queue.popleft()
    return pairs


def _match_unique(base: Mapping[int, str], new: Mapping[int, str]) -> dict[int, int]:
    """Pairs of entries whose name is unique on both sides."""
    base_counts, new_counts = Counter(base.values()), Counter(new.values())
    new_by_name = {name: j for j, name in new.items() if new_counts[name] == 1}
    return {
        i: new_by_name[name]
        for i, name in base.items()
        if base_counts[name] == 1 and name in new_by_name
    }


def _matching(
    base_count: int,
    new_count: int,
    pairs: dict[int, int],
    *,
    paired_by_position: list[tuple[int, int]],
) -> Matching:
    taken = set(pairs.values())
    return Matching(
        pairs=dict(sorted(pairs.items())),
        paired_by_position=paired_by_position,
        removed=[i for i in range(base_count) if i not in pairs],
        added=[j for j in range(new_count) if j not in taken],
    )


def reindexed(matching: Matching, base: Sequence[int], new: Sequence[int]) -> Matching:
    """``matching`` of positions in two lists, as the entries' own indexes: a shard's or a
    filtered run's tests keep their index in the config (``base``, ``new``: each position's)."""
    return Matching(
        pairs={base[i]: new[j] for i, j in matching.pairs.items()},
        paired_by_position=[(base[i], new[j]) for i, j in matching.paired_by_position],
        removed=[base[i] for i in matching.removed],
        added=[new[j] for j in matching.added],
    )
