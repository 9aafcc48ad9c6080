"""promptfoo's output transforms, written in Python: the provider's, the test's (and
defaultTest's, and `postprocess`), an assertion's; JavaScript ones refused with their Python."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from replicate_eval.transforms import javascript_in
from tests.conftest import RunConfig
from tests.fake_replicate import FakeReplicate, Reply, tokens
from tests.promptfoo.support import inputs_sent, says_ok


def says(text: str) -> Any:
    def reply(model_input: dict[str, Any]) -> Reply:
        return Reply(tokens(text))

    return reply


def one_test(**test: Any) -> dict[str, Any]:
    return {"prompts": ["hi"], "providers": ["replicate:meta/llama"], "tests": [test]}


def test_the_provider_transform_runs_before_the_tests_and_neither_is_sent(
    fake_replicate: FakeReplicate, run_config: RunConfig
) -> None:
    fake_replicate.add_model("meta/llama", says_ok, official=True)
    config = one_test(options={"transform": "output + '2'"})
    config["tests"][0]["assert"] = [{"type": "equals", "value": "ok12"}]
    config["providers"] = [{"id": "replicate:meta/llama", "transform": "output + '1'"}]
    run = run_config(config)
    assert run.result.exit_code == 0, run.result.stdout + run.result.stderr
    [cell] = run.cells
    assert cell["output"] == "ok12"  # the cell's output is the transformed one, as promptfoo's
    assert inputs_sent(fake_replicate) == [{"prompt": "hi"}]


def test_default_test_transform_applies_unless_the_test_has_its_own_and_postprocess_is_its_old_name(
    fake_replicate: FakeReplicate, run_config: RunConfig
) -> None:
    fake_replicate.add_model("meta/llama", says("  Paris  "), official=True)
    run = run_config(
        {
            "prompts": ["hi"],
            "providers": ["replicate:meta/llama"],
            "defaultTest": {"options": {"transform": "output.strip()"}},
            "tests": [
                {"description": "default", "assert": [{"type": "equals", "value": "Paris"}]},
                {
                    "description": "own",
                    "options": {"transform": "output.strip().upper()"},
                    "assert": [{"type": "equals", "value": "PARIS"}],
                },
            ],
        }
    )
    assert run.result.exit_code == 0, run.result.stdout + run.result.stderr
    assert [cell["output"] for cell in run.cells] == ["Paris", "PARIS"]

    only_postprocess = one_test(options={"postprocess": "output.strip().lower()"})
    only_postprocess["tests"][0]["assert"] = [{"type": "equals", "value": "paris"}]
    run = run_config(only_postprocess)
    assert run.result.exit_code == 0, run.result.stdout + run.result.stderr


def test_an_assertion_transform_changes_only_what_that_assertion_sees(
    fake_replicate: FakeReplicate, run_config: RunConfig
) -> None:
    fake_replicate.add_model("meta/llama", says("Hello World"), official=True)
    run = run_config(
        one_test(
            **{
                "assert": [
                    {"type": "equals", "value": "hello world", "transform": "output.lower()"},
                    {"type": "equals", "value": "Hello World"},
                    {"type": "word-count", "value": 1, "transform": "output.split()[0]"},
                ]
            }
        )
    )
    assert run.result.exit_code == 0, run.result.stdout + run.result.stderr
    [cell] = run.cells
    assert cell["output"] == "Hello World"
    assert [a["pass"] for a in cell["assertions"]] == [True, True, True]


def test_a_transform_to_json_gives_checks_the_value_and_text_assertions_its_compact_json(
    fake_replicate: FakeReplicate, run_config: RunConfig
) -> None:
    fake_replicate.add_model("meta/llama", says('{ "city": "Paris", "n": 2 }'), official=True)
    config = one_test(options={"transform": "json.loads(output)"})
    config["tests"][0]["assert"] = [
        {"type": "python", "value": "output['city'] == 'Paris' and output['n'] == 2"},
        {"type": "javascript", "value": "output.city === 'Paris'"},
        {"type": "contains", "value": '"city":"Paris"'},
        {"type": "equals", "value": "Paris", "transform": "output['city']"},
    ]
    run = run_config(config)
    assert run.result.exit_code == 0, run.result.stdout + run.result.stderr
    [cell] = run.cells
    assert cell["output"] == '{"city":"Paris","n":2}'
    assert all(a["pass"] for a in cell["assertions"]), cell["assertions"]


def test_transforms_from_a_python_file_get_the_output_and_context(
    fake_replicate: FakeReplicate, run_config: RunConfig, tmp_path: Path
) -> None:
    (tmp_path / "shape.py").write_text(
        "def get_transform(output, context):\n"
        "    return f\"{context['vars']['who']}: {output} ({context['provider']})\"\n"
        "\n"
        "def shout(output, context):\n"
        "    return output.upper()\n"
    )
    fake_replicate.add_model("meta/llama", says_ok, official=True)
    config = one_test(vars={"who": "Ann"}, options={"transform": "file://shape.py"})
    config["tests"][0]["assert"] = [
        {"type": "equals", "value": "Ann: ok (replicate:meta/llama)"},
        {"type": "contains", "value": "ANN: OK", "transform": "file://shape.py:shout"},
    ]
    run = run_config(config)
    assert run.result.exit_code == 0, run.result.stdout + run.result.stderr


def test_a_transform_may_be_a_function_body(
    fake_replicate: FakeReplicate, run_config: RunConfig
) -> None:
    fake_replicate.add_model("meta/llama", says("a, b ,c"), official=True)
    body = "parts = [p.strip() for p in output.split(',')]\nreturn '|'.join(parts)\n"
    config = one_test(options={"transform": body})
    config["tests"][0]["assert"] = [{"type": "equals", "value": "a|b|c"}]
    run = run_config(config)
    assert run.result.exit_code == 0, run.result.stdout + run.result.stderr


@pytest.mark.parametrize(
    ("code", "python"),
    [
        ("output.trim()", "output.strip()"),
        ("JSON.parse(output)", "json.loads(output)"),
        ("output.toLowerCase().trim()", "output.lower().strip()"),
        ("return output.length;", "len(output)"),
        ("JSON.parse(output).answer", 'json.loads(output)["answer"]'),
        ("(output) => output.trim()", None),
        ("const data = JSON.parse(output);\nreturn data.answer;\n", None),
    ],
)
def test_a_javascript_transform_is_refused_with_its_key_line_and_python(
    fake_replicate: FakeReplicate, run_config: RunConfig, code: str, python: str | None
) -> None:
    fake_replicate.add_model("meta/llama", says_ok, official=True)
    run = run_config(one_test(options={"transform": code}))
    assert run.result.exit_code == 2
    stderr = " ".join(run.result.stderr.split())
    assert "tests[0].options.transform" in stderr and "JavaScript" in stderr
    assert "config.yaml:" in stderr  # with its line
    if python is not None:
        assert f"In Python: `{python}`" in stderr
    else:
        assert "In Python" not in stderr
    assert "Traceback" not in run.result.stderr
    assert fake_replicate.requests == []


@pytest.mark.parametrize(
    ("where", "key"),
    [("provider", "providers[0].transform"), ("assertion", "tests[0].assert[0].transform")],
)
def test_javascript_is_refused_wherever_a_transform_is(
    fake_replicate: FakeReplicate, run_config: RunConfig, where: str, key: str
) -> None:
    config = one_test(**{"assert": [{"type": "contains", "value": "ok"}]})
    if where == "provider":
        config["providers"] = [{"id": "replicate:meta/llama", "transform": "output.trim()"}]
    else:
        config["tests"][0]["assert"][0]["transform"] = "output.trim()"
    run = run_config(config)
    assert run.result.exit_code == 2
    assert key in run.result.stderr and "output.strip()" in run.result.stderr


@pytest.mark.parametrize(
    ("transform", "says"),
    [
        ("file://shape.js", "is not a .py file"),
        ("file://missing.py", "no such Python file"),
        ("output.strip(", "does not compile"),
        ("", "Python code as text"),
    ],
)
def test_a_transform_that_cannot_be_compiled_is_a_config_error(
    fake_replicate: FakeReplicate, run_config: RunConfig, transform: str, says: str
) -> None:
    run = run_config(one_test(options={"transform": transform}))
    assert run.result.exit_code == 2
    assert "tests[0].options.transform" in run.result.stderr and says in run.result.stderr
    assert "Traceback" not in run.result.stderr


@pytest.mark.parametrize(
    ("transform", "says"),
    [
        ("1 / 0", "raised ZeroDivisionError"),
        ("None", "returned None"),
        ("exit(0)", "called exit(0) instead of returning a value"),
        ("{1, 2}", "JSON cannot hold"),
        ("float('nan')", "JSON cannot hold"),
    ],
)
def test_a_test_transform_that_fails_makes_the_cell_an_error_and_the_run_goes_on(
    fake_replicate: FakeReplicate, run_config: RunConfig, transform: str, says: str
) -> None:
    fake_replicate.add_model("meta/llama", says_ok, official=True)
    config = one_test(options={"transform": transform})
    config["tests"].append({"vars": {}, "assert": [{"type": "equals", "value": "ok"}]})
    run = run_config(config)
    assert run.result.exit_code == 100
    failing, fine = run.cells
    assert failing["status"] == "error"
    assert "the test's transform" in failing["error"] and says in failing["error"]
    assert failing["output"] == "ok"  # the model's own output, kept to look at
    assert fine["status"] == "passed"


def test_a_transform_that_never_returns_is_stopped(
    fake_replicate: FakeReplicate, run_config: RunConfig
) -> None:
    fake_replicate.add_model("meta/llama", says_ok, official=True)
    config = one_test(options={"transform": "while True:\n    pass\n"})
    run = run_config(config, "--check-timeout", "1")
    assert run.result.exit_code == 100
    [cell] = run.cells
    assert cell["status"] == "error" and "did not finish within 1 s" in cell["error"]


def test_a_failing_assertion_transform_fails_that_assertion_only(
    fake_replicate: FakeReplicate, run_config: RunConfig
) -> None:
    fake_replicate.add_model("meta/llama", says("not json"), official=True)
    config = one_test(
        **{
            "assert": [
                {"type": "equals", "value": "x", "transform": "json.loads(output)['x']"},
                {"type": "contains", "value": "json"},
            ]
        }
    )
    run = run_config(config)
    assert run.result.exit_code == 100
    [cell] = run.cells
    assert cell["status"] == "failed"
    first, second = cell["assertions"]
    assert not first["pass"] and "the assertion's transform" in first["reason"]
    assert "JSONDecodeError" in first["reason"]
    assert second["pass"]


def test_a_not_assertion_whose_transform_failed_still_fails(
    fake_replicate: FakeReplicate, run_config: RunConfig
) -> None:
    fake_replicate.add_model("meta/llama", says_ok, official=True)
    config = one_test(**{"assert": [{"type": "not-equals", "value": "x", "transform": "1/0"}]})
    run = run_config(config)
    assert run.result.exit_code == 100
    [cell] = run.cells
    assert not cell["assertions"][0]["pass"]


def test_a_cached_answer_is_transformed_by_todays_transform(
    fake_replicate: FakeReplicate, run_config: RunConfig, tmp_path: Path
) -> None:
    fake_replicate.add_model("meta/llama", says("Ok"), official=True)
    cache = ["--cache-dir", str(tmp_path / "cache")]
    first = run_config(one_test(options={"transform": "output.upper()"}), *cache)
    second = run_config(one_test(options={"transform": "output.lower()"}), *cache)
    assert [first.cells[0]["output"], second.cells[0]["output"]] == ["OK", "ok"]
    assert second.cells[0]["cached"] is True
    assert len(fake_replicate.received("POST")) == 1


@pytest.mark.parametrize(
    "code",
    [
        "re.match(r'\\w+', output)[0]",
        "output.replace('&&', 'and')",
        "output.split('||')[0]",
        "'const x = 1' + output",
        "output if len(output) > 3 else 'short'",
        "return output.strip()",
    ],
)
def test_python_that_merely_resembles_javascript_is_python(code: str) -> None:
    assert not javascript_in(code)
