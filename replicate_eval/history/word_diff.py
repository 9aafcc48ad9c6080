"""What changed between two outputs, word by word, for a diff's "changed outputs"."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Literal

# Words, runs of spaces and single punctuation marks: each is one token, so a diff of two
# sentences marks whole words, and the joined tokens give back the text.
_TOKENS = re.compile(r"\w+|\s+|[^\w\s]")
# Past this, a diff costs more than it shows; the rest of each output is compared as one piece.
MAX_COMPARED_CHARS = 4000

Operation = Literal["same", "removed", "added"]


@dataclass(frozen=True)
class Piece:
    operation: Operation
    text: str


def word_diff(before: str, after: str) -> list[Piece]:
    """``before`` turned into ``after``: kept, removed and added pieces, in order."""
    # The text both share at the ends is kept as it is, so a change deep in a long output is
    # compared word by word however far in it is (cut at a space, to keep words whole).
    start = _common_prefix(before, after)
    end = _common_prefix(before[start:][::-1], after[start:][::-1])
    head, tail = before[:start], before[len(before) - end :] if end else ""
    middle_a, middle_b = before[start : len(before) - end], after[start : len(after) - end]
    pieces: list[Piece] = []
    _add(pieces, "same", head)
    old = _TOKENS.findall(middle_a[:MAX_COMPARED_CHARS])
    new = _TOKENS.findall(middle_b[:MAX_COMPARED_CHARS])
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for operation, a1, a2, b1, b2 in matcher.get_opcodes():
        if operation == "equal":
            _add(pieces, "same", "".join(old[a1:a2]))
            continue
        _add(pieces, "removed", "".join(old[a1:a2]))
        _add(pieces, "added", "".join(new[b1:b2]))
    # Past the compared part, the rest of each side's change as one piece.
    _add(pieces, "removed", middle_a[MAX_COMPARED_CHARS:])
    _add(pieces, "added", middle_b[MAX_COMPARED_CHARS:])
    _add(pieces, "same", tail)
    return pieces


def _common_prefix(a: str, b: str) -> int:
    """The length of the start both share, ending at a space (or the whole shorter text)."""
    pairs = enumerate(zip(a, b, strict=False))  # up to the shorter one
    shared = next((i for i, (x, y) in pairs if x != y), min(len(a), len(b)))
    if shared in (len(a), len(b)) and (shared == len(a) == len(b) or _boundary(a, b, shared)):
        return shared
    while shared > 0 and not a[shared - 1].isspace():
        shared -= 1
    return shared


def _boundary(a: str, b: str, at: int) -> bool:
    """The shorter text ends at ``at`` where the longer has a space: a whole word apart."""
    longer = a if len(a) > at else b
    return longer[at].isspace()


def _add(pieces: list[Piece], operation: Operation, text: str) -> None:
    if not text:
        return
    if pieces and pieces[-1].operation == operation:
        pieces[-1] = Piece(operation, pieces[-1].text + text)
    else:
        pieces.append(Piece(operation, text))
