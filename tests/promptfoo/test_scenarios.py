"""promptfoo's `scenarios`: every data item of a scenario runs every test of it, merged as
promptfoo merges them (test over data; vars and metadata merged; assertions added up)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from tests.conftest import RunConfig
from tests.fake_replicate import FakeReplicate
from tests.promptfoo.support import prompts_sent, says_its_prompt, says_ok

LLAMA = "replicate:meta/llama"


def _config(**top: Any) -> dict[str, Any]:
    return {"prompts": ["Say <<phrase>> in <<language>>"], "providers": [LLAMA], **top}


def _languages() -> dict[str, Any]:
    return {
        "description": "greetings",
        "config": [
            {"vars": {"language": "Spanish", "hello": "Hola"}, "metadata": {"team": "es"}},
            {
                "vars": {"language": "French", "hello": "Bonjour"},
                "assert": [{"type": "contains", "value": "French"}],
                "description": "in French",
            },
        ],
        "tests": [
            {
                "description": "hello",
                "vars": {"phrase": "hello"},
                "assert": [{"type": "contains", "value": "<<language>>"}],
                "metadata": {"kind": "greeting"},
            },
            {"vars": {"phrase": "good night", "language": "German"}},
        ],
    }


def test_every_data_item_runs_every_test_merged_as_promptfoo_does(
    fake_replicate: FakeReplicate, run_config: RunConfig
) -> None:
    fake_replicate.add_model("meta/llama", says_its_prompt, official=True)
    run = run_config(_config(scenarios=[_languages()]))
    assert run.result.exit_code == 100, run.result.stderr  # French's assert on German fails
    assert sorted(prompts_sent(fake_replicate)) == [
        "Say good night in German",
        "Say good night in German",
        "Say hello in French",
        "Say hello in Spanish",
    ]
    tests = run.json["tests"]
    assert [test["vars"] for test in tests] == [
        {"language": "Spanish", "hello": "Hola", "phrase": "hello"},
        {"language": "German", "hello": "Hola", "phrase": "good night"},
        {"language": "French", "hello": "Bonjour", "phrase": "hello"},
        {"language": "German", "hello": "Bonjour", "phrase": "good night"},
    ]
    assert [test["description"] for test in tests] == ["hello", "greetings", "hello", "in French"]
    assert [test["metadata"] for test in tests] == [
        {"team": "es", "kind": "greeting"},
        {"team": "es"},
        {"kind": "greeting"},
        {},
    ]
    by_test = {cell["test_index"]: cell for cell in run.json["cells"]}
    # The data's assertions come first, then the test's own.
    assert [a["value"] for a in by_test[2]["assertions"]] == ["French", "French"]
    assert [a["pass"] for a in by_test[3]["assertions"]] == [False]
    assert by_test[0]["assertions"][0]["value"] == "Spanish"


def test_scenario_tests_follow_the_configs_own_and_take_default_test(
    fake_replicate: FakeReplicate, run_config: RunConfig
) -> None:
    fake_replicate.add_model("meta/llama", says_ok, official=True)
    scenario = {"config": [{"vars": {"language": "Dutch"}}, {"vars": {"language": "Greek"}}]}
    run = run_config(
        _config(
            tests=[{"vars": {"phrase": "yes", "language": "Latin"}}],
            defaultTest={
                "vars": {"phrase": "thanks"},
                "assert": [{"type": "equals", "value": "ok"}],
            },
            scenarios=[scenario],
        )
    )
    assert run.result.exit_code == 0, run.result.stderr
    assert [test["vars"] for test in run.json["tests"]] == [
        {"phrase": "yes", "language": "Latin"},
        {"phrase": "thanks", "language": "Dutch"},
        {"phrase": "thanks", "language": "Greek"},
    ]
    assert all(cell["assertions"][0]["type"] == "equals" for cell in run.json["cells"])


def test_only_scenarios_make_no_empty_test_of_their_own(
    fake_replicate: FakeReplicate, run_config: RunConfig
) -> None:
    fake_replicate.add_model("meta/llama", says_ok, official=True)
    scenario = {"config": [{"vars": {"language": "Dutch", "phrase": "hi"}}]}
    run = run_config(_config(tests=[], scenarios=[scenario]))
    assert run.result.exit_code == 0, run.result.stderr
    assert prompts_sent(fake_replicate) == ["Say hi in Dutch"]


def test_scenarios_from_files_with_their_tests_and_data_in_files(
    fake_replicate: FakeReplicate, run_config: RunConfig, tmp_path: Path
) -> None:
    fake_replicate.add_model("meta/llama", says_ok, official=True)
    folder = tmp_path / "scenarios"
    folder.mkdir()
    (tmp_path / "phrases.yaml").write_text(
        yaml.safe_dump([{"vars": {"phrase": "hi"}}, {"vars": {"phrase": "bye"}}])
    )
    (tmp_path / "languages.json").write_text('[{"vars": {"language": "Welsh"}}]')
    (folder / "a.yaml").write_text(
        yaml.safe_dump(
            {
                "config": [{"$values": "file://languages.json"}, {"vars": {"language": "Irish"}}],
                "tests": "file://phrases.yaml",
            }
        )
    )
    (folder / "b.yaml").write_text(
        yaml.safe_dump([{"config": [{"vars": {"language": "Manx", "phrase": "yes"}}]}])
    )
    run = run_config(_config(scenarios=["file://scenarios/*.yaml"]))
    assert run.result.exit_code == 0, run.result.stderr
    assert [(t["vars"]["phrase"], t["vars"]["language"]) for t in run.json["tests"]] == [
        ("hi", "Welsh"),
        ("bye", "Welsh"),
        ("hi", "Irish"),
        ("bye", "Irish"),
        ("yes", "Manx"),
    ]
    assert len(fake_replicate.received("POST")) == 5


def test_mistakes_name_the_scenario_key_once(
    fake_replicate: FakeReplicate, run_config: RunConfig
) -> None:
    scenario = {
        "config": [{"vars": {"language": "Dutch"}}, {"varz": {"language": "Greek"}}],
        "test": [{"vars": {"phrase": "hi"}}],
    }
    run = run_config(_config(scenarios=[scenario, {"tests": [{}]}]))
    assert run.result.exit_code == 2
    err = run.result.stderr
    assert "scenarios[0].test" in err and "tests" in err
    assert "scenarios[0].config[1].varz" in err and err.count("varz") == 1
    assert "scenarios[1].config" in err and "a scenario needs a list of data" in err
    assert "Traceback" not in err
    assert fake_replicate.requests == []


def test_a_bad_test_in_a_scenario_file_names_that_file(
    fake_replicate: FakeReplicate, run_config: RunConfig, tmp_path: Path
) -> None:
    (tmp_path / "s.yaml").write_text(
        yaml.safe_dump({"config": [{"vars": {"language": "Dutch"}}], "tests": [{"asert": []}]})
    )
    run = run_config(_config(scenarios=["file://s.yaml", "file://missing/*.yaml"]))
    assert run.result.exit_code == 2
    err = run.result.stderr
    assert "s.yaml: scenario 1, tests[0]" in err and "asert" in err
    assert "missing/*.yaml" in err and "scenario file" in err
    assert fake_replicate.requests == []


def test_scenarios_past_the_limit_are_refused_before_any_call(
    fake_replicate: FakeReplicate, run_config: RunConfig
) -> None:
    data = [{"vars": {"language": f"l{n}"}} for n in range(400)]
    tests = [{"vars": {"phrase": f"p{n}"}} for n in range(300)]
    run = run_config(_config(scenarios=[{"config": data, "tests": tests}]))
    assert run.result.exit_code == 2
    assert "more than 100,000 tests" in run.result.stderr
    assert fake_replicate.requests == []
