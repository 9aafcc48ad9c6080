"""promptfoo's comparative assertions, `max-score` and `select-best`: judged across the outputs
of one test (its prompts x providers) once they are all in."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

import replicate_eval as reval
from tests.conftest import RunConfig
from tests.fake_replicate import FakeReplicate, Reply, tokens
from tests.fake_replicate.judges import serve_judges
from tests.graded_support import GRADER_PATH, grader_prompts
from tests.promptfoo.support import says_its_prompt


def says(text: str) -> Any:
    def reply(model_input: dict[str, Any]) -> Reply:
        return Reply(tokens(text))

    return reply


def two_prompts(*asserts: dict[str, Any], **test: Any) -> dict[str, Any]:
    return {
        "prompts": ["Paris is the capital of <<country>>", "I do not know <<country>>"],
        "providers": ["replicate:meta/llama"],
        "tests": [{"vars": {"country": "France"}, "assert": list(asserts), **test}],
    }


def by_prompt(run: Any, index: int) -> dict[str, Any]:
    [cell] = [c for c in run.cells if c["prompt_index"] == index]
    return cell


def test_max_score_passes_the_output_whose_other_assertions_scored_highest(
    fake_replicate: FakeReplicate, run_config: RunConfig
) -> None:
    fake_replicate.add_model("meta/llama", says_its_prompt, official=True)
    run = run_config(
        two_prompts(
            {"type": "contains", "value": "Paris"},
            {"type": "contains", "value": "France"},
            {"type": "max-score"},
        )
    )
    assert run.result.exit_code == 100
    best, other = by_prompt(run, 0), by_prompt(run, 1)
    assert best["status"] == "passed" and other["status"] == "failed"
    # In its place among the assertions, with the scores it compared.
    assert [a["type"] for a in best["assertions"]] == ["contains", "contains", "max-score"]
    assert best["assertions"][2]["pass"] and best["assertions"][2]["score"] == 1.0
    assert "the highest score of 2 outputs" in best["assertions"][2]["reason"]
    verdict = other["assertions"][2]
    assert not verdict["pass"] and verdict["score"] == 0.0
    assert "Paris is the capital of <<country>>" in verdict["reason"]  # names the winner
    assert "0.5" in verdict["reason"] and "1" in verdict["reason"]
    assert other["score"] == pytest.approx(1 / 3)  # contains France only


def test_max_score_weights_by_type_sums_and_keeps_the_first_on_a_tie(
    fake_replicate: FakeReplicate, run_config: RunConfig
) -> None:
    fake_replicate.add_model("meta/llama", says_its_prompt, official=True)
    # Prompt 1 only has "know": with `contains` weighted 0 both score 0: the first one wins.
    config = two_prompts(
        {"type": "contains", "value": "Paris"},
        {"type": "icontains", "value": "know"},
        {"type": "max-score", "value": {"method": "sum", "weights": {"icontains": 0}}},
    )
    run = run_config(config)
    assert by_prompt(run, 0)["assertions"][2]["pass"]
    assert not by_prompt(run, 1)["assertions"][2]["pass"]
    # Weighted the other way round, the second prompt's output is the best one.
    config["tests"][0]["assert"][2]["value"] = {"weights": {"contains": 0}}
    run = run_config(config)
    assert not by_prompt(run, 0)["assertions"][2]["pass"]
    assert by_prompt(run, 1)["assertions"][2]["pass"]


def test_max_score_with_a_threshold_passes_none_below_it(
    fake_replicate: FakeReplicate, run_config: RunConfig
) -> None:
    fake_replicate.add_model("meta/llama", says_its_prompt, official=True)
    run = run_config(
        two_prompts(
            {"type": "contains", "value": "Berlin"},
            {"type": "max-score", "value": {"threshold": 0.5}},
        )
    )
    for index in (0, 1):
        verdict = by_prompt(run, index)["assertions"][1]
        assert not verdict["pass"] and "no output reached the threshold 0.5" in verdict["reason"]


def test_select_best_asks_the_grader_once_with_every_output_and_passes_its_choice(
    fake_replicate: FakeReplicate, run_config: RunConfig
) -> None:
    serve_judges(fake_replicate)
    fake_replicate.add_model("acme/paris", says("The capital is Paris."), official=True)
    fake_replicate.add_model("acme/lyon", says("The capital is Lyon."), official=True)
    config = {
        "prompts": ["What is the capital of <<country>>?"],
        "providers": ["replicate:acme/paris", "replicate:acme/lyon"],
        "tests": [
            {
                "vars": {"country": "France"},
                "assert": [
                    {"type": "select-best", "value": "the one that says 'Lyon'"},
                    {"type": "contains", "value": "capital"},
                ],
            }
        ],
    }
    run = run_config(config)
    [prompt] = grader_prompts(fake_replicate)
    assert "the one that says 'Lyon'" in prompt
    assert prompt.index("The capital is Paris.") < prompt.index("The capital is Lyon.")
    assert '<Output number="0">' in prompt and '<Output number="1">' in prompt
    paris, lyon = run.cells
    assert lyon["status"] == "passed" and paris["status"] == "failed"
    assert lyon["assertions"][0]["reason"] == "the grader chose this output as the best of 2"
    assert "acme/lyon" in paris["assertions"][0]["reason"]
    assert paris["assertions"][0]["grader"]["answers"] == ["The best one is 1."]
    assert run.json["totals"]["grader_predictions"] == 1


def test_select_best_with_an_answer_naming_no_output_fails_saying_what_it_said(
    fake_replicate: FakeReplicate, run_config: RunConfig
) -> None:
    fake_replicate.add_model("meta/llama", says_its_prompt, official=True)
    fake_replicate.add_model("acme/vague", says("Both are lovely, 7 out of 10."), official=True)
    config = two_prompts(
        {"type": "select-best", "value": "the best", "provider": "replicate:acme/vague"}
    )
    run = run_config(config)
    assert run.result.exit_code == 100
    for cell in run.cells:
        verdict = cell["assertions"][0]
        assert not verdict["pass"]
        assert "names none of the 2 outputs (0 to 1)" in verdict["reason"]
        assert "Both are lovely" in verdict["reason"]


def test_a_cell_that_errored_takes_no_part_in_the_comparison(
    fake_replicate: FakeReplicate, run_config: RunConfig
) -> None:
    fake_replicate.add_model("acme/paris", says("Paris"), official=True)
    config = {
        "prompts": ["<<country>>"],
        "providers": ["replicate:acme/paris", "replicate:acme/missing"],
        "tests": [{"vars": {"country": "France"}, "assert": [{"type": "max-score"}]}],
    }
    run = run_config(config, "--no-preflight")
    paris, missing = run.cells
    assert missing["status"] == "error" and missing["assertions"] == []
    assert paris["status"] == "passed" and paris["assertions"][0]["pass"]


def test_each_repeat_is_compared_apart(
    fake_replicate: FakeReplicate, run_config: RunConfig
) -> None:
    fake_replicate.add_model("meta/llama", says_its_prompt, official=True)
    run = run_config(
        two_prompts({"type": "contains", "value": "Paris"}, {"type": "max-score"}),
        "--repeat",
        "2",
    )
    assert len(run.cells) == 4
    winners = sorted(
        (c["repeat"], c["prompt_index"]) for c in run.cells if c["assertions"][1]["pass"]
    )
    assert winners == [(0, 0), (1, 0)]


@pytest.mark.parametrize(
    ("assertion", "key", "says"),
    [
        ({"type": "not-max-score"}, "tests[0].assert[0].type", "has no `not-`"),
        ({"type": "max-score", "value": "high"}, "tests[0].assert[0].value", "takes `{method"),
        (
            {"type": "max-score", "value": {"method": "median"}},
            "tests[0].assert[0].value",
            "`average` or `sum`",
        ),
        (
            {"type": "max-score", "value": {"weights": {"contains": -1}}},
            "tests[0].assert[0].value",
            "weights of 0 or more",
        ),
        (
            {"type": "assert-set", "assert": [{"type": "max-score"}]},
            "tests[0].assert[0].assert[0].type",
            "cannot be in an assert-set",
        ),
        ({"type": "select-best"}, "tests[0].assert[0].value", "needs a `value`"),
    ],
)
def test_malformed_comparative_assertions_name_their_key(
    fake_replicate: FakeReplicate,
    run_config: RunConfig,
    assertion: dict[str, Any],
    key: str,
    says: str,
) -> None:
    run = run_config(two_prompts(assertion))
    assert run.result.exit_code == 2
    assert key in run.result.stderr and says in run.result.stderr
    assert fake_replicate.received("POST", GRADER_PATH) == []


def test_an_interrupted_run_compares_nothing_and_says_why(
    fake_replicate: FakeReplicate, tmp_path: Path
) -> None:
    fake_replicate.add_model("acme/quick", says("Paris"), official=True)
    fake_replicate.add_model(
        "acme/slow", lambda model_input: Reply(tokens("Lyon"), processing=30), official=True
    )
    config = reval.load(
        {
            "prompts": ["<<country>>"],
            "providers": ["replicate:acme/quick", "replicate:acme/slow"],
            "tests": [{"vars": {"country": "France"}, "assert": [{"type": "max-score"}]}],
        },
        base_dir=tmp_path,
    )

    async def interrupted() -> reval.RunResult:
        stop = asyncio.Event()
        asyncio.get_running_loop().call_later(1.5, stop.set)
        return await reval.evaluate_async(
            config, reval.EvalOptions(cache=False, preflight=False), stop=stop
        )

    result = asyncio.run(interrupted())
    assert not result.complete
    [quick] = result.cells
    [verdict] = quick.assertions
    assert not verdict.passed and "interrupted before every output" in verdict.reason
    assert quick.status == "failed"
