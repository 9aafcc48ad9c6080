"""Counts and messages that are right: what reval says it found is what it found."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.conftest import RunCli
from tests.fake_replicate import FakeReplicate


def test_validate_counts_every_warning_it_printed(
    fake_replicate: FakeReplicate, run_cli: RunCli, write_config: Callable[..., Path]
) -> None:
    fake_replicate.add_model("meta/llama", official=True)
    path = write_config(
        "prompts: ['Say {{word}}']\n"  # a config warning: {{word}} under <<var>> syntax
        "providers: [{id: replicate:meta/llama, max_lenght: 5}]\n"  # a preflight warning
        "tests: [{vars: {word: hi}}]\n"
    )
    result = run_cli("validate", path)
    assert result.exit_code == 0, result.stderr
    assert result.stderr.count("warning:") == 2
    assert "2 warning(s)" in result.stdout
