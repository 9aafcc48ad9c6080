"""Counts and messages that are right: what reval says it found is what it found."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import RunCli
from tests.fake_replicate import FakeReplicate


def test_validate_counts_every_warning_it_printed(
    fake_replicate: FakeReplicate, run_cli: RunCli, write_config: Callable[..., Path]
) -> None:
    fake_replicate.add_model("meta/llama", official=True)
    path = write_config(
        {
            "template_syntax": "angle",
            "prompts": ["Say {{word}}"],  # a config warning: {{word}} under <<var>> syntax
            "providers": [{"id": "replicate:meta/llama", "max_lenght": 5}],  # a preflight warning
            "tests": [{"vars": {"word": "hi"}}],
        }
    )
    result = run_cli("validate", path)
    assert result.exit_code == 0, result.stderr
    assert result.stderr.count("warning:") == 2
    assert "2 warning(s)" in result.stdout


def test_validate_without_the_preflight_needs_no_token_and_no_network(
    run_cli: RunCli, write_config: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REPLICATE_BASE_URL", "http://127.0.0.1:1")  # nothing listens there
    path = write_config({"prompts": ["hi"], "providers": ["replicate:meta/llama"]})
    result = run_cli("validate", path, "--no-preflight")
    assert result.exit_code == 0, result.stderr
    assert "OK. 1 cells" in result.stdout
    checked = run_cli("validate", path)  # with the preflight, the token is needed
    assert checked.exit_code == 2 and "no Replicate API token" in checked.stderr
