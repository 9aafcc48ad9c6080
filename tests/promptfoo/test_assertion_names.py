"""promptfoo's assertion types reval has under another name, and those it lacks: refused
before any prediction with why and what to write instead."""

from __future__ import annotations

from pathlib import Path

import pytest

from replicate_eval.assertions.promptfoo_types import ALIASES, NOT_HERE
from replicate_eval.assertions.registry import KINDS, compile_assertion
from tests.conftest import RunConfig
from tests.fake_replicate import FakeReplicate


def test_an_alias_is_the_type_it_names() -> None:
    spec = compile_assertion(
        "not-model-graded-factuality", "Paris.", weight=1.0, threshold=None, base_dir=Path()
    )
    assert spec.kind == "factuality" and spec.negate
    assert set(ALIASES.values()) <= set(KINDS)


def test_no_lacking_type_is_one_reval_has() -> None:
    assert not set(NOT_HERE) & set(KINDS)


@pytest.mark.parametrize(
    ("type_", "says"),
    [
        ("perplexity", "log-probabilities"),
        ("not-cost", "does not price"),
        ("webhook", "`python` assertion that calls it"),
        ("is-valid-openai-tools-call", "`is-json` and a schema"),
    ],
)
def test_a_type_reval_lacks_is_refused_saying_why(
    fake_replicate: FakeReplicate, run_config: RunConfig, type_: str, says: str
) -> None:
    run = run_config(
        {
            "prompts": ["Say <<topic>>"],
            "providers": ["replicate:meta/llama"],
            "tests": [{"vars": {"topic": "x"}, "assert": [{"type": type_, "threshold": 0.5}]}],
        }
    )
    assert run.result.exit_code == 2
    assert "tests[0].assert[0].type" in run.result.stderr
    assert f"promptfoo's `{type_.removeprefix('not-')}` is not in reval" in run.result.stderr
    assert says in run.result.stderr
    assert fake_replicate.requests == []
