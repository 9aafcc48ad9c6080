"""promptfoo's `javascript` assertions run as promptfoo runs them (QuickJS): expressions,
function bodies, GradingResult objects, and code that misbehaves."""

from __future__ import annotations

from typing import Any

import pytest

from replicate_eval.assertions import InvalidAssertion
from tests.assertions.test_assertions import check
from tests.conftest import RunConfig
from tests.fake_replicate import FakeReplicate, Reply, image_model, tokens

HAIKU_CHECK = """
// at least three lines, as promptfoo's comprehensive example checks
const lines = output.split('\\n').filter(line => line.trim().length > 0);
return {
  pass: lines.length >= 3,
  reason: `Found ${lines.length} lines, expected at least 3 for haiku`
};
"""


@pytest.mark.parametrize(
    ("code", "output", "passed"),
    [
        ("output.toLowerCase().includes('world')", "Hello, WORLD", True),
        ("output.toLowerCase().includes('world')", "Hello", False),
        ("output.length > 5", "tiny", False),
        (HAIKU_CHECK, "one\ntwo\n\nthree", True),
        (HAIKU_CHECK, "one\ntwo", False),
        ("context.vars.city === 'Paris' && context.prompt === 'p'", "x", True),
    ],
)
def test_javascript_checks_judge_as_in_promptfoo(code: str, output: str, passed: bool) -> None:
    verdict = check("javascript", output, code)
    assert verdict.passed is passed, verdict.reason
    assert not verdict.problem


def test_a_grading_result_keeps_its_reason_and_score() -> None:
    verdict = check("javascript", "one\ntwo", HAIKU_CHECK)
    assert verdict.reason == "Found 2 lines, expected at least 3 for haiku"
    scored = check("javascript", "abc", "output.length / 10", threshold=0.5)
    assert not scored.passed and scored.score == pytest.approx(0.3)


@pytest.mark.parametrize(
    ("code", "says"),
    [
        ("while (true) {}\nreturn true", "did not finish within"),
        ("throw new Error('boom')\nreturn true", "boom"),
        ("'x'.repeat(2 ** 28).length", "failed"),
        ("(function f() { return f(); })()", "failed"),
        ("process.env.REPLICATE_API_TOKEN.length > 0", "failed"),  # no environment in here
        ("require('fs')", "failed"),
        ("'a string'", "returned"),
    ],
)
def test_code_that_misbehaves_fails_its_assertion_and_says_why(code: str, says: str) -> None:
    verdict = check("javascript", "output", code)
    assert not verdict.passed and verdict.problem
    assert says in verdict.reason


def test_broken_javascript_and_modules_are_refused_when_the_config_loads() -> None:
    with pytest.raises(InvalidAssertion, match="does not compile"):
        check("javascript", "x", "output.includes(")
    with pytest.raises(InvalidAssertion, match="inline JavaScript only"):
        check("javascript", "x", "file://check.js")


def test_promptfoos_quickstart_runs_unchanged(
    fake_replicate: FakeReplicate, run_config: RunConfig
) -> None:
    def hello(model_input: dict[str, Any]) -> Reply:
        return Reply(tokens(f"Well hello there, {model_input['text']}!"))

    version = "5c7d5dc6dd8bf75c1acaa8565735e7986bc5b66206b55cca93cb72c9bf15ccaa"
    fake_replicate.add_model("replicate/hello-world", hello, versions=[version])
    run = run_config(
        "description: a quick start in promptfoo's form\n"
        "prompts:\n"
        "  - 'Greet {{name}} warmly'\n"
        "providers:\n"
        f"  - id: replicate:replicate/hello-world:{version}\n"
        "    config:\n"
        "      prompt_input: text\n"
        "tests:\n"
        "  - vars: {name: World}\n"
        "    assert:\n"
        "      - type: contains\n"
        "        value: hello\n"
        "      - type: javascript\n"
        "        value: output.toLowerCase().includes('world')\n"
    )
    assert run.result.exit_code == 0, run.result.stderr
    assert run.cells[0]["status"] == "passed"
    [request] = fake_replicate.received("POST", "/v1/predictions")
    assert request.body == {"version": version, "input": {"text": "Greet World warmly"}}


def test_an_image_cell_shows_javascript_promptfoos_markdown_output(
    fake_replicate: FakeReplicate, run_config: RunConfig
) -> None:
    fake_replicate.add_model("black-forest-labs/flux-schnell", image_model("PNG"), official=True)
    run = run_config(
        {
            "prompts": ["Generate an image: {{imagePrompt}}"],
            "providers": ["replicate:image:black-forest-labs/flux-schnell"],
            "tests": [
                {
                    "vars": {"imagePrompt": "A [red] apple on a white table, soft light, photo"},
                    "assert": [
                        {
                            "type": "javascript",
                            "value": "// promptfoo's image check\n"
                            "return output && output.includes('![') && output.includes('](http');",
                        },
                        {
                            "type": "javascript",
                            # promptfoo's alt text: brackets made round, 47 characters and ...
                            "value": "output.startsWith("
                            "'![Generate an image: A (red) apple on a white tab...](http')",
                        },
                    ],
                }
            ],
        }
    )
    assert run.result.exit_code == 0, run.result.stderr
    assert [a["pass"] for a in run.cells[0]["assertions"]] == [True, True]
