"""promptfoo's top-level keys in a config reval runs unchanged: `env`, `evaluateOptions`,
`outputPath`, test `metadata`, and keys with no meaning here (a note, never silence)."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import RunCli, RunConfig
from tests.fake_replicate import FakeReplicate, Reply, tokens
from tests.promptfoo.support import prompts_sent, says_ok

CREATE = "/v1/models/meta/llama/predictions"
TOP_TOKEN = "r8_topLevelEnvToken0123456789abcdefghijk"


def three_tests(**top: Any) -> dict[str, Any]:
    return {
        "prompts": ["case <<n>>"],
        "providers": ["replicate:meta/llama"],
        "tests": [{"vars": {"n": n}} for n in range(3)],
        **top,
    }


def test_top_level_env_sets_the_token_and_options_and_a_providers_env_wins(
    fake_replicate: FakeReplicate, run_config: RunConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_replicate.tokens.add(TOP_TOKEN)
    fake_replicate.add_model("meta/llama", says_ok, official=True)
    monkeypatch.delenv("REPLICATE_API_TOKEN")
    run = run_config(
        {
            "env": {"REPLICATE_API_TOKEN": TOP_TOKEN, "REPLICATE_MAX_LENGTH": 50},
            "prompts": ["hi"],
            "providers": [
                {"id": "replicate:meta/llama", "label": "top"},
                {"id": "replicate:meta/llama", "label": "own", "env": {"REPLICATE_MAX_LENGTH": 9}},
            ],
        }
    )
    assert run.result.exit_code == 0, run.result.stderr
    sent = sorted((r.token, r.body["input"]["max_length"]) for r in fake_replicate.received("POST"))
    assert sent == [(TOP_TOKEN, 9), (TOP_TOKEN, 50)]
    assert TOP_TOKEN not in run.result.stdout + run.result.stderr + json.dumps(run.json)


def test_evaluate_options_set_the_runs_defaults_and_the_command_line_wins(
    fake_replicate: FakeReplicate, run_config: RunConfig
) -> None:
    fake_replicate.add_model("meta/llama", says_ok, official=True)
    options = {"maxConcurrency": 1, "delay": 300, "repeat": 2, "cache": False}
    run = run_config(three_tests(evaluateOptions=options))
    assert run.result.exit_code == 0, run.result.stderr
    assert len(run.cells) == 6 and run.json["repeat"] == 2
    creates = sorted(r.at for r in fake_replicate.received("POST", CREATE))
    # One at a time, 300 ms after each call: a sleep lasts at least its time.
    assert all(later - earlier >= 0.3 for earlier, later in itertools.pairwise(creates))
    # `cache: false`: the same config again makes its predictions again.
    again = run_config(three_tests(evaluateOptions={"cache": False}))
    assert again.json["totals"]["cached"] == 0 and again.json["totals"]["predictions"] == 3
    once = run_config(three_tests(evaluateOptions={"repeat": 2}), "--repeat", "1")
    assert len(once.cells) == 3


def test_output_path_is_written_when_the_command_names_no_file(
    fake_replicate: FakeReplicate,
    run_cli: RunCli,
    write_config: Callable[..., Path],
    tmp_path: Path,
) -> None:
    fake_replicate.add_model("meta/llama", says_ok, official=True)
    path = write_config(three_tests(outputPath=["out/results.json", "out/report.csv"]))
    (tmp_path / "out").mkdir()
    result = run_cli("run", path)
    assert result.exit_code == 0, result.stderr
    assert len(json.loads((tmp_path / "out" / "results.json").read_text())["cells"]) == 3
    assert (tmp_path / "out" / "report.csv").read_text().count("\n") >= 3
    chosen = tmp_path / "chosen.json"
    assert run_cli("run", path, "-o", chosen).exit_code == 0
    assert chosen.exists()


def test_an_output_path_reval_cannot_write_is_named(
    fake_replicate: FakeReplicate, run_cli: RunCli, write_config: Callable[..., Path]
) -> None:
    result = run_cli("run", write_config(three_tests(outputPath="results.yaml")))
    assert result.exit_code == 2
    assert "outputPath" in result.stderr and "results.yaml" in result.stderr
    assert fake_replicate.received("POST") == []


def test_metadata_is_kept_and_keys_without_meaning_here_get_a_note(
    fake_replicate: FakeReplicate, run_config: RunConfig
) -> None:
    fake_replicate.add_model("meta/llama", says_ok, official=True)
    config = three_tests(
        sharing=True,
        tags={"team": "evals"},
        extensions=["file://hooks.js:hook"],
        evaluateOptions={"showProgressBar": False},
    )
    config["defaultTest"] = {"metadata": {"suite": "smoke"}}
    config["tests"][0]["metadata"] = {"owner": "ann"}
    run = run_config(config)
    assert run.result.exit_code == 0, run.result.stderr
    assert run.json["tests"][0]["metadata"] == {"suite": "smoke", "owner": "ann"}
    assert run.json["tests"][1]["metadata"] == {"suite": "smoke"}
    assert "`sharing` is promptfoo's" in run.result.stderr
    assert "`tags` is promptfoo's" in run.result.stderr
    assert "`extensions` is promptfoo's" in run.result.stderr
    assert "`evaluateOptions.showProgressBar` is ignored" in run.result.stderr


def test_csv_metadata_columns_are_the_tests_metadata(
    fake_replicate: FakeReplicate, run_config: RunConfig, tmp_path: Path
) -> None:
    fake_replicate.add_model("meta/llama", says_ok, official=True)
    (tmp_path / "cases.csv").write_text("n,__metadata:owner,__expected\n1,ann,ok\n2,,ok\n")
    run = run_config(
        {
            "prompts": ["case <<n>>"],
            "providers": ["replicate:meta/llama"],
            "tests": "file://cases.csv",
        }
    )
    assert run.result.exit_code == 0, run.result.stderr
    assert [test["metadata"] for test in run.json["tests"]] == [{"owner": "ann"}, {}]
    assert [test["vars"] for test in run.json["tests"]] == [{"n": "1"}, {"n": "2"}]


def test_vars_from_a_file_as_promptfoo_writes_them(
    fake_replicate: FakeReplicate, run_config: RunConfig, tmp_path: Path
) -> None:
    fake_replicate.add_model("meta/llama", says_ok, official=True)
    (tmp_path / "vars.yaml").write_text("city: Paris\nlanguages: [French, English]\n")
    (tmp_path / "defaults.json").write_text('{"city": "Rome", "greeting": "hi"}')
    run = run_config(
        {
            "prompts": ["Say {{greeting}} in {{city}} in {{languages}}"],
            "providers": ["replicate:meta/llama"],
            "defaultTest": {"vars": "file://defaults.json"},
            "tests": [{"vars": "file://vars.yaml"}],
        }
    )
    assert run.result.exit_code == 0, run.result.stderr
    sent = sorted(prompts_sent(fake_replicate))
    # The test's own vars win over defaultTest's, as in promptfoo.
    assert sent == ["Say hi in Paris in English", "Say hi in Paris in French"]
    broken = run_config(
        {
            "prompts": ["hi"],
            "providers": ["replicate:meta/llama"],
            "tests": [{"vars": "file://no.yaml"}],
        }
    )
    assert broken.result.exit_code == 2 and "tests[0].vars" in broken.result.stderr


def test_evaluate_options_timeout_ms_is_the_calls_timeout_and_the_command_line_wins(
    fake_replicate: FakeReplicate, run_config: RunConfig
) -> None:
    fake_replicate.add_model(
        "meta/llama", lambda model_input: Reply(tokens("ok"), processing=1.5), official=True
    )
    config = three_tests(evaluateOptions={"timeoutMs": 500})
    config["tests"] = config["tests"][:1]
    run = run_config(config, "--no-cache")
    [cell] = run.cells
    assert cell["status"] == "error" and "0.5" in cell["error"], cell["error"]
    run = run_config(config, "--no-cache", "--timeout", "30")
    assert run.cells[0]["status"] == "passed"


def test_a_tests_prefix_and_suffix_wrap_its_rendered_prompt(
    fake_replicate: FakeReplicate, run_config: RunConfig
) -> None:
    fake_replicate.add_model("meta/llama", says_ok, official=True)
    config = three_tests(defaultTest={"options": {"prefix": "<s>", "suffix": "</s>"}})
    config["tests"][1]["options"] = {"prefix": "[INST] ", "suffix": " [/INST]"}
    run = run_config(config)
    assert run.result.exit_code == 0, run.result.stderr
    assert sorted(prompts_sent(fake_replicate)) == [
        "<s>case 0</s>",
        "<s>case 2</s>",
        "[INST] case 1 [/INST]",
    ]


@pytest.mark.parametrize(
    ("where", "key", "says"),
    [
        ("test", {"provider": "replicate:x/y"}, "every test on every provider"),
        ("options", {"runSerially": True}, "-j 1"),
        ("options", {"storeOutputAs": "answer"}, "one chat prompt"),
        ("evaluateOptions", {"maxEvalTimeMs": 1000}, "SIGTERM"),
        ("top", {"commandLineOptions": {"verbose": True}}, "`evaluateOptions`"),
    ],
)
def test_promptfoo_keys_with_no_counterpart_say_what_to_do_instead(
    fake_replicate: FakeReplicate,
    run_config: RunConfig,
    where: str,
    key: dict[str, Any],
    says: str,
) -> None:
    config = three_tests()
    if where == "test":
        config["tests"][0].update(key)
    elif where == "options":
        config["tests"][0]["options"] = key
    elif where == "evaluateOptions":
        config["evaluateOptions"] = key
    else:
        config.update(key)
    run = run_config(config)
    assert run.result.exit_code == 2
    assert next(iter(key)) in run.result.stderr and says in run.result.stderr
    assert fake_replicate.requests == []


def test_top_level_metadata_is_kept_in_the_results(
    fake_replicate: FakeReplicate, run_config: RunConfig
) -> None:
    fake_replicate.add_model("meta/llama", says_ok, official=True)
    run = run_config(three_tests(metadata={"team": "search", "ticket": 42}))
    assert run.result.exit_code == 0, run.result.stderr
    assert run.json["metadata"] == {"team": "search", "ticket": 42}


def test_promptfoo_keys_for_its_database_tracing_and_red_team_are_noted(
    fake_replicate: FakeReplicate, run_config: RunConfig
) -> None:
    fake_replicate.add_model("meta/llama", says_ok, official=True)
    run = run_config(
        three_tests(writeLatestResults=False, tracing={"enabled": True}, redteam={"purpose": "x"})
    )
    assert run.result.exit_code == 0, run.result.stderr
    for key in ("writeLatestResults", "tracing", "redteam"):
        assert f"`{key}` is promptfoo's" in run.result.stderr


def test_javascript_nunjucks_filters_are_refused_saying_what_to_do(
    fake_replicate: FakeReplicate, run_config: RunConfig
) -> None:
    run = run_config(three_tests(nunjucksFilters={"shout": "file://shout.js"}))
    assert run.result.exit_code == 2
    assert "nunjucksFilters" in run.result.stderr and "compute the value" in run.result.stderr
    assert fake_replicate.requests == []
