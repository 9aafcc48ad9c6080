"""The file's mapping validated section by section, item by item, so that one mistake never
hides another: a bad provider, a bad key at the top and every bad test are all reported, and
everything that is valid goes on to be resolved (and checked further)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from replicate_eval.config.case_files import TestSource
from replicate_eval.config.problems import Problem, problems_from_validation
from replicate_eval.config.schema import ConfigFile, PromptEntry, ProviderEntry, TestEntry
from replicate_eval.config.yaml_source import Loc
from replicate_eval.suggest import did_you_mean

_Model = TypeVar("_Model", bound=BaseModel)

_NEEDED = {
    "prompts": "needs at least one prompt, e.g. `prompts: ['Answer briefly: <<question>>']`",
    "providers": (
        "needs at least one provider, e.g. `providers: [replicate:meta/meta-llama-3-8b-instruct]`"
    ),
}


@dataclass
class Sections:
    """What validated, each item with its index (in the file; for tests, among all tests)."""

    description: str | None = None
    default_test: TestEntry | None = None
    prompts: list[tuple[int, PromptEntry]] = field(default_factory=list)
    providers: list[tuple[int, ProviderEntry]] = field(default_factory=list)
    provider_count: int = 0  # valid or not: graders are numbered after them
    tests: list[tuple[int, TestEntry]] = field(default_factory=list)
    # The top level's other keys (env, evaluateOptions, outputPath...), as validated.
    top: ConfigFile = field(default_factory=lambda: ConfigFile(prompts=[], providers=[]))


def validate_sections(
    data: dict[str, Any], sources: list[TestSource]
) -> tuple[Sections, list[Problem]]:
    problems: list[Problem] = []
    prepared = ConfigFile.prepare(data)
    shell = {key: value for key, value in prepared.items() if key != "tests"}
    items: dict[str, list[Any]] = {}
    for key in ("prompts", "providers"):
        value = shell.get(key)
        if value is None or value == []:
            if key in shell or not _misspelt(key, shell):  # else the typo is the one problem
                problems.append(Problem((key,), _NEEDED[key]))
            shell[key] = []
        elif isinstance(value, list):
            items[key] = value
            shell[key] = []  # its items are validated one by one below
    top, wrong = _validate_top(shell)
    problems += wrong
    sections = Sections(
        description=top.description,
        default_test=top.default_test,
        provider_count=len(items.get("providers", [])),
        top=top,
    )
    for index, item in enumerate(items.get("prompts", [])):
        prompt = _validate(PromptEntry, item, ("prompts", index), problems)
        if prompt is not None:
            sections.prompts.append((index, prompt))
    for index, item in enumerate(items.get("providers", [])):
        provider = _validate(ProviderEntry, item, ("providers", index), problems)
        if provider is not None:
            sections.providers.append((index, provider))
    for index, source in enumerate(sources):
        try:
            sections.tests.append((index, TestEntry.model_validate(source.data)))
        except ValidationError as exc:
            problems += [
                relocate(p, sources) for p in problems_from_validation(exc, ("tests", index))
            ]
    return sections, problems


def _misspelt(key: str, given: dict[str, Any]) -> bool:
    """Whether an unknown key of the file looks like ``key`` (`provider:` for `providers:`)."""
    allowed = ConfigFile.allowed_keys()
    return any(did_you_mean(str(k), [key]) for k in given if k not in allowed)


def _validate_top(shell: dict[str, Any]) -> tuple[ConfigFile, list[Problem]]:
    """The top level without its lists' items; a key with a mistake is left out of the result."""
    try:
        return ConfigFile.model_validate(shell), []
    except ValidationError as exc:
        problems = problems_from_validation(exc)
    bad = {problem.loc[0] for problem in problems if problem.loc}
    kept = {key: value for key, value in shell.items() if key not in bad}
    kept.update({key: [] for key in ("prompts", "providers")})
    try:
        return ConfigFile.model_validate(kept), problems
    except ValidationError:  # only when the mapping itself is wrong, which load_config checks
        return ConfigFile(prompts=[], providers=[]), problems


def _validate(model: type[_Model], item: Any, loc: Loc, problems: list[Problem]) -> _Model | None:
    try:
        return model.model_validate(item)
    except ValidationError as exc:
        problems += problems_from_validation(exc, loc)
        return None


def relocate(problem: Problem, sources: list[TestSource]) -> Problem:
    """A problem at ``tests[k]`` (k among all tests) moved to where test k is written: its
    inline entry in the config, or its row in a tests file."""
    loc = problem.loc
    if problem.at is not None or len(loc) < 2 or loc[0] != "tests" or not isinstance(loc[1], int):
        return problem
    if not 0 <= loc[1] < len(sources):
        return problem
    source = sources[loc[1]]
    if source.at is not None:
        return Problem(loc[2:], problem.message, at=source.at)
    return Problem((*source.loc, *loc[2:]), problem.message)
