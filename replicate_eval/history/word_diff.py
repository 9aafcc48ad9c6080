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
    head_a, tail_a = before[:MAX_COMPARED_CHARS], before[MAX_COMPARED_CHARS:]
    head_b, tail_b = after[:MAX_COMPARED_CHARS], after[MAX_COMPARED_CHARS:]
    old, new = _TOKENS.findall(head_a), _TOKENS.findall(head_b)
    pieces: list[Piece] = []
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for operation, a1, a2, b1, b2 in matcher.get_opcodes():
        if operation == "equal":
            _add(pieces, "same", "".join(old[a1:a2]))
            continue
        _add(pieces, "removed", "".join(old[a1:a2]))
        _add(pieces, "added", "".join(new[b1:b2]))
    if tail_a != tail_b:
        _add(pieces, "removed", tail_a)
        _add(pieces, "added", tail_b)
    else:
        _add(pieces, "same", tail_a)
    return pieces


def _add(pieces: list[Piece], operation: Operation, text: str) -> None:
    if not text:
        return
    if pieces and pieces[-1].operation == operation:
        pieces[-1] = Piece(operation, pieces[-1].text + text)
    else:
        pieces.append(Piece(operation, text))
