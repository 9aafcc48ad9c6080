"""The configs shipped in configs/ stay loadable and do what their comments say."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from replicate_eval.config.load import load_config
from tests.conftest import RunCli
from tests.fake_replicate import FakeReplicate
from tests.fake_replicate.demo import GEMMA_VERSION, SDXL_VERSION, main, serve_demo_models

CONFIGS = Path(__file__).parents[2] / "configs"


EVAL_FILES = sorted(p for p in CONFIGS.glob("**/*.yaml") if p.name != "cog.yaml")


@pytest.mark.parametrize("path", EVAL_FILES, ids=lambda p: p.name)
def test_config_loads(path: Path) -> None:
    config = load_config(path, {"REPLICATE_API_TOKEN": "r8_x"})
    assert config.prompts and config.providers and config.tests
    assert config.warnings == ()


def test_replicate_llm_runs_against_the_fake(
    fake_replicate: FakeReplicate, run_cli: RunCli, tmp_path: Path
) -> None:
    serve_demo_models(fake_replicate)
    out = tmp_path / "results.json"
    result = run_cli("run", CONFIGS / "replicate-llm.yaml", "-o", out)
    assert result.exit_code == 100  # Gemma wraps its JSON answer in a code fence
    totals = json.loads(out.read_text())["totals"]
    assert (totals["passed"], totals["failed"], totals["errors"]) == (7, 1, 0)
    question = "Answer in one short sentence: What is the capital of France?"

    def about_france(path: str) -> dict[str, object]:
        [request] = [
            r
            for r in fake_replicate.received("POST", path)
            if "France" in r.body["input"]["prompt"]
        ]
        return request.body

    assert about_france("/v1/models/meta/llama-2-7b-chat/predictions") == {
        "input": {"temperature": 0.01, "max_tokens": 1024, "prompt": f"[INST] {question} [/INST]"}
    }
    assert about_france("/v1/predictions") == {
        "version": GEMMA_VERSION,
        "input": {
            "temperature": 0.01,
            "max_new_tokens": 1024,
            "prompt": f"<start_of_turn>user\n{question}<end_of_turn>\n<start_of_turn>model",
        },
    }
    assert "gemma-7b-it:2790a695…" in result.stdout  # long version ids are cut in headers
    assert GEMMA_VERSION not in result.stdout


def test_demo_runs_offline(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(CONFIGS / "replicate-llm.yaml")]) == 100
    assert "7 passed, 1 failed, 0 errors" in capsys.readouterr().out


def test_replicate_image_runs_against_the_fake(
    fake_replicate: FakeReplicate, run_cli: RunCli, tmp_path: Path
) -> None:
    serve_demo_models(fake_replicate)
    out = tmp_path / "results.json"
    result = run_cli(
        "run", CONFIGS / "replicate-image.yaml", "-o", out, "--output-dir", tmp_path / "images"
    )
    assert result.exit_code == 100  # SDXL's 768px image is too small for the poster test
    run = json.loads(out.read_text())
    totals = run["totals"]
    assert (totals["passed"], totals["failed"], totals["errors"]) == (3, 1, 0)
    sdxl_inputs = [r.body for r in fake_replicate.received("POST", "/v1/predictions")]
    assert {
        "version": SDXL_VERSION,
        "input": {
            "width": 768,
            "height": 768,
            "num_inference_steps": 50,
            "prompt": "Generate an image: fruit loops",
        },
    } in sdxl_inputs
    [poster] = [
        c for c in run["cells"] if c["provider_label"] == "SDXL" and c["status"] == "failed"
    ]
    assert "768x768: width 768, expected at least 1024" in poster["reason"]
    assert (tmp_path / "images" / f"reval-report-{run['run_id']}.html").is_file()


def test_replicate_graded_runs_against_the_fake(
    fake_replicate: FakeReplicate, run_cli: RunCli, tmp_path: Path
) -> None:
    serve_demo_models(fake_replicate)
    out = tmp_path / "results.json"
    result = run_cli("run", CONFIGS / "replicate-graded.yaml", "-o", out)
    assert result.exit_code == 0, result.stdout + result.stderr
    run = json.loads(out.read_text())
    totals = run["totals"]
    assert (totals["passed"], totals["predictions"]) == (3, 3)
    # 3 moderations, 2 rubrics, factuality, closed QA, and 2 embeddings for `similar`.
    assert totals["grader_predictions"] == 9
    origins = {a["type"]: a["grader"]["provider"] for c in run["cells"] for a in c["assertions"]}
    assert origins["similar"].startswith("replicate:replicate/all-mpnet-base-v2:")
    assert origins["moderation"].startswith("replicate:meta/llama-guard-3-8b:")
    colours = run["cells"][2]["assertions"][1]
    assert colours["grader"]["provider"] == "replicate:meta/meta-llama-3.1-405b-instruct"
    bigger = "/v1/models/meta/meta-llama-3.1-405b-instruct/predictions"
    assert len(fake_replicate.received("POST", bigger)) == 1
