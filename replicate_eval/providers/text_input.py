"""A text model's input from a rendered prompt (plain text or a chat)."""

from __future__ import annotations

from typing import Any

from replicate_eval.chat import parse_chat
from replicate_eval.config.types import ProviderConfig


def text_model_input(config: ProviderConfig, prompt: str, *, chat: bool = True) -> dict[str, Any]:
    """A text model's input: options, then ``system_prompt`` (a chat's system message wins
    over the provider's), then the prompt (with prefix and suffix) under ``prompt_input``.

    ``chat=False`` sends ``prompt`` as it is, even when it reads like a chat (a text to embed
    or to moderate is data, not instructions)."""
    parsed = parse_chat(prompt) if chat else None
    user = parsed.user if parsed else prompt
    system = (parsed.system if parsed else None) or config.system_prompt
    model_input = dict(config.input_options)
    # An empty system prompt is sent (promptfoo does): it switches off Llama 2's built-in one.
    if system is not None:
        model_input["system_prompt"] = system
    model_input[config.prompt_input] = f"{config.prefix}{user}{config.suffix}"
    return model_input
