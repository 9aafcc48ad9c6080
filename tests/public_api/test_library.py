"""reval used from Python through its public API only: ``import replicate_eval``, nothing private.

The fake Replicate API (tests/fake_replicate) is the test double, reached over a real socket.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest

import replicate_eval as reval
from tests.fake_replicate import FakeReplicate, Reply, tokens


def capital(model_input: dict[str, Any]) -> Reply:
    return Reply(tokens("The capital is Paris." if "France" in model_input["prompt"] else "Rome."))


CONFIG: dict[str, Any] = {
    "description": "capitals",
    "prompts": ["What is the capital of <<country>>?"],
    "providers": ["replicate:meta/meta-llama-3-8b-instruct"],
    "tests": [
        {"vars": {"country": "France"}, "assert": [{"type": "contains", "value": "Paris"}]},
        {"vars": {"country": "Italy"}, "assert": [{"type": "contains", "value": "Paris"}]},
    ],
}


@pytest.fixture
def llama(fake_replicate: FakeReplicate) -> FakeReplicate:
    fake_replicate.add_model("meta/meta-llama-3-8b-instruct", capital, official=True)
    return fake_replicate


def test_an_eval_inside_a_pytest_test_asserts_on_the_pass_rate(
    llama: FakeReplicate, tmp_path: Path
) -> None:
    # As the README's "Use from Python" shows it.
    config = reval.load(CONFIG, base_dir=tmp_path)
    result = reval.evaluate(config, reval.EvalOptions(cache=False))

    assert result.totals.pass_rate == 0.5
    assert [cell.status for cell in result.cells] == ["passed", "failed"]
    assert reval.exit_code(result) == reval.ExitCode.FAILURES
    assert reval.exit_code(result, fail_under=50) == reval.ExitCode.OK
    prompts = [
        r.body["input"]["prompt"]
        for r in llama.received("POST", "/v1/models/meta/meta-llama-3-8b-instruct/predictions")
    ]
    assert sorted(prompts) == ["What is the capital of France?", "What is the capital of Italy?"]


def test_evaluate_never_prints_and_reports_through_events(
    llama: FakeReplicate, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    events: list[reval.Event] = []
    config = reval.load(CONFIG, base_dir=tmp_path)
    reval.evaluate(config, reval.EvalOptions(cache=tmp_path / "cache"), on_event=events.append)

    assert capfd.readouterr() == ("", "")
    kinds = [type(event).__name__ for event in events]
    assert kinds == [
        "PreflightStarted",
        "PreflightFinished",
        "RunStarted",
        "CellFinished",
        "CellFinished",
    ]
    finished = [e for e in events if isinstance(e, reval.CellFinished)]
    assert [(e.done, e.total) for e in finished] == [(1, 2), (2, 2)]


def test_a_file_config_with_selection_and_vars(llama: FakeReplicate, tmp_path: Path) -> None:
    path = tmp_path / "evals.yaml"
    path.write_text(json.dumps(CONFIG))  # JSON is YAML

    config = reval.load(path, vars={"country": "France"}, filter_first_n=1)
    result = reval.evaluate(config, reval.EvalOptions(cache=False, preflight=False))

    assert len(config.tests) == 1
    assert result.totals.passed == 1 and result.config_path == str(path)


def test_async_form_in_a_running_loop(llama: FakeReplicate, tmp_path: Path) -> None:
    config = reval.load(CONFIG, base_dir=tmp_path)

    async def main() -> reval.RunResult:
        return await reval.evaluate_async(config, reval.EvalOptions(cache=False))

    assert asyncio.run(main()).totals.cells == 2


def test_results_files_round_trip(llama: FakeReplicate, tmp_path: Path) -> None:
    result = reval.evaluate(reval.load(CONFIG, base_dir=tmp_path), reval.EvalOptions(cache=False))

    written = reval.write_results(result, [tmp_path / "r.json", tmp_path / "r.md"])

    assert written.failures == [] and len(written.files) == 2
    again = reval.read_results(tmp_path / "r.json")
    assert again.totals == result.totals and again.cells == result.cells
    with pytest.raises(reval.UsageError):
        reval.write_results(result, [tmp_path / "r.docx"])
    (tmp_path / "junk.json").write_text("{}")
    with pytest.raises(reval.ConfigError, match="not a reval results file"):
        reval.read_results(tmp_path / "junk.json")


def test_validate_finds_a_missing_var_without_a_prediction(
    llama: FakeReplicate, tmp_path: Path
) -> None:
    broken = {**CONFIG, "prompts": ["<<country>> and <<city>>"]}

    found = reval.validate(reval.load(broken, base_dir=tmp_path), preflight=False)

    assert not found.ok and found.cells == 2
    assert "city" in found.problems[0]
    assert llama.received("POST", "/v1/models/meta/meta-llama-3-8b-instruct/predictions") == []


def test_a_wrong_input_fails_the_preflight_before_paying(
    llama: FakeReplicate, tmp_path: Path
) -> None:
    wrong = {
        **CONFIG,
        "providers": [
            {"id": "replicate:meta/meta-llama-3-8b-instruct", "config": {"temprature": 0.5}}
        ],
    }
    config = reval.load(wrong, base_dir=tmp_path)

    with pytest.raises(reval.PreflightFailed) as caught:
        reval.evaluate(config, reval.EvalOptions(cache=False, strict=True))

    assert caught.value.findings and isinstance(caught.value, reval.RevalError)
    assert llama.received("POST", "/v1/models/meta/meta-llama-3-8b-instruct/predictions") == []


def test_config_problems_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(reval.ConfigError, match="providers"):
        reval.load({"prompts": ["hi"], "providerz": []}, base_dir=tmp_path)
    with pytest.raises(reval.ConfigError, match="--shard"):
        reval.load(CONFIG, base_dir=tmp_path, shard="3/2", require_token=False)


def test_the_public_names_are_importable_from_the_package_root() -> None:
    for name in reval.__all__:
        assert getattr(reval, name) is not None, name
    with pytest.raises(AttributeError):
        _ = reval.build_plan  # type: ignore[attr-defined]


def test_the_readme_example_runs_as_written(
    llama: FakeReplicate, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    section = readme.split("## Use from Python", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    evals = {**CONFIG, "prompts": ["<<tone>>: what is the capital of <<country>>?"]}
    evals["tests"] = [CONFIG["tests"][0]] * 10
    (tmp_path / "evals.yaml").write_text(json.dumps(evals))
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, Any] = {}

    exec(compile(code, "README.md", "exec"), namespace)
    namespace["test_capitals_do_not_regress"]()  # 10 of 10 pass

    evals["tests"] = [CONFIG["tests"][1]] * 2 + [CONFIG["tests"][0]] * 8
    (tmp_path / "evals.yaml").write_text(json.dumps(evals))
    with pytest.raises(AssertionError, match=r"failing tests: \[0, 1\]"):
        namespace["test_capitals_do_not_regress"]()  # 8 of 10 is under 0.9


def test_evaluate_never_builds_the_repr_of_its_result(
    llama: FakeReplicate, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # asyncio.run's SIGINT handler holds the main task, and the signal module builds that
    # handler's repr (the task's, with its result) when asyncio puts it back: for a RunResult
    # of thousands of cells, a second of nothing. The result must not be the task's.
    built: list[str] = []
    monkeypatch.setattr(reval.RunResult, "__repr__", lambda self: built.append("repr") or "R")
    result = reval.evaluate(reval.load(CONFIG, base_dir=tmp_path), reval.EvalOptions(cache=False))
    assert len(result.cells) == 2
    assert built == []


def test_a_stop_during_the_preflight_ends_the_call_at_once(
    llama: FakeReplicate, tmp_path: Path
) -> None:
    # The schema read stalls for 30 s; the stop must not wait for it (nothing has run yet).
    llama.stall_next("GET", r"^/v1/models/", 30, times=9)
    config = reval.load(CONFIG, base_dir=tmp_path)

    async def stopped_during_preflight() -> None:
        stop = asyncio.Event()

        def on_event(event: reval.Event) -> None:
            if isinstance(event, reval.PreflightStarted):
                asyncio.get_running_loop().call_later(0.3, stop.set)

        await reval.evaluate_async(
            config, reval.EvalOptions(cache=False), on_event=on_event, stop=stop
        )

    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        asyncio.run(stopped_during_preflight())
    assert time.monotonic() - started < 5
    assert not llama.received("POST", "/v1/models/meta/meta-llama-3-8b-instruct/predictions")


def test_a_configs_evaluate_options_are_the_librarys_defaults_too(
    llama: FakeReplicate, tmp_path: Path
) -> None:
    config = reval.load(
        {**CONFIG, "evaluateOptions": {"repeat": 2, "cache": False}}, base_dir=tmp_path
    )
    result = reval.evaluate(config)
    assert result.repeat == 2 and len(result.cells) == 4
    assert result.totals.cached == 0
    # What the caller says wins.
    assert len(reval.evaluate(config, reval.EvalOptions(repeat=1)).cells) == 2
