"""The preflight of a whole config: its providers and its judges, with the inputs that chat
prompts and graders add to what the config itself sets."""

from __future__ import annotations

from replicate_eval.cache import ResponseCache
from replicate_eval.chat import parse_chat
from replicate_eval.config.types import EvalConfig
from replicate_eval.errors import CellError
from replicate_eval.judging.settings import grader_inputs
from replicate_eval.plan import Plan, build_plan
from replicate_eval.preflight import Finding, preflight
from replicate_eval.providers.replicate.versions import VersionsSeen


async def check_config_models(
    config: EvalConfig,
    *,
    strict: bool,
    cache: ResponseCache | None,
    plan: Plan | None = None,
    versions_seen: VersionsSeen | None = None,
) -> list[Finding]:
    """Every finding of the preflight; the caller decides what errors mean. ``plan``: the
    config's cells, when the caller built them already (10,000 tests take half a second)."""
    # Cog models publish no Replicate schema; their servers check inputs themselves.
    published = [provider for provider in config.providers if provider.capabilities.has_schema]
    grader_sends, grader_needs = grader_inputs(config)
    return await preflight(
        [*published, *config.graders],
        strict=strict,
        cache=cache,
        also_sends={**chat_inputs(plan or build_plan(config)), **grader_sends},
        must_accept=grader_needs,
        versions_seen=versions_seen,
    )


def chat_inputs(plan: Plan) -> dict[int, set[str]]:
    """Inputs that chat prompts add, by provider: a system message is sent as system_prompt."""
    sends: dict[int, set[str]] = {}
    for cell in plan.cells:
        if not cell.provider.capabilities.chat or cell.rendered_prompt is None:
            continue
        try:
            chat = parse_chat(cell.rendered_prompt)
        except CellError:
            continue  # reported by `validate` and, at run time, by the cell
        if chat is not None and chat.system:
            sends.setdefault(cell.provider.index, set()).add("system_prompt")
    return sends
