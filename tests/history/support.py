"""What the history tests share: a small eval whose model can be made to change its mind."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from replicate_eval.results import (
    CellResult,
    CellStatus,
    GitInfo,
    PromptInfo,
    ProviderInfo,
    RunResult,
    TestInfo,
    count,
)
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


@dataclass(frozen=True)
class Spec:
    """One test × prompt × provider of a run: its runs' statuses and what it answered."""

    test: str
    statuses: tuple[CellStatus, ...] = ("passed",)
    output: str = "ok"
    provider: str = "llama"
    prompt: str = "p"
    score: float | None = None
    reason: str = "expected 4"
    vars: dict[str, Any] = field(default_factory=dict)
    described: bool = True  # the test's description is its name; False: none (vars only)
    rendered: str = "question"

    @property
    def description(self) -> str | None:
        return self.test if self.described else None


def make_run(run_id: str, specs: list[Spec], *, commit: str | None = None) -> RunResult:
    """A run built in Python from its test × prompt × provider specs, in order."""
    tests = list(dict.fromkeys(spec.test for spec in specs))
    tests_by_name = {spec.test: spec for spec in specs}
    prompts = list(dict.fromkeys(spec.prompt for spec in specs))
    providers = list(dict.fromkeys(spec.provider for spec in specs))
    cells = [
        CellResult(
            test_index=tests.index(spec.test),
            prompt_index=prompts.index(spec.prompt),
            provider_index=providers.index(spec.provider),
            test_description=spec.description,
            prompt_label=spec.prompt,
            provider_id=f"replicate:{spec.provider}",
            provider_label=spec.provider,
            vars=spec.vars,
            rendered_prompt=spec.rendered,
            input=None,
            status=status,
            output=spec.output,
            score=spec.score,
            reason=None if status == "passed" else spec.reason,
            repeat=repeat,
        )
        for spec in specs
        for repeat, status in enumerate(spec.statuses)
    ]
    return RunResult(
        run_id=run_id,
        reval_version="0",
        config_path="evals.yaml",
        description=None,
        started_at="2026-12-03T00:00:00Z",
        finished_at="2026-12-03T00:00:01Z",
        complete=True,
        repeat=max(len(spec.statuses) for spec in specs),
        git=GitInfo(commit=commit) if commit else None,
        prompts=[PromptInfo(index=n, label=label, template="q") for n, label in enumerate(prompts)],
        providers=[
            ProviderInfo(index=n, id=f"replicate:{label}", label=label)
            for n, label in enumerate(providers)
        ],
        tests=[
            TestInfo(
                index=n,
                description=tests_by_name[title].description,
                vars=tests_by_name[title].vars,
            )
            for n, title in enumerate(tests)
        ],
        cells=cells,
        totals=count(cells, planned=len(cells), wall_time_s=1.0),
    )


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
    """A run of one prompt and one provider: each test (a word, its var) with the statuses of
    its repeats; its output is its prompt unless ``outputs`` says otherwise."""
    specs = []
    for word, statuses in outcomes.items():
        described = (descriptions or {}).get(word)
        default = 1.0 if all(s == "passed" for s in statuses) else 0.0
        specs.append(
            Spec(
                test=described or word,
                statuses=tuple(statuses),  # type: ignore[arg-type]
                output=(outputs or {}).get(word, f"Say {word}"),
                provider=provider,
                prompt=prompt,
                score=(scores or {}).get(word, default),
                reason=f"{word} was wrong",
                vars={"word": word},
                described=described is not None,
                rendered=f"Say {word}",
            )
        )
    run = make_run(run_id, specs)
    # The provider's id is the label itself here, as a config without labels has it.
    providers = [p.model_copy(update={"id": p.label}) for p in run.providers]
    cells = [c.model_copy(update={"provider_id": c.provider_label}) for c in run.cells]
    return run.model_copy(update={"providers": providers, "cells": cells})


def recorded_as(run: RunResult, *, config_sha256: str, version: str, **fields: Any) -> RunResult:
    """``run`` with its config's digest, its one provider's model version and other fields."""
    provider = run.providers[0].model_copy(update={"version": version})
    return run.model_copy(
        update={"config_sha256": config_sha256, "providers": [provider], **fields}
    )
