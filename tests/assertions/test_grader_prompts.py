"""Grader prompts from the config (`options.rubricPrompt`): text, chat or promptfoo's JSON
string, in either template syntax; their mistakes found before any prediction."""

from __future__ import annotations

import json
from typing import Any

from tests.conftest import RunConfig
from tests.fake_replicate import FakeReplicate, Reply, tokens
from tests.graded_support import (
    GRADER_PATH,
    MODEL,
    assertion,
    config,
    grader_prompts,
)


def test_a_custom_rubric_prompt_string_and_chat(fake: FakeReplicate, run_config: RunConfig) -> None:
    run = run_config(
        config(
            "      - type: llm-rubric\n        value: be brief\n",
            extra=(
                "    options:\n"
                "      rubricPrompt: 'PASS-ME? Output: <<output>> Rubric: <<rubric>> "
                "Q: <<question>>'\n"
            ),
        )
    )
    [prompt] = grader_prompts(fake)
    assert prompt == (
        "PASS-ME? Output: Paris is the capital of France. Rubric: be brief "
        "Q: What is the capital of France?"
    )
    assert assertion(run)["pass"] is True
    run = run_config(
        config(
            '      - type: llm-rubric\n        value: say "hi"\n',
            extra=(
                "    options:\n"
                "      rubricPrompt:\n"
                "        - {role: system, content: 'You grade. PASS-ME'}\n"
                "        - {role: user, content: 'Output: <<output>> / Rubric: <<rubric>>'}\n"
            ),
        )
    )
    request = fake.received("POST", GRADER_PATH)[-1]
    assert request.body["input"] == {
        "system_prompt": "You grade. PASS-ME",
        "prompt": 'Output: Paris is the capital of France. / Rubric: say "hi"',
    }


def test_curly_syntax_rubric_prompt_as_promptfoo_writes_it(
    fake: FakeReplicate, run_config: RunConfig
) -> None:
    run_config(
        """
template_syntax: curly
prompts: ['{{question}}']
providers: [replicate:acme/answerer]
defaultTest:
  options:
    rubricPrompt: 'PASS-ME {{output}} | {{rubric}}'
tests:
  - vars: {question: 'What is the capital of France?'}
    assert:
      - type: llm-rubric
        value: short
"""
    )
    assert grader_prompts(fake) == ["PASS-ME Paris is the capital of France. | short"]


def test_rubric_prompt_mistakes_are_found_before_paying(
    fake: FakeReplicate, run_config: RunConfig
) -> None:
    rubric = "    assert: [{type: llm-rubric, value: x}]\n"
    run = run_config(
        "prompts: ['<<question>>']\nproviders: [replicate:acme/answerer]\n"
        "defaultTest:\n  options:\n    rubricPrompt: 'Grade <<output>> for <<audience>>'\n"
        "tests:\n"
        f"  - vars: {{question: q, audience: kids}}\n{rubric}"
        f"  - vars: {{question: q}}\n{rubric}"
        "  - vars: {question: q}\n    options:\n      rubricPrompt: []\n"
        f"{rubric}"
        "  - vars: {question: q}\n    options:\n      rubricPrompt:\n"
        "        - {role: user, content: a}\n        - {role: user, content: b}\n"
        f"{rubric}"
    )
    assert run.result.exit_code == 2
    error = run.result.stderr
    assert (
        "defaultTest.options.rubricPrompt: the grader prompt uses `audience`, which tests[1] "
        "does not define"
    ) in error
    assert "tests[0]" not in error  # it defines `audience`
    assert "tests[2].options.rubricPrompt: the grader prompt is empty" in error
    assert "tests[3].options.rubricPrompt: a chat needs exactly one `user` message (found 2)" in (
        error
    )
    assert fake.received("POST") == []


def test_promptfoos_json_string_chat_prompt_is_rendered_message_by_message(
    fake: FakeReplicate, run_config: RunConfig
) -> None:
    fake.models[MODEL].behaviour = lambda i: Reply(tokens('He said "Paris" twice.'))
    chat = json.dumps(
        [
            {"role": "system", "content": "You grade. PASS-ME"},
            {"role": "user", "content": "Output: <<output>>"},
        ]
    )
    run_config(
        config(
            "      - type: llm-rubric\n        value: x\n",
            extra=f"    options:\n      rubricPrompt: '{chat}'\n",
        )
    )
    [request] = fake.received("POST", GRADER_PATH)
    assert request.body["input"] == {
        "system_prompt": "You grade. PASS-ME",
        "prompt": 'Output: He said "Paris" twice.',
    }


def test_grader_prompt_warnings(fake: FakeReplicate, run_cli: Any, write_config: Any) -> None:
    path = write_config(
        config(
            "      - type: llm-rubric\n        value: x\n",
            extra="    options:\n      rubricPrompt: 'Grade {{output}} against <<rubric>>'\n"
            "  - vars: {question: q}\n    options:\n      rubricPrompt: 'Is it <<rubric>>?'\n"
            "    assert: [{type: llm-rubric, value: x}]\n",
        )
    )
    result = run_cli("validate", path, "--no-preflight")
    assert result.exit_code == 0, result.stderr
    assert "the grader prompt (options.rubricPrompt) has {{output}}: under reval's `<<var>>`" in (
        result.stderr
    )
    assert "never shows the grader the output" in result.stderr
