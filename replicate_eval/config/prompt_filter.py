"""promptfoo's provider `prompts:` (which prompts a provider runs), checked against reval's
rule that every provider runs every prompt."""

from __future__ import annotations

from replicate_eval.config.problems import Problem
from replicate_eval.config.types import Prompt, ProviderConfig


def selects(pattern: str, prompt: Prompt) -> bool:
    """promptfoo's matching (src/prompts/index.ts): the label (or the prompt's text) exactly,
    `group` for `group:...` labels, and `prefix*` as a wildcard."""
    names = (prompt.label, prompt.template)
    if pattern.endswith("*"):
        return any(name.startswith(pattern[:-1]) for name in names)
    return any(name == pattern or name.startswith(f"{pattern}:") for name in names)


def prompt_filter_problems(providers: list[ProviderConfig], prompts: list[Prompt]) -> list[Problem]:
    """A filter that leaves every prompt in is kept (it changes nothing); one that names no
    prompt, or leaves some out, is a problem: reval's grid has every prompt x provider."""
    problems = []
    for provider in providers:
        if not provider.prompt_filter:
            continue
        loc = ("providers", provider.index, "prompts")
        for pattern in provider.prompt_filter:
            if not any(selects(pattern, prompt) for prompt in prompts):
                labels = ", ".join(f"`{p.label}`" for p in prompts)
                problems.append(Problem(loc, f"`{pattern}` names no prompt (prompts: {labels})"))
        left_out = [
            p for p in prompts if not any(selects(pattern, p) for pattern in provider.prompt_filter)
        ]
        if left_out and len(left_out) < len(prompts):
            names = ", ".join(f"`{p.label}`" for p in left_out)
            problems.append(
                Problem(
                    loc,
                    f"leaves out {names}, but reval runs every prompt on every provider; put "
                    "this provider and its prompts in a config of their own",
                )
            )
    return problems
