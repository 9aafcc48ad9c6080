"""promptfoo's `javascript` assertions: refused before anything runs, with the Python that does
the same where it is obvious."""

from __future__ import annotations

import pytest

from replicate_eval.assertions.javascript import python_equivalent
from tests.conftest import RunConfig
from tests.fake_replicate import FakeReplicate


@pytest.mark.parametrize(
    ("javascript", "python"),
    [
        ("output.toLowerCase().includes('world')", "'world' in output.lower()"),
        ("output.length > 100", "len(output) > 100"),
        (
            "output.includes('![') && output.includes('](http')",
            "'![' in output and '](http' in output",
        ),
        ("JSON.parse(output).ok === true", None),  # `true` is not Python: no guess
        (
            "output.trim() === 'yes' || output.startsWith('y')",
            "output.strip() == 'yes' or output.startswith('y')",
        ),
        ("!output.includes('x')", None),
        ("const lines = output.split('\\n');\nreturn lines.length >= 3;", None),
    ],
)
def test_obvious_one_liners_get_their_python(javascript: str, python: str | None) -> None:
    assert python_equivalent(javascript) == python


def test_a_javascript_assertion_names_its_place_and_the_python(
    fake_replicate: FakeReplicate, run_config: RunConfig
) -> None:
    run = run_config(
        "prompts: ['Say hello to {{name}}']\n"
        "providers: [replicate:meta/llama]\n"
        "tests:\n"
        "  - vars: {name: World}\n"
        "    assert:\n"
        "      - type: javascript\n"
        "        value: output.toLowerCase().includes('world')\n"
    )
    assert run.result.exit_code == 2
    stderr = run.result.stderr
    assert "config.yaml:6" in stderr or "config.yaml:7" in stderr
    assert "tests[0].assert[0]" in stderr
    assert "`'world' in output.lower()`" in stderr
    assert "Traceback" not in stderr
    assert fake_replicate.requests == []
