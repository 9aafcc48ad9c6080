"""Chat prompts: a prompt whose text is a JSON list of ``{role, content}`` messages."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from replicate_eval.errors import CellError


@dataclass(frozen=True)
class ChatPrompt:
    system: str | None
    user: str


def is_chat_messages(value: Any) -> bool:
    """A list of ``{role, content}`` mappings, as promptfoo's YAML prompts write a chat."""
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(m, dict) and {"role", "content"} <= m.keys() for m in value)
    )


def parse_chat(prompt: str) -> ChatPrompt | None:
    """The chat in ``prompt``, or None when the prompt is plain text.

    Text models on Replicate take one ``prompt`` and one ``system_prompt``, so a chat may hold
    system messages and exactly one user message; anything else is an error, not a silent drop.
    """
    text = prompt.strip()
    if not text.startswith("["):
        return None
    try:
        messages = json.loads(text)
    except ValueError:
        return None
    if not (
        isinstance(messages, list)
        and messages
        and all(isinstance(m, dict) and isinstance(m.get("role"), str) for m in messages)
    ):
        return None
    system = [str(m.get("content", "")) for m in messages if m["role"] == "system"]
    turns = [m for m in messages if m["role"] != "system"]
    if len(turns) != 1 or turns[0]["role"] != "user":
        roles = ", ".join(m["role"] for m in turns) or "none"
        raise CellError(
            "a chat prompt for a Replicate text model needs exactly one `user` message besides "
            f"`system` messages (found: {roles}); the model takes a single prompt"
        )
    return ChatPrompt("\n\n".join(system) or None, str(turns[0].get("content", "")))
