"""The README's GitHub Actions recipe, step by step: its commands run in a real clone of a
repository with a base branch and a pull request, against the fake Replicate API.

The steps that are GitHub's own (`uses:` actions: checkout, Python, the cache) are played by
the test: a full clone is the checkout, this interpreter's reval is the install. `gh` (GitHub's
CLI) is a stand-in on PATH that records what it was asked and checks the comment's file.
"""

from __future__ import annotations

import os
import re
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import REVAL, yaml_text
from tests.fake_replicate import FakeReplicate, Reply, tokens
from tests.history.support import MODEL, config

README = Path(__file__).parents[2] / "README.md"
# The steps the test plays itself, by what they do.
GITHUB_OWN = ("actions/checkout@", "actions/setup-python@", "actions/cache@")
INSTALL = "pip install replicate-eval"
FAKE_GH = """#!/bin/sh
# Records each call; a comment must name a Markdown file that exists and is not empty.
echo "$@" >> "$GH_CALLS"
[ "$1 $2" = "pr comment" ] && [ -s "$5" ] && [ "$4" = "--body-file" ]
"""


def recipe() -> dict[str, Any]:
    text = README.read_text()
    block = text.split("# .github/workflows/evals.yml\n", 1)[1].split("```", 1)[0]
    return yaml.safe_load(block)


def briefly_wrong(model_input: dict[str, Any]) -> Reply:
    """Echoes its prompt, except that asked to be brief about beta it says only "no"."""
    prompt = str(model_input.get("prompt", ""))
    return Reply(output=tokens("no" if "beta briefly" in prompt else prompt))


def git(folder: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=folder, check=True, capture_output=True)


def repository(tmp_path: Path, pull_request_prompt: str) -> Path:
    """A repository whose main branch has evals.yaml and whose branch `pr` changes its prompt;
    returned as the full clone a `fetch-depth: 0` checkout makes, on the pull request."""
    origin = tmp_path / "origin"
    origin.mkdir()
    git(origin, "init", "-q", "-b", "main")
    git(origin, "config", "user.email", "ci@example.com")
    git(origin, "config", "user.name", "CI")
    (origin / "evals.yaml").write_text(yaml_text(config()))
    git(origin, "add", "evals.yaml")
    git(origin, "commit", "-q", "-m", "evals")
    git(origin, "checkout", "-q", "-b", "pr")
    (origin / "evals.yaml").write_text(yaml_text({**config(), "prompts": [pull_request_prompt]}))
    git(origin, "commit", "-q", "-am", "a new prompt")
    checkout = tmp_path / "work" / "repo"
    checkout.parent.mkdir()
    git(tmp_path, "clone", "-q", "--branch", "pr", str(origin), str(checkout))
    return checkout


def play(
    workflow: dict[str, Any], checkout: Path, fake: FakeReplicate, tmp_path: Path
) -> list[tuple[str, int]]:
    """Run each step as GitHub would (bash -e, the job's and step's env, `if: always()` after a
    failure); the codes of the steps run, by name."""
    job = workflow["jobs"]["evals"]
    bin_folder = tmp_path / "bin"
    bin_folder.mkdir()
    gh = bin_folder / "gh"
    gh.write_text(FAKE_GH)
    gh.chmod(gh.stat().st_mode | stat.S_IEXEC)
    expressions = {
        "secrets.REPLICATE_API_TOKEN": fake.token,
        "github.token": "github-token",
        "github.event.pull_request.number": "7",
    }

    def expand(value: str) -> str:
        return re.sub(r"\$\{\{\s*([\w.]+)\s*\}\}", lambda m: expressions[m.group(1)], value)

    base_env = {
        **os.environ,
        "PATH": f"{bin_folder}:{Path(REVAL).parent}:{os.environ['PATH']}",
        "REPLICATE_BASE_URL": fake.url,
        "GITHUB_BASE_REF": "main",
        "GITHUB_STEP_SUMMARY": str(tmp_path / "step-summary.md"),
        "GH_CALLS": str(tmp_path / "gh-calls"),
        **{name: expand(value) for name, value in job["env"].items()},
    }
    codes: list[tuple[str, int]] = []
    failed = False
    for step in job["steps"]:
        if "uses" in step:
            assert step["uses"].startswith(GITHUB_OWN), step["uses"]
            continue
        script = step["run"]
        if script.startswith(INSTALL):
            continue  # this interpreter's reval is on PATH
        if failed and step.get("if") != "always()":
            continue
        env = {**base_env, **{k: expand(v) for k, v in step.get("env", {}).items()}}
        done = subprocess.run(
            ["bash", "-e", "-c", script], cwd=checkout, env=env, capture_output=True, text=True
        )
        codes.append((step.get("name", script), done.returncode))
        failed = failed or done.returncode != 0
    return codes


@pytest.mark.parametrize(
    ("prompt", "gate"),
    [("Please say <<word>>", 0), ("Say <<word>> briefly", 100)],
    ids=["no-regression", "regression"],
)
def test_the_readme_recipe_gates_on_regressions_and_comments_the_diff(
    fake_replicate: FakeReplicate, tmp_path: Path, prompt: str, gate: int
) -> None:
    fake_replicate.add_model(MODEL, briefly_wrong, official=True)
    checkout = repository(tmp_path, prompt)
    codes = play(recipe(), checkout, fake_replicate, tmp_path)
    assert [code for _, code in codes] == [0, gate, 0]  # base, the pull request, the comment
    diff = (checkout / "diff.md").read_text()
    assert ("1 regression" in diff) == bool(gate)
    calls = (tmp_path / "gh-calls").read_text().splitlines()
    assert calls == ["pr comment 7 --body-file diff.md --edit-last"]
    summary = (tmp_path / "step-summary.md").read_text()
    assert ("1 regression" in summary) == bool(gate)  # the pull request's diff, in the summary
    assert "Say <<word>>" in summary
    assert (tmp_path / "work" / "base" / "evals.yaml").read_text() == yaml_text(config())
