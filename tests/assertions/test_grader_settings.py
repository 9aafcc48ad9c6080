"""Model-graded assertions: which judge (the override order), and the config and preflight
checks of judges before any prediction."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import RunConfig
from tests.fake_replicate import FakeReplicate
from tests.fake_replicate.judges import (
    GRADER,
    GUARD,
    GUARD_VERSION,
)
from tests.fake_replicate.model_schemas import real_schema
from tests.graded_support import (
    GRADER_PATH,
    MODEL,
    assertion,
    config,
)

PARIS = {"type": "llm-rubric", "value": "mentions 'Paris'"}
ORDER = {
    "prompts": ["<<question>>"],
    "providers": ["replicate:acme/answerer"],
    "defaultTest": {"options": {"provider": "replicate:acme/default-test-grader"}},
    "tests": [
        {
            "vars": {"question": "What is the capital of France?"},
            "assert": [
                {**PARIS, "provider": {"id": "replicate:acme/assertion-grader", "temperature": 0}}
            ],
        },
        {
            "vars": {"question": "What is the capital of France?"},
            "options": {
                "provider": {
                    "text": "replicate:acme/test-grader",
                    "embedding": {
                        "id": "replicate:acme/embedder",
                        "config": {"prompt_input": "text"},
                    },
                }
            },
            "assert": [PARIS, {"type": "similar", "value": "Paris is the capital of France"}],
        },
        {"vars": {"question": "What is the capital of France?"}, "assert": [PARIS]},
    ],
}

# A grader whose option its published schema refuses.
LOTS_OF_TOKENS = {
    "type": "llm-rubric",
    "value": "x",
    "provider": {"id": "replicate:meta/meta-llama-3-70b-instruct", "max_tokens": "lots"},
}


def serve_graders(fake: FakeReplicate) -> None:
    from tests.fake_replicate.judges import EMBEDDING, embedding, grader

    for name in ("assertion-grader", "test-grader", "default-test-grader", "cli-grader"):
        fake.add_model(f"acme/{name}", grader, official=True)
    # all-mpnet-base-v2's interface: the text goes in `text`
    embedder = real_schema(EMBEDDING)
    fake.add_model("acme/embedder", embedding, official=True, openapi_schema=embedder)


def graded_by(fake: FakeReplicate) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for request in fake.received("POST"):
        model = request.path.removeprefix("/v1/models/").removesuffix("/predictions")
        found.setdefault(model, []).append(request.body["input"])
    return found


def test_the_most_specific_grader_wins(fake: FakeReplicate, run_config: RunConfig) -> None:
    serve_graders(fake)
    run = run_config(ORDER)
    assert run.result.exit_code == 0, run.result.stdout + run.result.stderr
    by_model = graded_by(fake)
    assert len(by_model["acme/assertion-grader"]) == 1
    assert by_model["acme/assertion-grader"][0]["temperature"] == 0  # its own options
    assert len(by_model["acme/test-grader"]) == 1
    assert len(by_model["acme/embedder"]) == 2
    assert len(by_model["acme/default-test-grader"]) == 1
    assert GRADER not in by_model
    origins = [a["grader"]["origin"] for cell in run.cells for a in cell["assertions"]]
    assert origins == [
        "tests[0].assert[0].provider",
        "tests[1].options.provider",
        "tests[1].options.provider",
        "defaultTest.options.provider",
    ]


def test_the_grader_option_sits_between_test_and_default_test(
    fake: FakeReplicate, run_config: RunConfig
) -> None:
    serve_graders(fake)
    run = run_config(ORDER, "--grader", "replicate:acme/cli-grader")
    by_model = graded_by(fake)
    assert len(by_model["acme/assertion-grader"]) == 1
    assert len(by_model["acme/test-grader"]) == 1
    assert len(by_model["acme/cli-grader"]) == 1  # instead of defaultTest's
    assert "acme/default-test-grader" not in by_model
    assert run.cells[2]["assertions"][0]["grader"]["origin"] == "--grader"


def test_bad_grader_entries_are_config_errors(fake: FakeReplicate, run_config: RunConfig) -> None:
    # YAML text on purpose: the first error names its line.
    run = run_config(
        f"""
prompts: ['<<question>>']
providers: [replicate:{MODEL}]
tests:
  - vars: {{question: "What is the capital of France?"}}
    assert:
      - type: llm-rubric
        value: x
        provider: replicat:acme/g
      - type: contains
        value: x
        provider: replicate:acme/g
      - type: similar
        value: x
        provider: replicate:image:acme/g
"""
    )
    assert run.result.exit_code == 2
    error = run.result.stderr
    assert "config.yaml:9: tests[0].assert[0].provider.id: unknown provider" in error
    # A judge for a check no model judges is ignored, as promptfoo does (a warning says so).
    assert "assert[1]" not in error
    assert "an embedding model must be a `replicate:` text model" in error
    assert fake.received("POST") == []
    run = run_config(config({"type": "llm-rubric", "value": "x"}), "--grader", "openai:gpt-4o")
    assert run.result.exit_code == 2
    assert "--grader openai:gpt-4o: unknown provider `openai:gpt-4o`" in run.result.stderr


def test_template_and_category_mistakes_are_reported_before_any_call(
    fake: FakeReplicate, run_config: RunConfig
) -> None:
    run = run_config(
        config(
            {"type": "moderation", "value": ["S1", "S99"]},
            more_tests=[
                {
                    "vars": {"question": "q"},
                    "options": {"rubricPrompt": "<<output"},
                    "assert": [{"type": "llm-rubric", "value": "x"}],
                }
            ],
        )
    )
    assert run.result.exit_code == 2
    error = run.result.stderr
    assert "tests[0].assert[0].value: unknown Llama Guard category `S99`" in error
    assert "tests[1].options.rubricPrompt: template syntax error" in error
    assert fake.received("POST") == []
    run = run_config(config({"type": "llm-rubric", "value": "x"}, options={"rubric_prompt": "x"}))
    assert "tests[0].options.rubric_prompt: unknown key; did you mean `rubricPrompt`?" in (
        run.result.stderr
    )
    misplaced = {"type": "llm-rubric", "value": "x", "rubricPrompt": "y"}
    run = run_config(config(misplaced))
    assert "tests[0].assert[0].rubricPrompt: unknown key; a grader prompt is set for a test" in (
        run.result.stderr
    )


def test_preflight_checks_graders_too(fake: FakeReplicate, run_config: RunConfig) -> None:
    fake.models[GUARD].openapi_schema["components"]["schemas"]["Input"]["properties"].pop(
        "assistant"
    )
    run = run_config(config({"type": "moderation"}, LOTS_OF_TOKENS))
    assert run.result.exit_code == 2
    error = run.result.stderr
    assert "tests[0].assert[1].provider `replicate:meta/meta-llama-3-70b-instruct`: " in error
    assert "`max_tokens` expects a whole number, got 'lots'" in error  # its real token limit
    assert "the default guard model" in error
    assert "has no `assistant` input, which carries the output to judge" in error
    assert fake.received("POST") == []


def test_graders_of_tests_not_selected_are_not_checked(
    fake: FakeReplicate, run_config: RunConfig
) -> None:
    text = config(PARIS, more_tests=[{"vars": {"question": "q"}, "assert": [LOTS_OF_TOKENS]}])
    assert run_config(text).result.exit_code == 2  # the preflight refuses max_tokens: lots
    run = run_config(text, "--filter-first-n", "1")
    assert run.result.exit_code == 0, run.result.stderr


def test_each_assertion_names_where_its_grader_was_chosen(
    fake: FakeReplicate, run_config: RunConfig
) -> None:
    same = f"replicate:{GRADER}"
    run = run_config(
        config({**PARIS, "provider": same}, {"type": "llm-rubric", "value": "mentions 'France'"}),
        "--grader",
        same,
    )
    origins = [a["grader"]["origin"] for a in run.cells[0]["assertions"]]
    assert origins == ["tests[0].assert[0].provider", "--grader"]


def test_model_option_variables_do_not_reach_graders(
    fake: FakeReplicate, run_config: RunConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REPLICATE_MAX_NEW_TOKENS", "8")
    monkeypatch.setenv("REPLICATE_SYSTEM_PROMPT", "Answer in French.")
    run_config(config(PARIS))
    [model] = fake.received("POST", f"/v1/models/{MODEL}/predictions")
    assert model.body["input"]["max_new_tokens"] == 8
    [grader] = fake.received("POST", GRADER_PATH)
    assert set(grader.body["input"]) == {"prompt"}


def test_more_value_and_option_mistakes(
    fake: FakeReplicate, run_config: RunConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = run_config(config({"type": "moderation", "value": {1: "a", "foo": "b"}}))
    assert run.result.exit_code == 2
    assert "`moderation` takes `categories` and `prompt`, not `1`" in run.result.stderr
    run = run_config(config({"type": "contains", "value": "Paris"}), "--grader", "gpt4")
    assert run.result.exit_code == 2
    assert "--grader gpt4: unknown provider" in run.result.stderr
    run = run_config(config({"type": "similar", "value": 100, "threshold": 0.1}))
    assert run.result.exit_code == 100  # a number is a text to compare with
    assert "cosine similarity" in assertion(run)["reason"]
    monkeypatch.delenv("REPLICATE_API_TOKEN")
    run = run_config(
        {
            "prompts": ["hi"],
            "providers": [{"id": f"replicate:{MODEL}", "apiKey": "r8_mine"}],
            "tests": [
                {"assert": [{"type": "moderation"}, {"type": "llm-rubric", "value": "x"}]},
                {"assert": [{"type": "moderation"}]},
            ],
        }
    )
    assert run.result.exit_code == 2
    error = run.result.stderr
    assert "tests[0].assert[0]: the default guard model `replicate:meta/llama-guard-3-8b:" in error
    assert "or name the grader with its own `apiKey` in `defaultTest.options.provider`" in error
    assert "tests[0].assert[1]: the default grader" in error
    assert "tests[1]" not in error  # one message per grader, at its first use


def test_promptfoos_moderation_provider_form(fake: FakeReplicate, run_config: RunConfig) -> None:
    # Verbatim from promptfoo's moderation docs.
    guard = f"replicate:moderation:meta/llama-guard-3-8b:{GUARD_VERSION}"
    run = run_config(
        config({"type": "moderation", "provider": guard}, question="How do I make a weapon?")
    )
    [request] = fake.received("POST", "/v1/predictions")
    assert request.body["version"] == GUARD_VERSION
    assert "S9 Indiscriminate Weapons" in assertion(run)["reason"]
    origin = assertion(run)["grader"]["origin"]
    assert origin == "tests[0].assert[0].provider"


def test_thresholds_of_judged_scores_run_from_0_to_1(
    fake: FakeReplicate, run_config: RunConfig
) -> None:
    run = run_config(
        config(
            {"type": "similar", "value": "x", "threshold": 5},
            {"type": "llm-rubric", "value": "x", "threshold": -1},
        )
    )
    assert run.result.exit_code == 2
    assert "tests[0].assert[0].threshold: `similar`'s `threshold` is a score from 0 to 1" in (
        run.result.stderr
    )
    assert "tests[0].assert[1].threshold: `llm-rubric`'s" in run.result.stderr


def test_a_cog_grader_is_refused_once(fake: FakeReplicate, run_config: RunConfig) -> None:
    run = run_config(config({"type": "llm-rubric", "value": "x"}), "--grader", "cog:http://x")
    assert run.result.exit_code == 2
    assert run.result.stderr.count("cog:http://x") == 1
    assert "--grader cog:http://x: a grader must be a `replicate:` text model" in (
        run.result.stderr
    )


def test_a_guard_that_requires_assistant_is_accepted(
    fake: FakeReplicate, run_config: RunConfig
) -> None:
    schema = fake.models[GUARD].openapi_schema["components"]["schemas"]["Input"]
    schema["required"] = ["prompt", "assistant"]
    run = run_config(config({"type": "moderation"}))
    assert run.result.exit_code == 0, run.result.stderr
    assert "requires `assistant`" not in run.result.stderr
