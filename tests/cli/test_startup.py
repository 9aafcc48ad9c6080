"""`reval` imports a command's module (and the engine behind it) only when that command runs:
`reval --version` and `reval --help` import neither the SDK nor pydantic (issue 14, start-up).
How long start-up takes is measured by `python -m tests.bench --only startup`, not tested."""

from __future__ import annotations

import inspect
import json
import re
import subprocess
import sys
from importlib import import_module
from pathlib import Path

import pytest
from typer.testing import CliRunner

from replicate_eval.cli import app
from replicate_eval.cli.lazy import COMMANDS, load_command

HEAVY = ("replicate", "httpx", "jinja2", "PIL", "pydantic", "yaml")
COMMAND_MODULES = sorted({module for module, _ in COMMANDS.values()})

# `reval ARGS` in a fresh interpreter, through the console script's entry point; then the
# modules it imported, as JSON on the last line of stderr.
PROBE = """
import json, sys
sys.argv = ["reval", *json.loads(sys.argv[1])]
from replicate_eval.entry import main
try:
    main()
except SystemExit:
    pass
sys.__stderr__.write("\\n" + json.dumps(sorted(sys.modules)) + "\\n")
"""


def imported_by(*args: str, cwd: Path | None = None, shows: str = "") -> set[str]:
    """The modules `reval ARGS` imported; its stdout must hold ``shows``."""
    completed = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        check=False,
    )
    assert shows in completed.stdout
    return set(json.loads(completed.stderr.strip().splitlines()[-1]))


def top_level(modules: set[str]) -> set[str]:
    return {name.partition(".")[0] for name in modules}


@pytest.mark.parametrize("args", [["--version"], ["--help"], []])
def test_version_and_help_import_no_engine(args: list[str]) -> None:
    modules = imported_by(*args, shows="reval" if args else "")
    assert not top_level(modules) & set(HEAVY)
    assert not modules & set(COMMAND_MODULES)


def test_a_command_imports_only_its_own_module() -> None:
    modules = imported_by("init", "--help", shows="starter config")
    assert modules & set(COMMAND_MODULES) == {"replicate_eval.cli.starter"}
    assert "replicate_eval.cli.models" in imported_by("models", "--help")


def test_validate_without_preflight_imports_no_sdk(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("prompts: ['hi <<n>>']\nproviders: [replicate:a/b]\ntests: [vars: {n: 1}]\n")
    modules = imported_by("validate", "--no-preflight", str(config), cwd=tmp_path, shows="OK.")
    assert not top_level(modules) & {"replicate", "httpx", "PIL", "sqlglot", "quickjs"}
    assert "replicate_eval.report.html" not in modules


def first_paragraph(text: str) -> str:
    """The help line `reval --help` shows for a command (Typer's rule, markdown mode)."""
    return inspect.cleandoc(text).split("\n\n")[0].replace("\n", " ").strip()


@pytest.mark.parametrize("name", list(COMMANDS))
def test_each_listed_help_line_is_the_commands_own(name: str) -> None:
    command = load_command(name)
    assert command is not None and command.name == name
    assert COMMANDS[name][1] == first_paragraph(command.short_help or command.help or "")


def test_every_registered_command_is_listed_in_the_order_typer_gave() -> None:
    for module in COMMAND_MODULES:
        import_module(module)
    registered = {info.name or info.callback.__name__ for info in app.registered_commands}
    registered |= {str(group.name) for group in app.registered_groups}
    assert registered == set(COMMANDS)
    # As `reval --help` listed them when every module was imported up front.
    assert list(COMMANDS) == [
        "run",
        "validate",
        "merge",
        "diff",
        "init",
        "schema",
        "models",
        "cache",
        "runs",
    ]


def test_help_lists_the_commands_in_order_with_their_help() -> None:
    text = CliRunner().invoke(app, ["--help"]).stdout
    commands = text[text.index("Commands") :]
    listed = re.findall(r"^│ (\w+) {2,}", commands, flags=re.MULTILINE)
    assert listed == list(COMMANDS)
    flat = " ".join(commands.replace("│", " ").split())
    for short in (line for _, line in COMMANDS.values()):
        assert " ".join(short.replace("`", "").split()) in flat


def test_a_mistyped_command_still_gets_a_suggestion() -> None:
    result = CliRunner().invoke(app, ["valdate"])
    assert result.exit_code == 2
    assert "Did you mean 'validate'?" in result.stderr
