"""Hostile or broken configs: refused with file:line and every mistake at once, never a
traceback, a hang, or an error after predictions were paid for."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from replicate_eval.config import file_glob
from replicate_eval.config.envfile import read_env_file
from replicate_eval.config.limits import MAX_DEPTH, MAX_GLOB_ENTRIES
from replicate_eval.config.load import load_config
from replicate_eval.errors import ConfigError

TOKEN = "r8_limits_test_token"
ENV = {"REPLICATE_API_TOKEN": TOKEN}
# YAML text on purpose: these tests are about the file (lines named in messages, anchors and
# merge keys, nesting depth, control characters), so each config is written as text.
HEAD = "prompts: ['Q <<q>>']\nproviders: [replicate:meta/llama]\n"
WriteConfig = Callable[..., Path]


def config_error(path: Path, env: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as caught:
        load_config(path, ENV if env is None else env)
    message = str(caught.value)
    assert TOKEN not in message
    return message


# --- prompts and providers are needed --------------------------------------------------------
@pytest.mark.parametrize("value", ["[]", "", "null"])
@pytest.mark.parametrize("key", ["prompts", "providers"])
def test_empty_prompts_or_providers_say_what_is_needed(
    write_config: WriteConfig, key: str, value: str
) -> None:
    lines = {"prompts": "prompts: [hi]", "providers": "providers: [replicate:meta/llama]"}
    lines[key] = f"{key}: {value}"
    path = write_config("\n".join(lines.values()) + "\n")
    line = 1 if key == "prompts" else 2
    assert f"{path}:{line}: {key}: needs at least one" in config_error(path)


def test_missing_prompts_is_one_clear_problem(write_config: WriteConfig) -> None:
    message = config_error(write_config("providers: [replicate:meta/llama]\n"))
    assert "prompts: needs at least one prompt" in message and "problems" not in message


def test_a_misspelt_section_is_one_problem_not_two(write_config: WriteConfig) -> None:
    path = write_config("prompts: [hi]\nprovider: [replicate:a/b]\n")
    assert config_error(path) == f"{path}:2: provider: unknown key; did you mean `providers`?"


def test_empty_tests_still_mean_one_test(write_config: WriteConfig) -> None:
    config = load_config(write_config(HEAD + "tests: []\n"), ENV)
    assert [dict(test.vars) for test in config.tests] == [{}]


# --- every mistake at once ---------------------------------------------------------------------
def test_every_mistake_of_the_file_and_its_tests_files_at_once(
    write_config: WriteConfig, tmp_path: Path
) -> None:
    (tmp_path / "a.csv").write_text("q,__expected\nfine,Paris\nx,y,z\nok,icontain: x\n")
    (tmp_path / "b.jsonl").write_text('{"vars": {"q": 1}}\n{"vars": {}, "asert": []}\n[1]\n')
    path = write_config(
        "descripton: typo\n"  # 1
        "prompts: [hi]\n"
        "providers:\n"
        "  - id: 5\n"  # 4
        "  - id: replicate:meta/llama\n"
        "    seed: one\n"  # 6
        "tests:\n"
        "  - file://a.csv\n"
        "  - vars: {q: a}\n"  # 9
        "    assert: [{type: containz, value: x}]\n"  # 10
        "  - file://b.jsonl\n"
        "  - file://missing.csv\n"  # 12
        "  - {assert: [{type: equals, value: x, weight: many}]}\n"  # 13
    )
    message = config_error(path)
    expected = [
        f"{path}:1: descripton: unknown key; did you mean `description`?",
        f"{path}:4: providers[0].id: expected text",
        f"{path}:6: providers[1].seed: expected a whole number",
        f"{tmp_path / 'a.csv'}:3: 3 values for 2 columns (q, __expected)",
        f"{tmp_path / 'a.csv'}:4: __expected: unknown assertion type `icontain`; "
        "did you mean `icontains`?",
        f"{tmp_path / 'b.jsonl'}:2: asert: unknown key",
        f"{tmp_path / 'b.jsonl'}:3: a test must be a mapping",
        f"{path}:12: tests[3]: cannot read the tests file {tmp_path / 'missing.csv'}: no such file",
        f"{path}:13: tests[4].assert[0].weight: expected a number",
        f"{path}:10: tests[1].assert[0].type: unknown assertion type `containz`",
    ]
    for part in expected:
        assert part in message, part
    assert f"has {len(expected)} problems" in message


def test_a_mistake_in_a_tests_file_row_names_the_row_not_the_config(
    write_config: WriteConfig, tmp_path: Path
) -> None:
    (tmp_path / "cases.jsonl").write_text(
        '{"vars": {"q": 1}}\n{"assert": [{"type": "similar", "value": 1, "threshold": 7}]}\n'
    )
    path = write_config(
        HEAD + "tests:\n  - vars: {q: inline}\n  - file://cases.jsonl\n"
        "  - assert: [{type: containz, value: x}]\n"
    )
    message = config_error(path)
    # Among all tests (from 0), test 2 is row 2 of the file and test 3 the config's tests[2].
    assert f"{tmp_path / 'cases.jsonl'}:2: assert[0].threshold:" in message
    assert f"{path}:6: tests[2].assert[0].type: unknown assertion type `containz`" in message


def test_a_tests_file_that_cannot_be_read_names_the_config_line(
    write_config: WriteConfig, tmp_path: Path
) -> None:
    (tmp_path / "folder.csv").mkdir()
    path = write_config(HEAD + "tests: file://folder.csv\n")
    assert config_error(path) == (
        f"{path}:3: tests: cannot read the tests file {tmp_path / 'folder.csv'}: "
        "is a directory, not a file"
    )


# --- what cannot be represented later --------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("tests:\n  - &t\n    vars: {q: *t}\n", 5, "alias `*t` is inside the collection"),
        ("x: &a [*a]\n", 3, "alias `*a` is inside the collection"),
        (
            "tests:\n  - vars: {q: " + "[" * 70 + "]" * 70 + "}\n",
            4,
            f"values are nested more than {MAX_DEPTH} levels deep",
        ),
        (
            "defaultTest: {vars: {q: &deep " + "[" * 40 + "]" * 40 + "}}\n"
            "tests: [{vars: {q: " + "[" * 30 + "*deep" + "]" * 30 + "}}]\n",
            4,
            f"values are nested more than {MAX_DEPTH} levels deep",
        ),
    ],
)
def test_cycles_and_deep_nesting_are_refused_with_their_line(
    write_config: WriteConfig, text: str, line: int, message: str
) -> None:
    path = write_config(HEAD + text)
    assert config_error(path).startswith(f"{path}:{line}: {message}")


def test_billion_laughs_is_refused_in_well_under_a_second(write_config: WriteConfig) -> None:
    levels = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    levels += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
    path = write_config(HEAD + "defaultTest:\n  vars:\n" + "".join(f"    {x}\n" for x in levels))
    started = time.perf_counter()
    message = config_error(path)
    assert time.perf_counter() - started < 0.5
    assert message.startswith(f"{path}:") and "aliases in this file expand to more than" in message


def test_large_configs_with_merged_defaults_still_load(write_config: WriteConfig) -> None:
    # 3,000 tests each merging 80 values: 240,000 values, past the flat minimum of 200,000.
    defaults = (
        "{assert: [" + ", ".join(f"{{type: contains, value: v{i}}}" for i in range(16)) + "]}"
    )
    tests = [f"  - {{<<: *d, vars: {{q: '{i}'}}}}\n" for i in range(1, 3000)]
    text = HEAD + f"tests:\n  - {{<<: &d {defaults}, vars: {{q: '0'}}}}\n" + "".join(tests)
    config = load_config(write_config(text), ENV)
    assert len(config.tests) == 3000 and len(config.tests[-1].assertions) == 16


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("tests: [{assert: [{type: contains, value: x, weight: .nan}]}]\n", "weight"),
        ("tests: [{threshold: .inf}]\n", "threshold"),
        ("tests: [{vars: {q: -.inf}}]\n", "vars.q"),
        ("tests: [{vars: {q: 1.0e+999}}]\n", "vars.q"),
    ],
)
def test_non_finite_numbers_are_refused(write_config: WriteConfig, text: str, where: str) -> None:
    path = write_config(HEAD + text)
    message = config_error(path)
    assert message.startswith(f"{path}:3: tests[0].") and where in message
    assert "is not a finite number" in message and "problems" not in message


def test_non_finite_provider_option_and_huge_integer(write_config: WriteConfig) -> None:
    path = write_config(
        "prompts: [hi]\nproviders:\n  - id: replicate:meta/llama\n    temperature: .nan\n"
        f"    seed: {'7' * 5000}\n"
    )
    message = config_error(path)
    assert f"{path}:4: providers[0].temperature: `.nan` is not a finite number" in message
    assert f"{path}:5: providers[0].seed: a whole number of more than 4300 digits" in message


def test_nul_byte_in_the_config(write_config: WriteConfig) -> None:
    path = write_config(HEAD + "tests: [{vars: {q: 'a\x00b'}}]\n")
    assert config_error(path).startswith(f"{path}:3: contains a NUL byte")


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("t.csv", "q\nfine\nbad\x00\n", "t.csv: contains a NUL byte (line 3)"),
        ("t.json", '[{"vars": {"q": "a\x00"}}]', "contains a NUL byte (line 1)"),
        ("t.jsonl", '{"vars": {}}\n{"vars": {"q": NaN}}\n', "t.jsonl:2: `NaN` is not a finite"),
        ("t.json", '[{"vars": {}},\n {"vars": {"q": -Infinity}}]', "t.json:2: `-Infinity`"),
        ("t.json", '[{"vars": {"q": 1e999}}]', "t.json:1: `1e999` is too large for a number"),
        ("t.jsonl", '{"vars": {"q": ' + "9" * 5000 + "}}\n", "t.jsonl:1: a whole number of more"),
        ("t.jsonl", '{"vars": {"q": ' + "[" * 100000 + "]" * 100000 + "}}\n", "t.jsonl:1: values"),
        ("t.json", "[" + '{"vars": {"q": ' + "[" * 70 + "]" * 70 + "}}]", "t.json: item 1: values"),
        ("t.yaml", "- vars: {q: .nan}\n- vars: {q: 2}\n", "t.yaml:1: item 1: vars.q: `.nan`"),
        ("t.yaml", "- &a {vars: {q: *a}}\n", "t.yaml:1: alias `*a` is inside"),
    ],
)
def test_broken_tests_files(
    write_config: WriteConfig, tmp_path: Path, name: str, content: str, message: str
) -> None:
    (tmp_path / name).write_text(content)
    text = config_error(write_config(HEAD + f"tests: file://{name}\n"))
    assert message in text and "Traceback" not in text


def test_vars_nested_270_deep_in_a_json_file_are_refused(
    write_config: WriteConfig, tmp_path: Path
) -> None:
    nested: object = "deep"
    for _ in range(270):
        nested = [nested]
    (tmp_path / "t.json").write_text(json.dumps([{"vars": {"q": nested}}]))
    message = config_error(write_config(HEAD + "tests: file://t.json\n"))
    assert f"t.json: item 1: values are nested more than {MAX_DEPTH} levels deep" in message


# --- files that are not files ------------------------------------------------------------------
@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "pipe.txt"
    os.mkfifo(path)
    return path


@pytest.mark.parametrize("kind", ["fifo", "dev-zero", "directory", "huge"])
def test_var_prompt_and_tests_files_must_be_regular_and_bounded(
    write_config: WriteConfig, tmp_path: Path, fifo: Path, kind: str
) -> None:
    if kind == "fifo":
        target = fifo
    elif kind == "dev-zero":
        target = Path("/dev/zero")
    elif kind == "directory":
        target = tmp_path / "folder.txt"
        target.mkdir()
    else:
        target = tmp_path / "huge.txt"
        with target.open("wb") as file:
            file.truncate(5 * 1024**3)  # sparse: 5 GB that take no room
    why = {
        "fifo": "is not a regular file",
        "dev-zero": "is not a regular file",
        "directory": "is a directory",
        "huge": "is larger than 16 MiB",
    }[kind]
    started = time.perf_counter()
    as_var = config_error(write_config(HEAD + f"tests: [{{vars: {{q: 'file://{target}'}}}}]\n"))
    as_prompt = config_error(
        write_config(f"prompts: ['file://{target}']\nproviders: [replicate:meta/llama]\n")
    )
    assert time.perf_counter() - started < 2
    assert f"tests[0].vars.q: cannot read {target}: {why}" in as_var
    assert f"prompts[0]: cannot read prompt file {target}: {why}" in as_prompt
    tests_file = target.with_suffix(".csv") if kind != "dev-zero" else None
    if tests_file is not None:
        target.rename(tests_file)
        message = config_error(write_config(HEAD + f"tests: file://{tests_file}\n"))
        assert f"tests: cannot read the tests file {tests_file}: " in message


def test_a_nul_in_a_file_name_is_refused(write_config: WriteConfig) -> None:
    path = write_config(HEAD + 'tests: [{vars: {q: "file://a\\0b"}}]\n')
    assert "tests[0].vars.q: cannot read " in config_error(path)


def test_the_config_itself_must_be_a_regular_file_of_bounded_size(tmp_path: Path) -> None:
    assert "is not a regular file" in config_error(Path("/dev/zero"))
    huge = tmp_path / "huge.yaml"
    with huge.open("wb") as file:
        file.truncate(3 * 1024**3)
    assert "is larger than 64 MiB" in config_error(huge)


def test_a_prompt_glob_walks_a_bounded_number_of_entries(
    write_config: WriteConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(file_glob, "MAX_GLOB_ENTRIES", 50)
    for number in range(60):
        (tmp_path / f"f{number}.md").write_text("x")
    path = write_config("prompts: ['file://**/*.txt']\nproviders: [replicate:meta/llama]\n")
    assert "looks at more than" in config_error(path)
    assert MAX_GLOB_ENTRIES >= 10_000


def test_a_prompt_glob_does_not_follow_symlink_loops(
    write_config: WriteConfig, tmp_path: Path
) -> None:
    (tmp_path / "p" / "a").mkdir(parents=True)
    (tmp_path / "p" / "a" / "one.txt").write_text("one <<q>>")
    (tmp_path / "p" / "a" / "loop").symlink_to(tmp_path / "p")
    path = write_config("prompts: ['file://p/**/*.txt']\nproviders: [replicate:meta/llama]\n")
    config = load_config(path, ENV)
    assert [prompt.template for prompt in config.prompts] == ["one <<q>>"]


# --- CSV __expected ---------------------------------------------------------------------------
def test_csv_expected_prefixes(write_config: WriteConfig, tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text(
        "q,__expected\n"
        "a,Paris\n"
        "b,Answer: 42\n"
        "c,grade: is polite\n"
        "d,not-contains: sorry\n"
        "e,starts-with: Hello\n"
        "f,similar(0.8): greetings\n"
        "g,note: plain text\n"
    )
    config = load_config(write_config(HEAD + "tests: file://t.csv\n"), ENV)
    found = [(s.type, s.value, s.threshold) for t in config.tests for s in t.assertions]
    assert found == [
        ("equals", "Paris", None),
        ("equals", "Answer: 42", None),
        ("llm-rubric", "is polite", None),
        ("not-contains", "sorry", None),
        ("starts-with", "Hello", None),
        ("similar", "greetings", 0.8),
        ("equals", "note: plain text", None),
    ]


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        ("icontain: x", "unknown assertion type `icontain`; did you mean `icontains`?"),
        ("not-equal: x", "unknown assertion type `not-equal`; did you mean `not-equals`?"),
        ("fn: output.length > 1", "`fn:` is a JavaScript check, which reval does not run"),
    ],
)
def test_csv_expected_with_an_unknown_prefix_is_an_error(
    write_config: WriteConfig, tmp_path: Path, cell: str, message: str
) -> None:
    (tmp_path / "t.csv").write_text(f"q,__expected2\nok,equals: fine\nbad,{cell}\n")
    text = config_error(write_config(HEAD + "tests: file://t.csv\n"))
    assert text.startswith(f"{tmp_path / 't.csv'}:3: __expected2: {message}")


# --- .env files and tokens -------------------------------------------------------------------
@pytest.mark.parametrize("line", [f"r8 {TOKEN}", f"{TOKEN}", f"export {TOKEN} value"])
def test_env_file_mistakes_do_not_quote_the_line(tmp_path: Path, line: str) -> None:
    (tmp_path / ".env").write_text(f"A=1\n{line}\n")
    with pytest.raises(ConfigError) as caught:
        read_env_file(tmp_path / ".env")
    message = str(caught.value)
    assert message.startswith(f"{tmp_path / '.env'}:2: ") and "KEY=VALUE" in message
    assert TOKEN not in message and "r8" not in message


@pytest.mark.parametrize(
    "token",
    [f"{TOKEN}\n", f" {TOKEN}", f"{TOKEN} x", f"r8_\t{TOKEN}", f"{TOKEN}\x07", f"{TOKEN}é"],
)
@pytest.mark.parametrize("variable", ["REPLICATE_API_TOKEN", "REPLICATE_API_KEY"])
def test_a_token_with_whitespace_or_odd_characters_is_refused_unechoed(
    write_config: WriteConfig, token: str, variable: str
) -> None:
    # A model-graded assertion: its default grader needs the token too; said once.
    path = write_config(HEAD + "tests: [{assert: [{type: llm-rubric, value: polite}]}]\n")
    message = config_error(path, {variable: token})
    assert message.startswith(f"{path}: environment variable {variable}: ")
    assert "whitespace" in message and "problems" not in message


def test_an_api_key_with_a_line_break_is_refused_unechoed(write_config: WriteConfig) -> None:
    path = write_config(
        'prompts: [hi]\nproviders:\n  - id: replicate:meta/llama\n    apiKey: "' + TOKEN + '\\n"\n'
    )
    message = config_error(path, {})
    assert message.startswith(f"{path}:4: providers[0].apiKey: the token holds whitespace")


@pytest.mark.parametrize("blank", ["", "   ", "\n"])
def test_a_blank_token_means_unset(write_config: WriteConfig, blank: str) -> None:
    config = load_config(
        write_config(HEAD), {"REPLICATE_API_TOKEN": blank, "REPLICATE_API_KEY": TOKEN}
    )
    assert config.providers[0].token.get_secret_value() == TOKEN


def test_validating_without_a_token(write_config: WriteConfig) -> None:
    path = write_config(HEAD + "tests: [{assert: [{type: llm-rubric, value: polite}]}]\n")
    assert "no Replicate API token" in config_error(path, {})
    config = load_config(path, {}, require_token=False)
    assert [p.token.get_secret_value() for p in (*config.providers, *config.graders)] == ["", ""]


def test_a_token_like_key_is_never_echoed(write_config: WriteConfig) -> None:
    path = write_config(
        "prompts: [hi]\nproviders:\n  - id: replicate:meta/llama\n"
        f"    apiKey: [{TOKEN}]\n    config: {{api_token: {TOKEN}}}\n"
    )
    message = config_error(path, {})
    assert "providers[0].apiKey: expected text" in message
    assert "providers[0].config.api_token: unknown key; did you mean `apiKey`?" in message


def test_an_env_file_that_is_a_fifo_is_refused(fifo: Path) -> None:
    with pytest.raises(ConfigError, match="is not a regular file"):
        read_env_file(fifo)


def test_the_pure_python_parser_is_bounded_too(tmp_path: Path) -> None:
    """Without libyaml (PyYAML built without it) the same loader refuses the same files."""
    script = (
        "import sys; sys.modules['yaml._yaml'] = None\n"
        "from pathlib import Path\n"
        "from replicate_eval.config import yaml_loader\n"
        "from replicate_eval.config.yaml_source import parse_yaml\n"
        "assert 'Reader' in str(yaml_loader._Parser.__mro__)\n"
        "try:\n"
        "    parse_yaml('a: &a [*a]\\n', Path('c.yaml'))\n"
        "except Exception as exc:\n"
        "    print(exc)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.startswith("c.yaml:1: alias `*a` is inside the collection")
