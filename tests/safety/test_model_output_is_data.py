"""Model output is data: no escape sequence reaches the terminal or a CI page, and no cell of
the CSV file is a spreadsheet formula."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

import pytest
from junitparser import JUnitXml
from rich.console import Console

from replicate_eval.report.table import results_table, summary_line
from replicate_eval.results import RunResult
from replicate_eval.terminal_text import printable
from tests.conftest import RunConfig
from tests.fake_replicate import FakeReplicate, Reply, tokens


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("plain\ttext\nnext line", "plain\ttext\nnext line"),
        ("é ✓ 漢字 — emoji 🙂", "é ✓ 漢字 — emoji 🙂"),
        ("\x1b[31mred\x1b[0m", "red"),
        ("a\x1b[2Jb\x1b[Hc", "abc"),  # clear screen, cursor home
        ("x\x1b[6ny\x1b[c", "xy"),  # cursor position and device attribute queries
        ("\x1b[?1049h\x1b[1;24r", ""),  # alternate screen, scroll region
        ("\x1b]0;pwned\x07title", "title"),  # window title, BEL-terminated
        ("\x1b]2;pwned\x1b\\title", "title"),  # window title, ST-terminated
        ("\x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\", "click"),  # hyperlink
        ("\x1b]52;c;cm0gLXJmIH4=\x07", ""),  # write the clipboard
        ("\x1bP+q544e\x1b\\ok", "ok"),  # DCS (XTGETTCAP query)
        ("\x1b_apc\x1b\\\x1b^pm\x1b\\\x1bXsos\x1b\\ok", "ok"),
        ("\x9b2J\x9d0;t\x9c\x90q\x9cok", "ok"),  # 8-bit CSI, OSC, DCS, ST
        ("\x1bc\x1b(0\x1b7ok", "ok"),  # reset, line-drawing charset, save cursor
        ("secret\rpublic", "secret\npublic"),  # \r would overwrite the line
        ("windows\r\nline", "windows\nline"),
        ("lone \x85 \x1b\n\x9b", "lone \ufffd \ufffd\n\ufffd"),
        ("\x1b Fok", "ok"),  # ESC SP F (7-bit answers) has an intermediate byte
        (
            "bell\x07 nul\x00 bs\x08 del\x7f vt\x0b ff\x0c",
            "bell\ufffd nul\ufffd bs\ufffd del\ufffd vt\ufffd ff\ufffd",
        ),
        ("\x1b]0;never terminated", "0;never terminated"),  # only the introducer goes
        ("half a pair \ud83d", "half a pair \ufffd"),
    ],
)
def test_printable_removes_what_a_terminal_would_obey(text: str, shown: str) -> None:
    assert printable(text) == shown


# A model that answers with most of what a terminal obeys: clear the screen, retitle the
# window, a hidden link, the clipboard, a cursor-position query (the terminal would type the
# answer into the shell), an 8-bit CSI, a line overwritten with \r, and backspaces.
HOSTILE = (
    "ok\x1b[2J\x1b]0;pwned\x07\x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\"
    "\x1b]52;c;ZXZpbA==\x07\x1b[6n\x9b31mred\x1bPq#0\x1b\\ safe\rhidden\x08\x08"
)
# What the terminal may still see: Rich's own colours and nothing else.
_RICH_COLOURS = re.compile(r"\x1b\[[0-9;]*m")


def _assert_inert(text: str) -> None:
    for char in "\x1b\x9b\x9d\x07\x08\r\x00":
        assert char not in text, (char, text)


@pytest.fixture
def hostile(fake_replicate: FakeReplicate) -> FakeReplicate:
    def behaviour(model_input: dict[str, Any]) -> Reply:
        if "crash" in str(model_input["prompt"]):
            return Reply(error="CUDA \x1b]0;pwned\x07out of memory\x1b[2J")
        return Reply(tokens(HOSTILE))

    fake_replicate.add_model("meta/llama", behaviour, official=True)
    return fake_replicate


CONFIG = {
    "description": "hostile \x1b[2J outputs",
    "prompts": ["<<q>>"],
    "providers": ["replicate:meta/llama"],
    "tests": [
        {
            "vars": {"q": "=cmd|' /C calc'!A0 \x1b]0;title\x07"},
            "assert": [{"type": "equals", "value": "nothing"}],
        },
        {"vars": {"q": "crash"}},
    ],
}


def test_the_table_shows_hostile_outputs_as_text(
    hostile: FakeReplicate, run_config: RunConfig
) -> None:
    run = run_config(CONFIG)
    assert run.result.exit_code == 100
    _assert_inert(run.result.stdout)
    assert "okclickred" in run.result.stdout and "CUDA out of memory" in run.result.stdout
    assert "| q==cmd|' /C calc'!A0  |" in run.result.stdout  # the title made of vars

    # And on a real terminal, where Rich adds its own colours.
    console = Console(file=io.StringIO(), force_terminal=True, width=200, color_system="truecolor")
    result = RunResult.model_validate(run.json)
    console.print(results_table(result, max_cell_length=500))
    console.print(summary_line(result))
    rendered = console.file.getvalue()  # type: ignore[attr-defined]
    assert "\x1b[2J" not in rendered and "\x1b]" not in rendered
    _assert_inert(_RICH_COLOURS.sub("", rendered))
    assert "okclickred" in _RICH_COLOURS.sub("", rendered)


def test_junit_and_markdown_carry_no_escape_sequences(
    hostile: FakeReplicate, run_config: RunConfig, tmp_path: Path
) -> None:
    run_config(CONFIG, "-o", tmp_path / "r.xml", "-o", tmp_path / "r.md")
    xml = (tmp_path / "r.xml").read_text()
    markdown = (tmp_path / "r.md").read_text()
    for text in (xml, markdown):
        _assert_inert(text)
    [suite] = list(JUnitXml.fromfile(str(tmp_path / "r.xml")))
    first, second = list(suite)
    assert first.name.strip() == "q==cmd|' /C calc'!A0"
    assert first.system_out.startswith("okclickred safe\nhidden")
    assert "CUDA out of memory" in (second.result[0].message or "")
    assert "## reval: hostile outputs" in markdown  # the description (from the config) too


def test_csv_cells_are_never_formulas(
    fake_replicate: FakeReplicate, run_config: RunConfig, tmp_path: Path
) -> None:
    answers = {
        "a": '=HYPERLINK("https://evil.example","x")',
        "b": "+1+2",
        "c": "-2+3",
        "d": "@SUM(A1)",
        "e": "\tpadded",
        "f": "\rline",
        "g": "a=b is fine",
        "h": "-",
    }
    fake_replicate.add_model(
        "meta/llama", lambda i: Reply(tokens(answers[i["prompt"]])), official=True
    )
    config = {
        "prompts": ["<<q>>"],
        "providers": ["replicate:meta/llama"],
        "tests": [{"vars": {"q": key}} for key in answers]
        + [{"description": "=1+1", "vars": {"q": "a"}}],
    }
    run_config(config, "-o", tmp_path / "r.csv")
    with (tmp_path / "r.csv").open(newline="") as file:
        rows = list(csv.DictReader(file))
    column = "replicate:meta/llama: output"
    assert [row[column] for row in rows[:-1]] == [
        '\'=HYPERLINK("https://evil.example","x")',
        "'+1+2",
        "'-2+3",
        "'@SUM(A1)",
        "'\tpadded",
        "'\rline",
        "a=b is fine",
        "'-",
    ]
    assert rows[-1]["test"] == "'=1+1"
    for row in rows:
        for value in row.values():
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), row
