"""promptfoo's list vars: a list of strings makes one test per item (a combination per item
of each such var); other lists stay one value."""

from __future__ import annotations

from tests.conftest import RunConfig
from tests.fake_replicate import FakeReplicate
from tests.promptfoo.support import prompts_sent, says_ok


def test_list_vars_make_a_test_per_combination(
    fake_replicate: FakeReplicate, run_config: RunConfig
) -> None:
    fake_replicate.add_model("meta/llama", says_ok, official=True)
    run = run_config(
        {
            "prompts": ["<<greeting>>, <<name>>! <<scores>>"],
            "providers": ["replicate:meta/llama"],
            "defaultTest": {"vars": {"greeting": ["Hi", "Hello"]}},
            "tests": [{"vars": {"name": ["Ann", "Bo"], "scores": [1, 2]}}],
        }
    )
    assert run.result.exit_code == 0, run.result.stderr
    sent = sorted(prompts_sent(fake_replicate))
    assert sent == [
        "Hello, Ann! [1, 2]",
        "Hello, Bo! [1, 2]",
        "Hi, Ann! [1, 2]",
        "Hi, Bo! [1, 2]",
    ]
    assert len(run.json["tests"]) == 4
    assert sorted(test["index"] for test in run.json["tests"]) == [0, 1, 2, 3]


def test_combinations_past_the_limit_are_refused_before_they_are_made(
    fake_replicate: FakeReplicate, run_config: RunConfig
) -> None:
    many = [f"v{n}" for n in range(100)]
    run = run_config(
        {
            "prompts": ["<<a>><<b>><<c>>"],
            "providers": ["replicate:meta/llama"],
            "tests": [{"vars": {"a": many, "b": many, "c": many}}],
        }
    )
    assert run.result.exit_code == 2
    assert "tests[0].vars" in run.result.stderr and "1,000,000 combinations" in run.result.stderr
    assert fake_replicate.requests == []


def test_disable_var_expansion_keeps_a_list_var_whole(
    fake_replicate: FakeReplicate, run_config: RunConfig
) -> None:
    fake_replicate.add_model("meta/llama", says_ok, official=True)
    run = run_config(
        {
            "prompts": ["Pick from <<items>>"],
            "providers": ["replicate:meta/llama"],
            "defaultTest": {"options": {"disableVarExpansion": True}},
            "tests": [
                {"vars": {"items": ["tea", "coffee"]}},
                {
                    "vars": {"items": ["milk", "juice"]},
                    "options": {"disableVarExpansion": False, "disableConversationVar": True},
                },
            ],
        }
    )
    assert run.result.exit_code == 0, run.result.stderr
    assert sorted(prompts_sent(fake_replicate)) == [
        'Pick from ["tea", "coffee"]',
        "Pick from juice",
        "Pick from milk",
    ]
