"""Which model judges each model-graded assertion, settled at load time.

The most specific setting wins:

1. the assertion's ``provider:``
2. the test's ``options.provider``
3. ``reval run --grader PROVIDER_ID`` (text graders only)
4. ``defaultTest.options.provider``
5. reval's default for the role (``DEFAULT_GRADERS``)

A grader is an ordinary provider entry, resolved like the ones under ``providers:`` (options,
``apiKey``, token), except that the ``REPLICATE_*`` option fallbacks are not applied. Graders
with the same entry are one grader: one preflight check, one cache namespace.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from replicate_eval.assertions import AssertionSpec, GraderRole, Grading
from replicate_eval.assertions.base import flat_assertions
from replicate_eval.assertions.registry import KINDS
from replicate_eval.canonical import canonical_json
from replicate_eval.config.problems import Problem, format_loc
from replicate_eval.config.providers import (
    TOKEN_ENV_VARS,
    ProviderProblems,
    is_environment_problem,
    resolve_provider,
)
from replicate_eval.config.schema import ProviderEntry, TestOptions
from replicate_eval.config.types import EvalConfig, ProviderConfig
from replicate_eval.config.yaml_source import Loc
from replicate_eval.judging.prompts import read_grader_prompt
from replicate_eval.providers.types.base import InvalidProviderId
from replicate_eval.providers.types.registry import type_for
from replicate_eval.templating import TemplateSyntax

if TYPE_CHECKING:
    pass

# Pinned where the model is not an official one (those run only by version).
DEFAULT_GRADERS: dict[GraderRole, ProviderEntry] = {
    "text": ProviderEntry(id="replicate:meta/meta-llama-3-70b-instruct"),
    "embedding": ProviderEntry(
        id="replicate:replicate/all-mpnet-base-v2:"
        "b6b7585c9640cd7a9572c6e129c9549d79c9c31f0d3fdce7baac7c67ca38f305",
        config={"prompt_input": "text"},
    ),
    "moderation": ProviderEntry(
        id="replicate:meta/llama-guard-3-8b:"
        "146d1220d447cdcc639bc17c5f6137416042abee6ae153a2615e6ef5749205c8"
    ),
}

_ROLE_NAMES: dict[GraderRole, str] = {
    "text": "grader",
    "embedding": "embedding model",
    "moderation": "guard model",
}


@dataclass(frozen=True)
class _Choice:
    entry: ProviderEntry
    loc: Loc | None  # where it is written in the file; None: the command line or a default
    origin: str  # for messages


@dataclass
class GraderResolver:
    """Resolves the grader of each model-graded assertion; collects the distinct graders."""

    env: Mapping[str, str]
    base_dir: Path
    first_index: int  # graders are numbered after the providers under test
    cli_grader: str | None = None
    default_options: TestOptions | None = None
    require_token: bool = True
    graders: list[ProviderConfig] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # for the config's warnings
    _known: dict[str, int] = field(default_factory=dict)
    _failed: set[str] = field(default_factory=set)  # entries already reported as wrong

    def settle(
        self,
        spec: AssertionSpec,
        provider: ProviderEntry | None,
        options: TestOptions | None,
        *,
        assertion_loc: Loc,
        test_loc: Loc,
        syntax: TemplateSyntax,
    ) -> AssertionSpec:
        """``spec`` with its grading set, or unchanged when no model judges it.

        Raises ProviderProblems naming the key of a bad grader entry."""
        role = KINDS[spec.kind].grader
        if role is None:
            if provider is not None:
                # promptfoo ignores a judge given to a check no model judges (its Replicate
                # example gives `javascript` checks one): said, not refused.
                warning = (
                    f"{format_loc((*assertion_loc, 'provider'))}: `{spec.kind}` is not "
                    "model-graded, so its `provider` (a judge) is ignored, as promptfoo does"
                )
                if warning not in self.warnings:
                    self.warnings.append(warning)
            return spec
        choice = self._choose(role, provider, options, assertion_loc, test_loc)
        grader = self._grader(role, choice, assertion_loc)
        given = options.rubricPrompt if options and options.rubricPrompt is not None else None
        if given is None and self.default_options is not None:
            given = self.default_options.rubricPrompt
        embedder = None
        if KINDS[spec.kind].embeds:  # answer-relevance: embeddings of the grader's questions
            chosen = self._choose("embedding", None, options, assertion_loc, test_loc)
            embedder = self._grader("embedding", chosen, assertion_loc)
        # A test's factuality scores refine defaultTest's, category by category.
        scores: dict[str, float] = {}
        for source in (self.default_options, options):
            if source is not None and source.factuality is not None:
                scores.update(source.factuality.model_dump(exclude_unset=True))
        return replace(
            spec,
            grading=Grading(
                grader=grader,
                origin=choice.origin,
                prompt=read_grader_prompt(given) if role == "text" else None,
                prompt_syntax=syntax,
                factuality=scores,
                embedder=embedder,
            ),
        )

    def _choose(
        self,
        role: GraderRole,
        provider: ProviderEntry | None,
        options: TestOptions | None,
        assertion_loc: Loc,
        test_loc: Loc,
    ) -> _Choice:
        if provider is not None:
            where = (*assertion_loc, "provider")
            return _Choice(provider, where, format_loc(where))
        mine = getattr(options.provider, role) if options and options.provider else None
        if mine is not None:
            where = (*test_loc, "options", "provider")
            return _Choice(mine, where, format_loc(where))
        if role == "text" and self.cli_grader:
            return _Choice(ProviderEntry(id=self.cli_grader), None, "--grader")
        default = self.default_options
        shared = getattr(default.provider, role) if default and default.provider else None
        if shared is not None:
            where = ("defaultTest", "options", "provider")
            return _Choice(shared, where, format_loc(where))
        return _Choice(DEFAULT_GRADERS[role], None, f"the default {_ROLE_NAMES[role]}")

    def _grader(self, role: GraderRole, choice: _Choice, assertion_loc: Loc) -> int:
        entry = choice.entry
        key = canonical_json(
            {"role": role, "id": entry.id, "config": entry.config, "flat": entry.flat}
        )
        known = self._known.get(key)
        if known is not None:
            return known
        if key in self._failed:
            raise ProviderProblems([])  # reported at its first use
        index = self.first_index + len(self.graders)
        # Only the token variables: REPLICATE_MAX_NEW_TOKENS and the like are meant for the
        # models under test, and would cut a grader's verdict short.
        env = {name: value for name, value in self.env.items() if name in TOKEN_ENV_VARS}
        try:
            config = resolve_provider(
                entry,
                index,
                env,
                self.base_dir,
                here=choice.loc or (),
                origin=choice.origin,
                require_token=self.require_token,
            )
            if not config.capabilities.judges:
                name = _ROLE_NAMES[role]
                article = "an" if name[0] in "aeiou" else "a"
                raise ProviderProblems(
                    [
                        Problem(
                            choice.loc or (),
                            f"{article} {name} must be a `replicate:` text model, not `{entry.id}`",
                        )
                    ]
                )
        except ProviderProblems as exc:
            self._failed.add(key)
            if choice.loc is not None:
                raise
            # --grader or a default: point at the first assertion that needs it.
            raise ProviderProblems(
                [
                    p
                    if is_environment_problem(p)  # the same for every provider: said once
                    else Problem(
                        assertion_loc,
                        f"{choice.origin} `{entry.id}`: {_for_unwritten(p.message)}",
                    )
                    for p in exc.problems
                ]
            ) from None
        self.graders.append(config)
        self._known[key] = index
        return index


# Judges are asked through the run's Replicate session as language models (judging/calls.py).
NOT_A_JUDGE = "a grader must be a `replicate:` text model"


def cli_grader_problem(provider_id: str) -> str | None:
    """What is wrong with ``--grader PROVIDER_ID``, checked even when no test needs a grader
    (a typo should not pass unnoticed)."""
    try:
        provider_type = type_for(provider_id)
        if provider_type.capabilities.judges:
            provider_type.parse(provider_id, Path.cwd())
    except InvalidProviderId as exc:
        return f"--grader {provider_id}: {exc}"
    if not provider_type.capabilities.judges:
        return f"--grader {provider_id}: {NOT_A_JUDGE}"
    return None


def _for_unwritten(message: str) -> str:
    """A message about a grader the file does not write: no entry to add `apiKey` to."""
    return message.replace(
        "or add `apiKey` to this provider",
        "or name the grader with its own `apiKey` in `defaultTest.options.provider`",
    )


def grader_inputs(config: EvalConfig) -> tuple[dict[int, set[str]], dict[int, dict[str, str]]]:
    """Inputs graders are sent besides the prompt: a chat rubricPrompt's system message as
    `system_prompt`; and the ones they must have: a guard model's `assistant` (the output)."""
    sends: dict[int, set[str]] = {}
    needs: dict[int, dict[str, str]] = {}
    for test in config.tests:
        for spec in flat_assertions(test.assertions):
            if spec.grading is None:
                continue
            if KINDS[spec.kind].grader == "moderation":
                needs.setdefault(spec.grading.grader, {})["assistant"] = "the output to judge"
            prompt = spec.grading.prompt
            if isinstance(prompt, tuple) and any(role == "system" for role, _ in prompt):
                sends.setdefault(spec.grading.grader, set()).add("system_prompt")
    return sends, needs
