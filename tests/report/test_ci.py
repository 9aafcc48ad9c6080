"""reval in CI: report formats, the step summary, --fail-under, plain output, and run control."""

from __future__ import annotations

import csv
import io
import itertools
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from junitparser import Error, Failure, JUnitXml

from replicate_eval.cli.starter import config_schema
from replicate_eval.results import wilson_interval
from tests.conftest import RunCli, RunConfig
from tests.fake_replicate import FakeReplicate, Reply, tokens
from tests.graded_support import serve_answerer_and_judges

WriteConfig = Callable[..., Path]


def answers(model_input: dict[str, Any]) -> Reply:
    prompt = str(model_input.get("prompt", ""))
    if "crash" in prompt:
        return Reply(error="CUDA out of memory")
    return Reply(tokens(f"answer to {prompt}"))


@pytest.fixture
def llama(fake_replicate: FakeReplicate) -> FakeReplicate:
    fake_replicate.add_model("meta/llama", answers, official=True)
    return fake_replicate


def llama_config(prompt: str, tests: Any = None) -> dict[str, Any]:
    """One prompt for meta/llama, and its tests (a list, or a file:// reference) if any."""
    config: dict[str, Any] = {"prompts": [prompt], "providers": ["replicate:meta/llama"]}
    if tests is not None:
        config["tests"] = tests
    return config


# Three tests: one passes, one fails an assertion, one errors (the model fails).
THREE = {
    "description": "three kinds of cell",
    **llama_config(
        "Q <<q>>",
        [
            {
                "description": "passes",
                "vars": {"q": "one"},
                "assert": [{"type": "contains", "value": "one"}],
            },
            {
                "description": "fails",
                "vars": {"q": "two"},
                "assert": [{"type": "contains", "value": "three"}],
            },
            {"description": "errors", "vars": {"q": "crash"}},
        ],
    ),
}


def test_csv_junit_and_markdown_files(
    llama: FakeReplicate, run_config: RunConfig, tmp_path: Path
) -> None:
    run = run_config(
        THREE, "-o", tmp_path / "r.csv", "-o", tmp_path / "r.xml", "-o", tmp_path / "r.md"
    )
    assert run.result.exit_code == 100
    rows = list(csv.DictReader(io.StringIO((tmp_path / "r.csv").read_text())))
    assert [r["test"] for r in rows] == ["passes", "fails", "errors"]
    column = "replicate:meta/llama"
    assert [r[f"{column}: status"] for r in rows] == ["passed", "failed", "error"]
    assert rows[0][f"{column}: output"] == "answer to Q one"
    assert json.loads(rows[1]["vars"]) == {"q": "two"}
    assert "does not contain" in rows[1][f"{column}: reason"]

    xml = JUnitXml.fromfile(str(tmp_path / "r.xml"))
    [suite] = list(xml)
    assert (suite.name, suite.tests, suite.failures, suite.errors) == (column, 3, 1, 1)
    cases = {case.name: case for case in suite}
    assert cases["passes"].is_passed
    [failure] = cases["fails"].result
    assert isinstance(failure, Failure) and "does not contain" in (failure.message or "")
    [error] = cases["errors"].result
    assert isinstance(error, Error) and "CUDA out of memory" in (error.message or "")

    markdown = (tmp_path / "r.md").read_text()
    assert "**1 passed, 1 failed, 1 errors** (33% pass rate)" in markdown
    assert f"| {column} | 1 | 1 | 1 | 33% |" in markdown
    assert "| fails | replicate:meta/llama | FAILED:" in markdown
    assert "| errors | replicate:meta/llama | ERROR: prediction failed: CUDA out of memory |" in (
        markdown
    )


def test_the_github_step_summary_is_appended(
    llama: FakeReplicate, run_config: RunConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    summary = tmp_path / "summary.md"
    summary.write_text("# earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    run_config(THREE)
    text = summary.read_text()
    assert text.startswith("# earlier step\n")
    assert "## reval: three kinds of cell" in text


@pytest.mark.parametrize(
    ("threshold", "code"), [("33.3", 0), ("33.333", 0), ("33.34", 100), ("0", 0), ("100", 100)]
)
def test_fail_under(llama: FakeReplicate, run_config: RunConfig, threshold: str, code: int) -> None:
    # 1 of 3 passed is 33.33...%: the error counts as a failure.
    assert run_config(THREE, "--fail-under", threshold).result.exit_code == code


def test_exactly_at_the_threshold_passes(llama: FakeReplicate, run_config: RunConfig) -> None:
    passes, fails, _ = THREE["tests"]
    config = {
        **THREE,
        "tests": [
            passes,
            fails,
            {"description": "errors", "vars": {"q": "four"}},
            {"description": "passes too", "vars": {"q": "five"}},
        ],
    }
    # 3 of 4 pass: exactly 75%.
    assert run_config(config, "--fail-under", "75").result.exit_code == 0
    assert run_config(config, "--fail-under", "75.01").result.exit_code == 100


def test_plain_output_in_a_pipe(llama: FakeReplicate, run_config: RunConfig) -> None:
    stdout = run_config(THREE).result.stdout
    assert "\x1b[" not in stdout
    assert all(ord(char) < 128 or char in "·…" for char in stdout)  # an ASCII grid
    assert "+--" in stdout and "| passes" in stdout


# --- datasets from files ---------------------------------------------------------------------
def test_tests_from_csv_with_expectations(
    llama: FakeReplicate, run_config: RunConfig, tmp_path: Path
) -> None:
    (tmp_path / "cases.csv").write_text(
        "q,__expected,__description\n"
        "one,answer to Q one,plain text is equals\n"
        "two,contains: Q two,contains\n"
        "three,icontains: ANSWER,icontains\n"
        'four,"regex: ^answer to Q f",regex\n'
        "five,python: len(output) < 50,python\n"
        "six,,no expectation\n"
    )
    run = run_config(llama_config("Q <<q>>", "file://cases.csv"))
    assert run.result.exit_code == 0, run.cells
    assert [c["test_description"] for c in run.cells] == [
        "plain text is equals",
        "contains",
        "icontains",
        "regex",
        "python",
        "no expectation",
    ]
    assert [a["type"] for c in run.cells for a in c["assertions"]] == [
        "equals",
        "contains",
        "icontains",
        "regex",
        "python",
    ]


def test_tests_from_jsonl_yaml_json_and_inline_together(
    llama: FakeReplicate, run_config: RunConfig, tmp_path: Path
) -> None:
    (tmp_path / "a.jsonl").write_text('{"vars": {"q": "a"}}\n\n{"vars": {"q": "b"}}\n')
    (tmp_path / "b.yaml").write_text("- vars: {q: c}\n")
    (tmp_path / "c.json").write_text('[{"vars": {"q": "d"}, "description": "from json"}]')
    run = run_config(
        llama_config(
            "Q <<q>>",
            ["file://a.jsonl", {"vars": {"q": "inline"}}, "file://b.yaml", "file://c.json"],
        )
    )
    assert [c["vars"]["q"] for c in run.cells] == ["a", "b", "inline", "c", "d"]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("bad.csv", "q,r\n1,2\n3\n", "bad.csv:3: 1 values for 2 columns (q, r)"),
        ("bad.csv", "q,__expect\n1,2\n", "bad.csv:1: unknown column `__expect`"),
        ("bad.jsonl", '{"vars": {}}\n{oops\n', "bad.jsonl:2: not a JSON object"),
        ("bad.jsonl", '{"vars": {}}\n[1]\n', "bad.jsonl:2: a test must be a mapping"),
        ("bad.txt", "x", "tests are read from .csv, .json, .jsonl, .yaml, .yml files"),
    ],
)
def test_bad_rows_name_the_file_and_line(
    llama: FakeReplicate,
    run_config: RunConfig,
    tmp_path: Path,
    name: str,
    content: str,
    message: str,
) -> None:
    (tmp_path / name).write_text(content)
    run = run_config(llama_config("x", f"file://{name}"))
    assert run.result.exit_code == 2
    assert message in run.result.stderr


def test_prompt_files_globs_and_var_files(
    llama: FakeReplicate, run_config: RunConfig, tmp_path: Path
) -> None:
    (tmp_path / "prompts").mkdir()
    (tmp_path / "prompts" / "a.txt").write_text("First <<q>>\n---\nSecond <<q>>\n")
    (tmp_path / "prompts" / "b.txt").write_text("Third <<q>>")
    (tmp_path / "question.txt").write_text("from a file")
    run = run_config(llama_config("file://prompts/*.txt", [{"vars": {"q": "file://question.txt"}}]))
    assert [p["label"] for p in run.json["prompts"]] == [
        "prompts/a.txt #1",
        "prompts/a.txt #2",
        "prompts/b.txt",
    ]
    assert [c["rendered_prompt"] for c in run.cells] == [
        "First from a file",
        "Second from a file",
        "Third from a file",
    ]


def test_env_file_beside_the_config_does_not_override_the_environment(
    llama: FakeReplicate, run_config: RunConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = llama.token
    monkeypatch.delenv("REPLICATE_API_TOKEN")
    (tmp_path / ".env").write_text(
        f"# secrets\nexport REPLICATE_API_TOKEN='{token}'\nREPLICATE_TEMPERATURE=0.5\n"
    )
    monkeypatch.setenv("REPLICATE_TEMPERATURE", "0.25")
    run = run_config(llama_config("hi"))
    assert run.result.exit_code == 0, run.result.stderr
    assert run.cells[0]["input"]["temperature"] == 0.25  # the real environment wins
    other = tmp_path / "other.env"
    other.write_text("NOT VALID\n")
    run = run_config(llama_config("hi"), "--env-file", other)
    assert run.result.exit_code == 2 and "other.env:1: expected KEY=VALUE" in run.result.stderr


# --- run control -----------------------------------------------------------------------------
def test_filters_and_var_overrides(llama: FakeReplicate, run_config: RunConfig) -> None:
    run = run_config(THREE, "--filter-pattern", "^(passes|fails)$", "--var", "q=one")
    assert [c["test_description"] for c in run.cells] == ["passes", "fails"]
    assert all(c["vars"]["q"] == "one" for c in run.cells)
    run = run_config(THREE, "--filter-first-n", "1")
    assert [c["test_description"] for c in run.cells] == ["passes"]
    run = run_config(THREE, "--filter-pattern", "nothing")
    assert run.result.exit_code == 2 and "no test is selected" in run.result.stderr


def test_a_backtracking_filter_pattern_is_stopped(
    llama: FakeReplicate, run_config: RunConfig
) -> None:
    config = llama_config("hi", [{"description": "a" * 40 + "!"}])
    started = time.monotonic()
    run = run_config(config, "--filter-pattern", "^(a|aa)+$")
    assert run.result.exit_code == 2
    assert "did not finish matching the description of tests[0]" in run.result.stderr
    assert time.monotonic() - started < 15
    assert llama.received("POST") == []


def test_repeat_shows_pass_rates_and_keeps_every_run(
    fake_replicate: FakeReplicate, run_config: RunConfig, tmp_path: Path
) -> None:
    flips = itertools.cycle(["yes", "yes", "no"])
    fake_replicate.add_model("meta/llama", lambda i: Reply(tokens(next(flips))), official=True)
    run = run_config(
        llama_config("hi", [{"assert": [{"type": "equals", "value": "yes"}]}]),
        "--repeat",
        "3",
        "-j",
        "1",
        "-o",
        tmp_path / "report.html",
    )
    assert [c["repeat"] for c in run.cells] == [0, 1, 2]
    page = (tmp_path / "report.html").read_text()
    assert "2/3 passed (67%, 95% CI 21%-94%)" in page and ">FAIL<" in page
    assert [c["output"] for c in run.cells] == ["yes", "yes", "no"]
    assert len(fake_replicate.received("POST")) == 3  # distinct predictions
    assert run.json["repeat"] == 3
    assert "2/3 passed (67%, 95% CI 21%-94%)" in " ".join(run.result.stdout.split())
    again = run_config(
        llama_config("hi", [{"assert": [{"type": "equals", "value": "yes"}]}]),
        "--repeat",
        "3",
    )
    assert [c["cached"] for c in again.cells] == [True, False, False]  # only the first run


def test_wilson_intervals_against_known_values() -> None:
    assert wilson_interval(0, 10) == pytest.approx((0.0, 0.2775), abs=1e-4)
    assert wilson_interval(5, 10) == pytest.approx((0.2366, 0.7634), abs=1e-4)
    assert wilson_interval(10, 10) == pytest.approx((0.7225, 1.0), abs=1e-4)
    assert wilson_interval(2, 3) == pytest.approx((0.2077, 0.9385), abs=1e-4)


MANY = llama_config(
    "Q <<q>>",
    [
        {
            "description": f"case {n}",
            "vars": {"q": str(n)},
            "assert": [{"type": "contains", "value": str(n % 3)}],
        }
        for n in range(20)
    ],
)


def test_shards_cover_every_test_once_and_merge_back(
    llama: FakeReplicate, run_config: RunConfig, run_cli: RunCli, tmp_path: Path
) -> None:
    whole = run_config(MANY, "--no-cache").json
    seen: list[str] = []
    parts = []
    for number in (1, 2, 3):
        out = tmp_path / f"shard{number}.json"
        run = run_config(MANY, "--shard", f"{number}/3", "-o", out)
        assert run.json["shard"] == f"{number}/3"
        seen += [t["description"] for t in run.json["tests"]]
        parts.append(out)
    assert sorted(seen) == sorted(t["description"] for t in whole["tests"])  # each once
    merged = run_cli("merge", *parts, "-o", tmp_path / "all.json", "-o", tmp_path / "all.xml")
    assert merged.exit_code == 100, merged.stderr
    data = json.loads((tmp_path / "all.json").read_text())
    for key in ("cells", "passed", "failed", "errors", "planned"):
        assert data["totals"][key] == whole["totals"][key]
    assert [t["index"] for t in data["tests"]] == list(range(20))
    assert JUnitXml.fromfile(str(tmp_path / "all.xml")).tests == 20
    # The same shard twice, a missing shard, or a different config, is refused.
    twice = run_cli("merge", parts[0], *parts, "-o", tmp_path / "x.json")
    assert twice.exit_code == 2 and "is in both" in twice.stderr
    missing = run_cli("merge", parts[0], parts[2], "-o", tmp_path / "x.json")
    assert missing.exit_code == 2 and "shard(s) 2/3 missing" in missing.stderr
    other = tmp_path / "other.json"
    # Only a provider option differs: the config file is not the same.
    changed = {**MANY, "providers": [{"id": "replicate:meta/llama", "temperature": 0.9}]}
    run_config(changed, "--shard", "2/3", "-o", other)
    refused = run_cli("merge", parts[0], other, parts[2], "-o", tmp_path / "y.json")
    assert refused.exit_code == 2 and "come from different configs" in refused.stderr
    gated = run_cli("merge", *parts, "-o", tmp_path / "z.json", "--fail-under", "30")
    assert gated.exit_code == 0


def test_shards_do_not_move_when_other_tests_change(
    llama: FakeReplicate, write_config: WriteConfig
) -> None:
    from replicate_eval.config.load import load_config
    from replicate_eval.config.selection import shard_of

    env = {"REPLICATE_API_TOKEN": "r8_x"}
    before = load_config(write_config(MANY), env).tests
    shuffled = {**MANY, "tests": [{"description": "new", "vars": {"q": "new"}}, *MANY["tests"]]}
    after = load_config(write_config(shuffled, "other.yaml"), env).tests
    assignment = {t.description: shard_of(t, 3) for t in before}
    assert all(shard_of(t, 3) == assignment[t.description] for t in after if t.description != "new")


# --- starting out ----------------------------------------------------------------------------
def test_init_writes_a_config_that_validate_accepts(
    fake: FakeReplicate, run_cli: RunCli, tmp_path: Path
) -> None:
    fake.load_catalogue()
    serve_answerer_and_judges(fake)  # the default grader, which the catalogue lacks
    path = tmp_path / "reval.yaml"
    assert run_cli("init", path).exit_code == 0
    assert "# A reval eval" in path.read_text()
    result = run_cli("validate", path)
    assert result.exit_code == 0, result.stderr
    assert "OK. 6 cells (3 tests x 2 prompts x 1 providers)" in " ".join(result.stdout.split())
    again = run_cli("init", path)
    assert again.exit_code == 2 and "already exists" in again.stderr


def test_the_json_schema_accepts_the_shipped_configs(run_cli: RunCli) -> None:
    schema = json.loads(run_cli("schema").stdout)
    assert schema == config_schema()
    validator = jsonschema.Draft202012Validator(schema)
    for path in sorted((Path(__file__).parents[2] / "configs").glob("*.yaml")):
        validator.validate(yaml.safe_load(path.read_text()))
    with pytest.raises(jsonschema.ValidationError):
        validator.validate({"prompts": ["x"], "providers": ["replicate:a/b"], "tset": []})
    # Graders: one provider, or one per role; per assertion too.
    graded = {
        "prompts": ["x"],
        "providers": ["replicate:a/b"],
        "defaultTest": {"options": {"provider": {"id": "replicate:a/g", "temperature": 0}}},
        "tests": [
            {
                "options": {
                    "provider": {"text": "replicate:a/g", "embedding": {"id": "replicate:a/e"}},
                    "rubricPrompt": [{"role": "system", "content": "grade"}],
                    "factuality": {"disagree": 0.5},
                },
                "assert": [{"type": "moderation", "provider": "replicate:a/guard"}],
            }
        ],
    }
    validator.validate(graded)
    for wrong in ({"provider": {"txt": "replicate:a/g"}}, {"rubric_prompt": "x"}):
        with pytest.raises(jsonschema.ValidationError):
            validator.validate({**graded, "tests": [{"options": wrong}]})


def test_the_json_schema_knows_each_provider_type_s_options(run_cli: RunCli) -> None:
    validator = jsonschema.Draft202012Validator(json.loads(run_cli("schema").stdout))

    def config(provider: dict[str, Any]) -> dict[str, Any]:
        return {"prompts": ["x"], "providers": [provider]}

    validator.validate(config({"id": "replicate:a/b", "temperature": 0.2, "width": "any"}))
    validator.validate(config({"id": "replicate:image:a/b", "width": 512}))
    for wrong in (
        {"id": "replicate:a/b", "temperature": "hot"},
        {"id": "replicate:a/b", "config": {"max_new_tokens": 1.5}},
        {"id": "replicate:image:a/b", "width": "wide"},
        {"id": "replicate:deployment:a/b", "timeout": 0},
        {"id": "cog:models/m", "concurrency": 0},
        {"id": "openai:gpt-4"},
    ):
        with pytest.raises(jsonschema.ValidationError):
            validator.validate(config(wrong))
    text_type = next(
        case["then"]
        for case in config_schema()["$defs"]["ProviderEntry"]["anyOf"][1]["allOf"]
        if "(?!image:" in case["if"]["properties"]["id"]["pattern"]
    )
    assert text_type["properties"]["temperature"]["description"] == "sampling temperature"


def test_reports_count_every_repeat(
    fake_replicate: FakeReplicate, run_config: RunConfig, tmp_path: Path
) -> None:
    flips = itertools.cycle(["yes", "no"])
    fake_replicate.add_model("meta/llama", lambda i: Reply(tokens(next(flips))), official=True)
    run_config(
        llama_config(
            "hi", [{"description": "coin", "assert": [{"type": "equals", "value": "yes"}]}]
        ),
        "--repeat",
        "4",
        "-j",
        "1",
        "-o",
        tmp_path / "r.xml",
        "-o",
        tmp_path / "r.csv",
        "-o",
        tmp_path / "r.md",
    )
    [suite] = list(JUnitXml.fromfile(str(tmp_path / "r.xml")))
    assert (suite.tests, suite.failures) == (4, 2)
    assert {case.name for case in suite} == {f"coin (run {n} of 4)" for n in range(1, 5)}
    rows = list(csv.DictReader(io.StringIO((tmp_path / "r.csv").read_text())))
    assert [row["repeat"] for row in rows] == ["0", "1", "2", "3"]
    assert "| replicate:meta/llama | 2 | 2 | 0 | 50% |" in (tmp_path / "r.md").read_text()


def test_csv_from_a_spreadsheet_with_a_bom_and_multiline_values(
    llama: FakeReplicate, run_config: RunConfig, tmp_path: Path
) -> None:
    (tmp_path / "cases.csv").write_bytes(
        '\ufeffq,__description\n"line one\nline two",multi\nplain,single\nx,y,z\n'.encode()
    )
    run = run_config(llama_config("Q <<q>>", "file://cases.csv"))
    assert run.result.exit_code == 2
    assert "cases.csv:5: 3 values for 2 columns (q, __description)" in run.result.stderr
    (tmp_path / "cases.csv").write_bytes(
        '\ufeffq,__description\n"line one\nline two",multi\nplain,single\n'.encode()
    )
    run = run_config(llama_config("Q <<q>>", "file://cases.csv"))
    assert [c["vars"]["q"] for c in run.cells] == ["line one\nline two", "plain"]


def test_an_empty_shard_is_a_warning_and_still_merges(
    llama: FakeReplicate, run_config: RunConfig, run_cli: RunCli, tmp_path: Path
) -> None:
    one_test = llama_config("hi", [{"vars": {"q": "only"}}])
    parts = []
    for number in (1, 2):
        out = tmp_path / f"s{number}.json"
        run = run_config(one_test, "--shard", f"{number}/2", "-o", out)
        assert run.result.exit_code == 0, run.result.stderr
        empty = not run.json["tests"]
        assert empty == ("has no tests" in run.result.stderr)
        parts.append(out)
    merged = run_cli("merge", *parts, "-o", tmp_path / "all.json")
    assert merged.exit_code == 0, merged.stderr
    assert json.loads((tmp_path / "all.json").read_text())["totals"]["cells"] == 1


def test_junit_survives_control_characters_in_outputs(
    fake_replicate: FakeReplicate, run_config: RunConfig, tmp_path: Path
) -> None:
    fake_replicate.add_model(
        "meta/llama", lambda i: Reply(tokens("\x1b[31mred\x1b[0m and \x00 nul \x07")), official=True
    )
    run_config(
        llama_config("hi", [{"assert": [{"type": "contains", "value": "blue"}]}]),
        "-o",
        tmp_path / "r.xml",
    )
    [suite] = list(JUnitXml.fromfile(str(tmp_path / "r.xml")))
    [case] = list(suite)
    assert case.system_out == "red and \ufffd nul \ufffd"


def test_a_bad_item_in_a_yaml_tests_file_names_the_file(
    llama: FakeReplicate, run_config: RunConfig, tmp_path: Path
) -> None:
    (tmp_path / "cases.yaml").write_text("- vars: {q: a}\n- asert: []\n")
    run = run_config(llama_config("x", "file://cases.yaml"))
    assert run.result.exit_code == 2
    assert f"{tmp_path / 'cases.yaml'}: item 2: asert:" in run.result.stderr


def test_env_file_values_with_quotes_and_comments(tmp_path: Path) -> None:
    from replicate_eval.config.envfile import read_env_file

    (tmp_path / ".env").write_text("A=\"a b\" # note\nB=plain # note\nC='x#y'\n")
    assert read_env_file(tmp_path / ".env") == {"A": "a b", "B": "plain", "C": "x#y"}


def test_var_overrides_can_read_files(
    llama: FakeReplicate, run_config: RunConfig, tmp_path: Path
) -> None:
    (tmp_path / "q.txt").write_text("from the file")
    run = run_config(THREE, "--filter-first-n", "1", "--var", "q=file://q.txt")
    assert run.cells[0]["rendered_prompt"] == "Q from the file"
