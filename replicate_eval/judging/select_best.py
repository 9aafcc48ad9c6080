"""promptfoo's `select-best`: a grader reads every output of one test and names the best one
(site/docs/configuration/expected-outputs/model-graded/select-best.md: the outputs numbered
from 0, the winner passes with 1.0 and the others fail with 0.0). Its prompt is reval's own
(grader_prompts/select-best.j2), or the config's `rubricPrompt` with `outputs` and `criteria`."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from replicate_eval.assertions.base import AssertionProblem, AssertionSpec
from replicate_eval.clip import clip
from replicate_eval.errors import TemplateError
from replicate_eval.judging.checks import shipped_prompt
from replicate_eval.templating import Templates

_TEMPLATES = {"angle": Templates("angle"), "curly": Templates("curly")}
_NUMBER = re.compile(r"(?<![\w.])(\d{1,6})(?!\w|\.\d)")


def select_best_prompt(
    spec: AssertionSpec, outputs: Sequence[str], variables: Mapping[str, Any]
) -> str:
    """The grader prompt for ``outputs`` (each in its own numbered block)."""
    assert spec.grading is not None
    listed = "\n\n".join(
        f'<Output number="{number}">\n{output}\n</Output>' for number, output in enumerate(outputs)
    )
    names = {**variables, "outputs": listed, "criteria": str(spec.value)}
    override = spec.grading.prompt
    try:
        if override is None:
            return _TEMPLATES["angle"].render(shipped_prompt("select-best"), names)
        templates = _TEMPLATES[spec.grading.prompt_syntax]
        if isinstance(override, str):
            return templates.render(override, names)
        return json.dumps(
            [{"role": role, "content": templates.render(text, names)} for role, text in override],
            ensure_ascii=False,
        )
    except TemplateError as exc:
        raise AssertionProblem(f"the grader prompt (options.rubricPrompt): {exc}") from None


def parse_choice(answer: str, count: int) -> int:
    """The output the grader chose: the first whole number in its answer, 0 to count - 1."""
    found = _NUMBER.search(answer)
    if found is None or int(found[1]) >= count:
        raise AssertionProblem(
            f"the grader's answer names none of the {count} outputs (0 to {count - 1}): "
            f"{clip(' '.join(answer.split()), 200)!r}"
        )
    return int(found[1])
