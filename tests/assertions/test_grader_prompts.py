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
    suite,
)


def test_a_custom_rubric_prompt_string_and_chat(fake: FakeReplicate, run_config: RunConfig) -> None:
    run = run_config(
        config(
            {"type": "llm-rubric", "value": "be brief"},
            options={
                "rubricPrompt": "PASS-ME? Output: <<output>> Rubric: <<rubric>> Q: <<question>>"
            },
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
            {"type": "llm-rubric", "value": 'say "hi"'},
            options={
                "rubricPrompt": [
                    {"role": "system", "content": "You grade. PASS-ME"},
                    {"role": "user", "content": "Output: <<output>> / Rubric: <<rubric>>"},
                ]
            },
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
    # YAML text on purpose: the config as promptfoo's docs write it.
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
    rubric = [{"type": "llm-rubric", "value": "x"}]
    two_users = [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}]
    run = run_config(
        {
            **suite(
                {"vars": {"question": "q", "audience": "kids"}, "assert": rubric},
                {"vars": {"question": "q"}, "assert": rubric},
                {"vars": {"question": "q"}, "options": {"rubricPrompt": []}, "assert": rubric},
                {
                    "vars": {"question": "q"},
                    "options": {"rubricPrompt": two_users},
                    "assert": rubric,
                },
            ),
            "defaultTest": {"options": {"rubricPrompt": "Grade <<output>> for <<audience>>"}},
        }
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
    run_config(config({"type": "llm-rubric", "value": "x"}, options={"rubricPrompt": chat}))
    [request] = fake.received("POST", GRADER_PATH)
    assert request.body["input"] == {
        "system_prompt": "You grade. PASS-ME",
        "prompt": 'Output: He said "Paris" twice.',
    }


def test_grader_prompt_warnings(fake: FakeReplicate, run_cli: Any, write_config: Any) -> None:
    path = write_config(
        config(
            {"type": "llm-rubric", "value": "x"},
            options={"rubricPrompt": "Grade {{output}} against <<rubric>>"},
            more_tests=[
                {
                    "vars": {"question": "q"},
                    "options": {"rubricPrompt": "Is it <<rubric>>?"},
                    "assert": [{"type": "llm-rubric", "value": "x"}],
                }
            ],
        )
    )
    result = run_cli("validate", path, "--no-preflight")
    assert result.exit_code == 0, result.stderr
    assert "the grader prompt (options.rubricPrompt) has {{output}}: under reval's `<<var>>`" in (
        result.stderr
    )
    assert "never shows the grader the output" in result.stderr
