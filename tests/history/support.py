"""What the history tests share: a small eval whose model can be made to change its mind."""

from __future__ import annotations

from typing import Any

from replicate_eval.results import RunResult
from tests.fake_replicate import FakeReplicate, Reply, tokens
from tests.fake_replicate.models import FakeModel

MODEL = "acme/answers"
WORDS = ("alpha", "beta", "gamma")


def config(words: tuple[str, ...] = WORDS, **extra: Any) -> dict[str, Any]:
    """One prompt, one provider, a test per word that passes when the answer has the word."""
    return {
        "description": "history",
        "prompts": ["Say <<word>>"],
        "providers": [f"replicate:{MODEL}"],
        "tests": [
            {"vars": {"word": word}, "assert": [{"type": "icontains", "value": word}]}
            for word in words
        ],
        **extra,
    }


def answering(
    fake: FakeReplicate, wrong: set[str] | None = None, *, error: set[str] | None = None
) -> FakeModel:
    """The model answers its prompt back, except the words in ``wrong`` (answered "no") and in
    ``error`` (the prediction fails)."""
    wrong, error = wrong or set(), error or set()

    def answer(model_input: dict[str, Any]) -> Reply:
        prompt = str(model_input.get("prompt", ""))
        word = prompt.removeprefix("Say ")
        if word in error:
            return Reply(error="CUDA out of memory")
        return Reply(output=tokens("no" if word in wrong else prompt))

    found = fake.models.get(MODEL)
    if found is not None:
        found.behaviour = answer
        return found
    return fake.add_model(MODEL, answer, official=True)


def built_run(
    run_id: str,
    outcomes: dict[str, list[str]],
    *,
    provider: str = "replicate:acme/answers",
    prompt: str = "Say <<word>>",
    outputs: dict[str, str] | None = None,
    scores: dict[str, float] | None = None,
    descriptions: dict[str, str] | None = None,
) -> RunResult:
    """A run built in Python: each test (a word) with the statuses of its repeats, in order."""
    from replicate_eval.results import CellResult, PromptInfo, ProviderInfo, TestInfo, count

    words = list(outcomes)
    repeat = max(len(statuses) for statuses in outcomes.values())
    descriptions = descriptions or {}
    cells = [
        CellResult(
            test_index=index,
            prompt_index=0,
            provider_index=0,
            test_description=descriptions.get(word),
            prompt_label=prompt,
            provider_id=provider,
            provider_label=provider,
            vars={"word": word},
            rendered_prompt=f"Say {word}",
            input={"prompt": f"Say {word}"},
            status=status,  # type: ignore[arg-type]
            output=(outputs or {}).get(word, f"Say {word}"),
            score=(scores or {}).get(word, 1.0 if status == "passed" else 0.0),
            reason=None if status == "passed" else f"{word} was wrong",
            repeat=run,
        )
        for index, word in enumerate(words)
        for run, status in enumerate(outcomes[word])
    ]
    return RunResult(
        run_id=run_id,
        reval_version="test",
        config_path="/evals/config.yaml",
        description=None,
        started_at="2026-12-04T10:00:00+00:00",
        finished_at="2026-12-04T10:00:01+00:00",
        complete=True,
        repeat=repeat,
        prompts=[PromptInfo(index=0, label=prompt, template=prompt)],
        providers=[ProviderInfo(index=0, id=provider, label=provider)],
        tests=[
            TestInfo(index=i, description=descriptions.get(w), vars={"word": w})
            for i, w in enumerate(words)
        ],
        cells=cells,
        totals=count(cells, planned=len(cells), wall_time_s=1.0),
    )
