"""promptfoo's named metrics (`metric`), `derivedMetrics` and `assert-set`: computed as promptfoo
does, shown in the terminal, JSON, Markdown and HTML, merged across shards."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import RunCli, RunConfig
from tests.fake_replicate import FakeReplicate, Reply, tokens


def answers_in_kind(model_input: dict[str, Any]) -> Reply:
    """`positive` for prompts about sun, else `negative`: a sentiment classifier."""
    return Reply(tokens("positive" if "sun" in str(model_input["prompt"]) else "negative"))


# promptfoo's F-score example shape: three metric-only assertions per test, derived metrics.
F_SCORE: dict[str, Any] = {
    "prompts": ["Classify: <<text>>"],
    "providers": ["replicate:meta/llama"],
    "defaultTest": {
        "assert": [
            {
                "type": "python",
                "value": "1 if output == 'positive' and vars['expected'] == 'positive' else 0",
                "metric": "tp",
                "weight": 0,
            },
            {
                "type": "python",
                "value": "1 if output == 'positive' and vars['expected'] == 'negative' else 0",
                "metric": "fp",
                "weight": 0,
            },
            {
                "type": "python",
                "value": "1 if output == 'negative' and vars['expected'] == 'positive' else 0",
                "metric": "fn",
                "weight": 0,
            },
            {"type": "equals", "value": "<<expected>>", "metric": "accuracy"},
        ]
    },
    "tests": [
        {"vars": {"text": "sun", "expected": "positive"}},  # tp
        {"vars": {"text": "sun again", "expected": "negative"}},  # fp
        {"vars": {"text": "rain", "expected": "positive"}},  # fn
        {"vars": {"text": "sun, sun", "expected": "positive"}},  # tp
    ],
    "derivedMetrics": [
        {"name": "precision", "value": "tp / (tp + fp)"},
        {"name": "recall", "value": "tp / (tp + fn)"},
        {"name": "f1", "value": "2 * precision * recall / (precision + recall)"},
        {"name": "accuracy_mean", "value": "accuracy / __count"},
        {"name": "nothing", "value": "tp / (fp - fp)"},
    ],
}


def test_named_and_derived_metrics_are_promptfoos_sums_means_and_formulas(
    fake_replicate: FakeReplicate, run_config: RunConfig, tmp_path: Path
) -> None:
    fake_replicate.add_model("meta/llama", answers_in_kind, official=True)
    summary = tmp_path / "summary.md"
    report = tmp_path / "report.html"
    run = run_config(F_SCORE, "-o", summary, "-o", report)
    assert run.result.exit_code == 100  # two tests fail `equals`; metric-only ones never fail
    assert [cell["named_scores"] for cell in run.cells] == [
        {"tp": 1.0, "fp": 0.0, "fn": 0.0, "accuracy": 1.0},
        {"tp": 0.0, "fp": 1.0, "fn": 0.0, "accuracy": 0.0},
        {"tp": 0.0, "fp": 0.0, "fn": 1.0, "accuracy": 0.0},
        {"tp": 1.0, "fp": 0.0, "fn": 0.0, "accuracy": 1.0},
    ]
    [totals] = run.json["named_metrics"]
    assert totals["cells"] == 4
    assert totals["sums"] == {"tp": 2.0, "fp": 1.0, "fn": 1.0, "accuracy": 2.0}
    assert totals["means"] == {"tp": 0.5, "fp": 0.25, "fn": 0.25, "accuracy": 0.5}
    assert totals["derived"] == {
        "precision": pytest.approx(2 / 3, abs=1e-6),
        "recall": pytest.approx(2 / 3, abs=1e-6),
        "f1": pytest.approx(2 / 3, abs=1e-6),
        "accuracy_mean": 0.5,
        "nothing": None,  # a division by zero has no value
    }
    assert [m["name"] for m in run.json["derived_metrics"]] == [
        "precision",
        "recall",
        "f1",
        "accuracy_mean",
        "nothing",
    ]
    stdout = run.result.stdout
    assert "Named metrics" in stdout and "precision" in stdout and "0.667" in stdout
    assert "n/a" in stdout
    markdown = summary.read_text()
    assert "### Named metrics" in markdown
    assert "| prompt x provider | tp | fp | fn | accuracy | precision |" in markdown
    assert "| 0.5 | 0.25 | 0.25 | 0.5 | 0.667 | 0.667 | 0.667 | 0.5 | n/a |" in markdown
    html = report.read_text()
    assert '<table class="metrics">' in html and "<th>f1</th>" in html


def test_a_metric_is_the_weighted_mean_of_its_assertions_in_a_cell(
    fake_replicate: FakeReplicate, run_config: RunConfig
) -> None:
    fake_replicate.add_model("meta/llama", answers_in_kind, official=True)
    config = {
        "prompts": ["<<text>>"],
        "providers": ["replicate:meta/llama"],
        "tests": [
            {
                "vars": {"text": "sun"},
                "assert": [
                    {"type": "equals", "value": "positive", "metric": "tone", "weight": 3},
                    {"type": "contains", "value": "zzz", "metric": "tone", "weight": 1},
                    {"type": "contains", "value": "pos"},
                ],
            }
        ],
    }
    run = run_config(config)
    [cell] = run.cells
    assert cell["named_scores"] == {"tone": 0.75}
    assert [a.get("metric") for a in cell["assertions"]] == ["tone", "tone", None]


def test_an_assert_set_passes_when_all_pass_or_by_its_own_threshold(
    fake_replicate: FakeReplicate, run_config: RunConfig
) -> None:
    fake_replicate.add_model("meta/llama", answers_in_kind, official=True)
    one_of_two = [
        {"type": "contains", "value": "pos"},
        {"type": "contains", "value": "zzz"},
    ]
    config = {
        "prompts": ["<<text>>"],
        "providers": ["replicate:meta/llama"],
        "tests": [
            {
                "description": "all must pass",
                "vars": {"text": "sun"},
                "assert": [{"type": "assert-set", "assert": one_of_two}],
            },
            {
                "description": "half will do",
                "vars": {"text": "sun"},
                "assert": [
                    {"type": "assert-set", "threshold": 0.5, "assert": one_of_two, "metric": "m"}
                ],
            },
            {
                "description": "negated members",
                "vars": {"text": "sun"},
                "assert": [
                    {
                        "type": "assert-set",
                        "assert": [
                            {"type": "not-contains", "value": "negative"},
                            {"type": "equals", "value": "positive", "metric": "inner"},
                        ],
                    }
                ],
            },
        ],
    }
    run = run_config(config)
    statuses = [cell["status"] for cell in run.cells]
    assert statuses == ["failed", "passed", "passed"]
    first, second, third = (cell["assertions"][0] for cell in run.cells)
    assert first["type"] == "assert-set" and first["score"] == 0.5 and not first["pass"]
    assert [member["pass"] for member in first["assertions"]] == [True, False]
    assert "zzz" in run.cells[0]["reason"]
    assert second["pass"] and run.cells[1]["named_scores"] == {"m": 0.5}
    assert third["pass"] and run.cells[2]["named_scores"] == {"inner": 1.0}


def test_an_assert_set_weighs_in_the_test_as_one_assertion(
    fake_replicate: FakeReplicate, run_config: RunConfig
) -> None:
    fake_replicate.add_model("meta/llama", answers_in_kind, official=True)
    config = {
        "prompts": ["<<text>>"],
        "providers": ["replicate:meta/llama"],
        "tests": [
            {
                "vars": {"text": "rain"},
                "threshold": 0.7,
                "assert": [
                    {
                        "type": "assert-set",
                        "weight": 3,
                        "assert": [{"type": "contains", "value": "neg"}],
                    },
                    {"type": "contains", "value": "zzz"},
                ],
            }
        ],
    }
    run = run_config(config)
    [cell] = run.cells
    assert cell["score"] == 0.75 and cell["status"] == "passed"


@pytest.mark.parametrize(
    ("assertion", "key", "says"),
    [
        ({"type": "assert-set"}, "tests[0].assert[0].assert", "needs a list of assertions"),
        ({"type": "assert-set", "assert": []}, "tests[0].assert[0].assert", "needs a list"),
        (
            {"type": "assert-set", "value": "x", "assert": [{"type": "contains", "value": "a"}]},
            "tests[0].assert[0].value",
            "takes no `value`",
        ),
        (
            {"type": "assert-set", "assert": [{"type": "contians", "value": "a"}]},
            "tests[0].assert[0].assert[0].type",
            "did you mean `contains`",
        ),
        (
            {"type": "contains", "value": "a", "assert": [{"type": "contains", "value": "a"}]},
            "tests[0].assert[0].assert",
            "only `assert-set`",
        ),
        (
            {"type": "assert-set", "threshold": 2, "assert": [{"type": "contains", "value": "a"}]},
            "tests[0].assert[0].threshold",
            "from 0 to 1",
        ),
    ],
)
def test_a_malformed_assert_set_names_its_key(
    fake_replicate: FakeReplicate,
    run_config: RunConfig,
    assertion: dict[str, Any],
    key: str,
    says: str,
) -> None:
    config = {
        "prompts": ["hi"],
        "providers": ["replicate:meta/llama"],
        "tests": [{"assert": [assertion]}],
    }
    run = run_config(config)
    assert run.result.exit_code == 2
    assert key in run.result.stderr and says in run.result.stderr
    assert "Traceback" not in run.result.stderr


def test_assert_sets_nested_too_deep_are_refused(
    fake_replicate: FakeReplicate, run_config: RunConfig
) -> None:
    assertion: dict[str, Any] = {"type": "contains", "value": "a"}
    for _ in range(6):
        assertion = {"type": "assert-set", "assert": [assertion]}
    config = {
        "prompts": ["hi"],
        "providers": ["replicate:meta/llama"],
        "tests": [{"assert": [assertion]}],
    }
    run = run_config(config)
    assert run.result.exit_code == 2 and "nest at most" in run.result.stderr


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("function(namedScores) { return namedScores.a; }", "JavaScript function"),
        ("(s) => s.a", "JavaScript function"),
        ("__import__('os').system('true')", "may be called"),
        ("a.b", "is not arithmetic"),
        ("'text'", "is not a number"),
        ("a +", "does not parse"),
        ("a if b else c", "is not arithmetic"),
    ],
)
def test_a_derived_metric_is_arithmetic_only(
    fake_replicate: FakeReplicate, run_config: RunConfig, value: str, says: str
) -> None:
    config = {**F_SCORE, "derivedMetrics": [{"name": "bad", "value": value}]}
    run = run_config(config)
    assert run.result.exit_code == 2
    assert "derivedMetrics[0].value" in run.result.stderr and says in run.result.stderr
    assert fake_replicate.requests == []


def test_derived_metric_names_are_checked(
    fake_replicate: FakeReplicate, run_config: RunConfig
) -> None:
    fake_replicate.add_model("meta/llama", answers_in_kind, official=True)
    twice = {
        **F_SCORE,
        "derivedMetrics": [{"name": "x", "value": "tp"}, {"name": "x", "value": "fp"}],
    }
    run = run_config(twice)
    assert run.result.exit_code == 2 and "derivedMetrics[1].name" in run.result.stderr
    typo = {**F_SCORE, "derivedMetrics": [{"name": "p", "value": "tp / (tp + fpp)"}]}
    run = run_config(typo)
    assert run.result.exit_code == 100
    assert "`fpp`, which no assertion's `metric` names" in " ".join(run.result.stderr.split())
    assert run.json["named_metrics"][0]["derived"] == {"p": 1.0}  # fpp counted as 0


def test_power_is_written_as_in_mathjs_and_huge_powers_have_no_value(
    fake_replicate: FakeReplicate, run_config: RunConfig
) -> None:
    fake_replicate.add_model("meta/llama", answers_in_kind, official=True)
    config = {
        **F_SCORE,
        "derivedMetrics": [
            {"name": "squared", "value": "(tp + fp) ^ 2"},
            {"name": "rooted", "value": "sqrt(squared) + max(tp, fn, 0)"},
            {"name": "huge", "value": "10 ** 10 ** 10"},
        ],
    }
    run = run_config(config)
    derived = run.json["named_metrics"][0]["derived"]
    assert derived == {"squared": 9.0, "rooted": 5.0, "huge": None}


def test_merged_shards_count_their_named_metrics_again(
    fake_replicate: FakeReplicate, run_config: RunConfig, run_cli: RunCli, tmp_path: Path
) -> None:
    fake_replicate.add_model("meta/llama", answers_in_kind, official=True)
    whole = run_config(F_SCORE).json["named_metrics"]
    parts = []
    for number in (1, 2):
        out = tmp_path / f"shard{number}.json"
        run_config(F_SCORE, "--shard", f"{number}/2", "-o", out)
        parts.append(out)
    merged = run_cli("merge", *parts, "-o", tmp_path / "all.json")
    assert merged.exit_code == 100, merged.stderr
    data = json.loads((tmp_path / "all.json").read_text())
    assert data["named_metrics"] == whole
