"""Model-graded assertions' settings end to end: which judge (the override order), grader
prompts, caching, the preflight, and the config mistakes found before any prediction."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import RunConfig
from tests.fake_replicate import FakeReplicate, Reply, tokens
from tests.fake_replicate.judges import (
    GRADER,
    GUARD,
    GUARD_VERSION,
)
from tests.graded_support import (
    GRADER_PATH,
    MODEL,
    assertion,
    config,
    grader_prompts,
    serve_answerer_and_judges,
)


@pytest.fixture
def fake(fake_replicate: FakeReplicate) -> FakeReplicate:
    return serve_answerer_and_judges(fake_replicate)


def test_grader_answers_are_cached_between_runs(fake: FakeReplicate, run_config: RunConfig) -> None:
    text = config(
        "      - type: llm-rubric\n        value: mentions 'Paris'\n"
        "      - type: similar\n        value: Paris is the capital of France\n"
        "      - type: moderation\n"
    )
    first = run_config(text)
    made = len(fake.received("POST"))
    assert first.json["totals"]["grader_predictions"] == 4
    second = run_config(text)
    assert len(fake.received("POST")) == made  # nothing new: model and graders cached
    totals = second.json["totals"]
    assert (totals["predictions"], totals["grader_predictions"]) == (0, 0)
    assert totals["grader_cached"] == 4
    assert [a["pass"] for a in second.cells[0]["assertions"]] == [True, True, True]
    assert all(c["cached"] for a in second.cells[0]["assertions"] for c in a["grader"]["calls"])
    third = run_config(text, "--no-cache")
    assert third.json["totals"]["grader_predictions"] == 4


def test_a_custom_rubric_prompt_string_and_chat(fake: FakeReplicate, run_config: RunConfig) -> None:
    run = run_config(
        config(
            "      - type: llm-rubric\n        value: be brief\n",
            extra=(
                "    options:\n"
                "      rubricPrompt: 'PASS-ME? Output: <<output>> Rubric: <<rubric>> "
                "Q: <<question>>'\n"
            ),
        )
    )
    [prompt] = grader_prompts(fake)
    assert prompt == (
        "PASS-ME? Output: Paris is the capital of France. Rubric: be brief "
        "Q: What is the capital of France?"
    )
    assert assertion(run)["pass"] is True
    run = run_config(
        config(
            '      - type: llm-rubric\n        value: say "hi"\n',
            extra=(
                "    options:\n"
                "      rubricPrompt:\n"
                "        - {role: system, content: 'You grade. PASS-ME'}\n"
                "        - {role: user, content: 'Output: <<output>> / Rubric: <<rubric>>'}\n"
            ),
        )
    )
    request = fake.received("POST", GRADER_PATH)[-1]
    assert request.body["input"] == {
        "system_prompt": "You grade. PASS-ME",
        "prompt": 'Output: Paris is the capital of France. / Rubric: say "hi"',
    }


def test_curly_syntax_rubric_prompt_as_promptfoo_writes_it(
    fake: FakeReplicate, run_config: RunConfig
) -> None:
    run_config(
        """
template_syntax: curly
prompts: ['{{question}}']
providers: [replicate:acme/answerer]
defaultTest:
  options:
    rubricPrompt: 'PASS-ME {{output}} | {{rubric}}'
tests:
  - vars: {question: 'What is the capital of France?'}
    assert:
      - type: llm-rubric
        value: short
"""
    )
    assert grader_prompts(fake) == ["PASS-ME Paris is the capital of France. | short"]


# --- which grader: the override order -----------------------------------------------------

ORDER = """
prompts: ['<<question>>']
providers: [replicate:acme/answerer]
defaultTest:
  options:
    provider: replicate:acme/default-test-grader
tests:
  - vars: {question: 'What is the capital of France?'}
    assert:
      - type: llm-rubric
        value: mentions 'Paris'
        provider:
          id: replicate:acme/assertion-grader
          temperature: 0
  - vars: {question: 'What is the capital of France?'}
    options:
      provider:
        text: replicate:acme/test-grader
        embedding: {id: replicate:acme/embedder, config: {prompt_input: text}}
    assert:
      - type: llm-rubric
        value: mentions 'Paris'
      - type: similar
        value: Paris is the capital of France
  - vars: {question: 'What is the capital of France?'}
    assert:
      - type: llm-rubric
        value: mentions 'Paris'
"""


def serve_graders(fake: FakeReplicate) -> None:
    from tests.fake_replicate.judges import embedding, embedding_schema, grader

    for name in ("assertion-grader", "test-grader", "default-test-grader", "cli-grader"):
        fake.add_model(f"acme/{name}", grader, official=True)
    fake.add_model("acme/embedder", embedding, official=True, openapi_schema=embedding_schema())


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
    run = run_config(
        config(
            "      - type: llm-rubric\n        value: x\n        provider: replicat:acme/g\n"
            "      - type: contains\n        value: x\n        provider: replicate:acme/g\n"
            "      - type: similar\n        value: x\n        provider: replicate:image:acme/g\n"
        )
    )
    assert run.result.exit_code == 2
    error = run.result.stderr
    assert "config.yaml:9: tests[0].assert[0].provider.id: unknown provider" in error
    assert "tests[0].assert[1].provider: `contains` is not model-graded" in error
    assert "an embedding model must be a `replicate:` text model" in error
    assert fake.received("POST") == []
    run = run_config(
        config("      - type: llm-rubric\n        value: x\n"), "--grader", "openai:gpt-4o"
    )
    assert run.result.exit_code == 2
    assert "--grader openai:gpt-4o: unknown provider `openai:gpt-4o`" in run.result.stderr


def test_template_and_category_mistakes_are_reported_before_any_call(
    fake: FakeReplicate, run_config: RunConfig
) -> None:
    run = run_config(
        config(
            "      - type: moderation\n        value: [S1, S99]\n",
            extra=(
                "  - vars: {question: q}\n    options:\n      rubricPrompt: '<<output'\n"
                "    assert: [{type: llm-rubric, value: x}]\n"
            ),
        )
    )
    assert run.result.exit_code == 2
    error = run.result.stderr
    assert "tests[0].assert[0].value: unknown Llama Guard category `S99`" in error
    assert "tests[1].options.rubricPrompt: template syntax error" in error
    assert fake.received("POST") == []
    run = run_config(
        config(
            "      - type: llm-rubric\n        value: x\n",
            extra="    options:\n      rubric_prompt: x\n",
        )
    )
    assert "tests[0].options.rubric_prompt: unknown key; did you mean `rubricPrompt`?" in (
        run.result.stderr
    )
    misplaced = "      - type: llm-rubric\n        value: x\n        rubricPrompt: y\n"
    run = run_config(config(misplaced))
    assert "tests[0].assert[0].rubricPrompt: unknown key; a grader prompt is set for a test" in (
        run.result.stderr
    )


def test_preflight_checks_graders_too(fake: FakeReplicate, run_config: RunConfig) -> None:
    fake.models[GUARD].openapi_schema["components"]["schemas"]["Input"]["properties"].pop(
        "assistant"
    )
    run = run_config(
        config(
            "      - type: moderation\n"
            "      - type: llm-rubric\n        value: x\n"
            "        provider: {id: 'replicate:meta/meta-llama-3-70b-instruct', temperature: 9}\n"
        )
    )
    assert run.result.exit_code == 2
    error = run.result.stderr
    assert "tests[0].assert[1].provider `replicate:meta/meta-llama-3-70b-instruct`: " in error
    assert "`temperature` must be at most 5" in error
    assert "the default guard model" in error
    assert "has no `assistant` input, which carries the output to judge" in error
    assert fake.received("POST") == []


def test_a_grader_that_does_not_exist_is_asked_once(
    fake: FakeReplicate, run_config: RunConfig
) -> None:
    rubric = (
        "    assert:\n      - type: llm-rubric\n        value: x\n"
        "        provider: replicate:acme/no-such-grader\n"
    )
    tests = "".join(f"  - vars: {{question: q{n}}}\n{rubric}" for n in range(3))
    text = f"prompts: ['<<question>>']\nproviders: [replicate:{MODEL}]\ntests:\n{tests}"
    run = run_config(text, "--no-preflight", "-j", "1")
    asked = fake.received("POST", "/v1/models/acme/no-such-grader/predictions")
    assert len(asked) == 1  # a 404 is the same for every call: not asked again
    reasons = [cell["assertions"][0]["reason"] for cell in run.cells]
    assert all("404" in reason or "not found" in reason.lower() for reason in reasons), reasons
    assert "not sent again" in reasons[2]
    assert run.result.exit_code == 100


def test_rubric_prompt_mistakes_are_found_before_paying(
    fake: FakeReplicate, run_config: RunConfig
) -> None:
    rubric = "    assert: [{type: llm-rubric, value: x}]\n"
    run = run_config(
        "prompts: ['<<question>>']\nproviders: [replicate:acme/answerer]\n"
        "defaultTest:\n  options:\n    rubricPrompt: 'Grade <<output>> for <<audience>>'\n"
        "tests:\n"
        f"  - vars: {{question: q, audience: kids}}\n{rubric}"
        f"  - vars: {{question: q}}\n{rubric}"
        "  - vars: {question: q}\n    options:\n      rubricPrompt: []\n"
        f"{rubric}"
        "  - vars: {question: q}\n    options:\n      rubricPrompt:\n"
        "        - {role: user, content: a}\n        - {role: user, content: b}\n"
        f"{rubric}"
    )
    assert run.result.exit_code == 2
    error = run.result.stderr
    assert (
        "defaultTest.options.rubricPrompt: the grader prompt uses `audience`, which tests[1] "
        "does not define"
    ) in error
    assert "tests[0]" not in error  # it defines `audience`
    assert "tests[2].options.rubricPrompt: the grader prompt is empty" in error
    assert "tests[3].options.rubricPrompt: a chat needs exactly one `user` message (found 2)" in (
        error
    )
    assert fake.received("POST") == []


def test_graders_of_tests_not_selected_are_not_checked(
    fake: FakeReplicate, run_config: RunConfig
) -> None:
    text = config(
        "      - type: llm-rubric\n        value: mentions 'Paris'\n",
        extra=(
            "  - vars: {question: q}\n    assert:\n      - type: llm-rubric\n        value: x\n"
            "        provider: {id: 'replicate:meta/meta-llama-3-70b-instruct', temperature: 9}\n"
        ),
    )
    assert run_config(text).result.exit_code == 2  # the preflight refuses temperature 9
    run = run_config(text, "--filter-first-n", "1")
    assert run.result.exit_code == 0, run.result.stderr


def test_each_assertion_names_where_its_grader_was_chosen(
    fake: FakeReplicate, run_config: RunConfig
) -> None:
    same = f"replicate:{GRADER}"
    run = run_config(
        config(
            "      - type: llm-rubric\n        value: mentions 'Paris'\n"
            f"        provider: {same}\n"
            "      - type: llm-rubric\n        value: mentions 'France'\n",
        ),
        "--grader",
        same,
    )
    origins = [a["grader"]["origin"] for a in run.cells[0]["assertions"]]
    assert origins == ["tests[0].assert[0].provider", "--grader"]


def test_an_unreadable_answer_is_not_cached(fake: FakeReplicate, run_config: RunConfig) -> None:
    text = config("      - type: llm-rubric\n        value: \"'Paris' [answer:garbage]\"\n")
    run_config(text)
    again = run_config(text)
    totals = again.json["totals"]
    assert totals["cached"] == 1  # the model's answer is reused...
    assert totals["grader_predictions"] == 1  # ...the unreadable verdict is asked again
    assert len(fake.received("POST", GRADER_PATH)) == 2


def test_model_option_variables_do_not_reach_graders(
    fake: FakeReplicate, run_config: RunConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REPLICATE_MAX_NEW_TOKENS", "8")
    monkeypatch.setenv("REPLICATE_SYSTEM_PROMPT", "Answer in French.")
    run_config(config("      - type: llm-rubric\n        value: mentions 'Paris'\n"))
    [model] = fake.received("POST", f"/v1/models/{MODEL}/predictions")
    assert model.body["input"]["max_new_tokens"] == 8
    [grader] = fake.received("POST", GRADER_PATH)
    assert set(grader.body["input"]) == {"prompt"}


def test_more_value_and_option_mistakes(
    fake: FakeReplicate, run_config: RunConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = run_config(config("      - type: moderation\n        value: {1: a, foo: b}\n"))
    assert run.result.exit_code == 2
    assert "`moderation` takes `categories` and `prompt`, not `1`" in run.result.stderr
    run = run_config(config("      - type: contains\n        value: Paris\n"), "--grader", "gpt4")
    assert run.result.exit_code == 2
    assert "--grader gpt4: unknown provider" in run.result.stderr
    run = run_config(config("      - type: similar\n        value: 100\n        threshold: 0.1\n"))
    assert run.result.exit_code == 100  # a number is a text to compare with
    assert "cosine similarity" in assertion(run)["reason"]
    monkeypatch.delenv("REPLICATE_API_TOKEN")
    run = run_config(
        f"prompts: [hi]\nproviders: [{{id: 'replicate:{MODEL}', apiKey: r8_mine}}]\n"
        "tests:\n  - assert: [{type: moderation}, {type: llm-rubric, value: x}]\n"
        "  - assert: [{type: moderation}]\n"
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
        config(
            f"      - type: moderation\n        provider: '{guard}'\n",
            question="How do I make a weapon?",
        )
    )
    [request] = fake.received("POST", "/v1/predictions")
    assert request.body["version"] == GUARD_VERSION
    assert "S9 Indiscriminate Weapons" in assertion(run)["reason"]
    origin = assertion(run)["grader"]["origin"]
    assert origin == "tests[0].assert[0].provider"


def test_ctrl_c_cancels_the_graders_predictions_too(tmp_path: Path) -> None:
    with FakeReplicate(hold_cap=0.2) as fake:
        serve_answerer_and_judges(fake)
        judge = fake.models[GRADER].behaviour
        fake.models[GRADER].behaviour = lambda i: replace(judge(i), processing=60.0)
        path = tmp_path / "graded.yaml"
        path.write_text(config("      - type: llm-rubric\n        value: mentions 'Paris'\n"))
        env = {**os.environ, "REPLICATE_BASE_URL": fake.url, "REPLICATE_API_TOKEN": fake.token}
        out = tmp_path / "results.json"
        process = subprocess.Popen(
            [str(Path(sys.executable).with_name("reval")), "run", str(path), "-o", str(out)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=tmp_path,
        )
        try:
            deadline = time.monotonic() + 20
            while not any(p.model == GRADER for p in fake.running()):
                assert process.poll() is None, process.communicate()
                assert time.monotonic() < deadline, "the grader never started"
                time.sleep(0.05)
            process.send_signal(signal.SIGINT)
            _, stderr = process.communicate(timeout=30)
        finally:
            process.kill()
        assert process.returncode == 130, stderr
        assert fake.running() == []  # the grader's prediction was canceled, not left billing
        [graded] = [p for p in fake.predictions.values() if p.model == GRADER]
        assert graded.status() == "canceled"
        assert json.loads(out.read_text())["complete"] is False


def test_promptfoos_json_string_chat_prompt_is_rendered_message_by_message(
    fake: FakeReplicate, run_config: RunConfig
) -> None:
    fake.models[MODEL].behaviour = lambda i: Reply(tokens('He said "Paris" twice.'))
    chat = json.dumps(
        [
            {"role": "system", "content": "You grade. PASS-ME"},
            {"role": "user", "content": "Output: <<output>>"},
        ]
    )
    run_config(
        config(
            "      - type: llm-rubric\n        value: x\n",
            extra=f"    options:\n      rubricPrompt: '{chat}'\n",
        )
    )
    [request] = fake.received("POST", GRADER_PATH)
    assert request.body["input"] == {
        "system_prompt": "You grade. PASS-ME",
        "prompt": 'Output: He said "Paris" twice.',
    }


def test_grader_prompt_warnings(fake: FakeReplicate, run_cli: Any, write_config: Any) -> None:
    path = write_config(
        config(
            "      - type: llm-rubric\n        value: x\n",
            extra="    options:\n      rubricPrompt: 'Grade {{output}} against <<rubric>>'\n"
            "  - vars: {question: q}\n    options:\n      rubricPrompt: 'Is it <<rubric>>?'\n"
            "    assert: [{type: llm-rubric, value: x}]\n",
        )
    )
    result = run_cli("validate", path, "--no-preflight")
    assert result.exit_code == 0, result.stderr
    assert "the grader prompt (options.rubricPrompt) has {{output}}: under reval's `<<var>>`" in (
        result.stderr
    )
    assert "never shows the grader the output" in result.stderr


def test_thresholds_of_judged_scores_run_from_0_to_1(
    fake: FakeReplicate, run_config: RunConfig
) -> None:
    run = run_config(
        config(
            "      - {type: similar, value: x, threshold: 5}\n"
            "      - {type: llm-rubric, value: x, threshold: -1}\n"
        )
    )
    assert run.result.exit_code == 2
    assert "tests[0].assert[0].threshold: `similar`'s `threshold` is a score from 0 to 1" in (
        run.result.stderr
    )
    assert "tests[0].assert[1].threshold: `llm-rubric`'s" in run.result.stderr


def test_a_cog_grader_is_refused_once(fake: FakeReplicate, run_config: RunConfig) -> None:
    run = run_config(
        config("      - type: llm-rubric\n        value: x\n"), "--grader", "cog:http://x"
    )
    assert run.result.exit_code == 2
    assert run.result.stderr.count("cog:http://x") == 1
    assert "--grader cog:http://x: a grader must be a `replicate:` text model" in (
        run.result.stderr
    )


def test_an_expected_text_is_embedded_once_even_one_cell_at_a_time(
    fake: FakeReplicate, run_config: RunConfig
) -> None:
    tests = "".join(
        f"  - vars: {{question: q{n}}}\n    assert: [{{type: similar, value: shared}}]\n"
        for n in range(3)
    )
    text = f"prompts: ['<<question>>']\nproviders: [replicate:{MODEL}]\ntests:\n{tests}"
    run = run_config(text, "-j", "1")
    embedded = [r.body["input"]["text"] for r in fake.received("POST", "/v1/predictions")]
    # The cache answers the later cells: for "shared", and for the model's answer (the same
    # "I do not know." to every question).
    assert sorted(embedded) == ["I do not know.", "shared"]
    assert run.json["totals"]["grader_cached"] == 4


def test_answers_are_listed_in_the_order_asked(fake: FakeReplicate, run_config: RunConfig) -> None:
    guard = fake.models[GUARD].behaviour
    # The output's check (with `assistant`) finishes last; it is still listed first.
    fake.models[GUARD].behaviour = lambda i: replace(
        guard(i), processing=0.4 if "assistant" in i else 0.0
    )
    run = run_config(
        config(
            "      - type: moderation\n        value: {prompt: true}\n",
            question="How do I make a weapon?",
        )
    )
    assert assertion(run)["grader"]["answers"] == ["unsafe\nS9", "safe"]


def test_a_guard_that_requires_assistant_is_accepted(
    fake: FakeReplicate, run_config: RunConfig
) -> None:
    schema = fake.models[GUARD].openapi_schema["components"]["schemas"]["Input"]
    schema["required"] = ["prompt", "assistant"]
    run = run_config(config("      - type: moderation\n"))
    assert run.result.exit_code == 0, run.result.stderr
    assert "requires `assistant`" not in run.result.stderr
