"""promptfoo's assertion `config`: data a check's code reads as `context["config"]`
(`context.config` in JavaScript); other types accept it and have no use for it."""

from __future__ import annotations

from tests.conftest import RunConfig
from tests.fake_replicate import FakeReplicate
from tests.promptfoo.support import says_ok


def test_python_and_javascript_checks_read_their_config(
    fake_replicate: FakeReplicate, run_config: RunConfig
) -> None:
    fake_replicate.add_model("meta/llama", says_ok, official=True)
    run = run_config(
        {
            "prompts": ["Say ok"],
            "providers": ["replicate:meta/llama"],
            "tests": [
                {
                    "assert": [
                        {
                            "type": "python",
                            "value": "len(output) <= context['config']['limit']",
                            "config": {"limit": 2},
                        },
                        {
                            "type": "python",
                            "value": "len(output) <= context['config']['limit']",
                            "config": {"limit": 1},
                        },
                        {
                            "type": "javascript",
                            "value": "output.length === context.config.size"
                            " && context.config.tag === 'x'",
                            "config": {"size": 2, "tag": "x"},
                        },
                        {"type": "python", "value": "context['config'] == {}"},
                        {"type": "contains", "value": "ok", "config": {"unused": True}},
                    ]
                }
            ],
        }
    )
    assert run.result.exit_code == 100, run.result.stderr
    passed = [a["pass"] for a in run.cells[0]["assertions"]]
    assert passed == [True, False, True, True, True]


def test_a_config_that_is_not_a_mapping_is_named(
    fake_replicate: FakeReplicate, run_config: RunConfig
) -> None:
    run = run_config(
        {
            "prompts": ["Say ok"],
            "providers": ["replicate:meta/llama"],
            "tests": [{"assert": [{"type": "python", "value": "True", "config": [1, 2]}]}],
        }
    )
    assert run.result.exit_code == 2
    assert "tests[0].assert[0].config" in run.result.stderr
    assert fake_replicate.requests == []
