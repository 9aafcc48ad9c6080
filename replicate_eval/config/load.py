"""``load_config``: the YAML file -> a resolved, validated ``EvalConfig``.

Everything that can be checked without calling a model is checked here, and every problem is
reported at once with its file, line and key path.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from replicate_eval.clip import clip
from replicate_eval.config.assertion_entries import compile_entries, settle_all, test_transform
from replicate_eval.config.case_files import gather_tests
from replicate_eval.config.datasets import (
    bare_file,
    expand_prompt_reference,
    read_var_file,
    var_combinations,
    vars_file,
)
from replicate_eval.config.problems import Problem, raise_problems
from replicate_eval.config.prompt_filter import prompt_filter_problems, test_filter_problems
from replicate_eval.config.providers import ProviderProblems, env_text, resolve_provider
from replicate_eval.config.scenarios import gather_scenarios
from replicate_eval.config.schema import (
    PromptEntry,
    ProviderEntry,
    TestEntry,
)
from replicate_eval.config.sections import Sections, relocate, validate_sections
from replicate_eval.config.syntax import INFERRED_CURLY_NOTE, chosen_syntax, syntax_warnings
from replicate_eval.config.top_level import (
    derived_metrics,
    ignored_key_notes,
    output_paths,
    run_defaults,
)
from replicate_eval.config.types import EvalConfig, Prompt, ProviderConfig, TestCase
from replicate_eval.config.yaml_source import Loc, parse_yaml, read_yaml
from replicate_eval.errors import ConfigError
from replicate_eval.judging.prompts import check_grader_prompt, grader_prompt_findings
from replicate_eval.judging.settings import GraderResolver, cli_grader_problem
from replicate_eval.templating import Templates

FILE_PREFIX = "file://"


def load_config(
    path: Path,
    env: Mapping[str, str],
    *,
    grader: str | None = None,
    require_token: bool = True,
    text: str | None = None,
) -> EvalConfig:
    """Read and validate ``path`` (or ``text``, a YAML document standing for it). Raises
    ConfigError listing every problem found.

    ``grader`` is ``--grader``: the provider id of the text grader, unless a test names one.
    ``require_token=False`` (validating offline): a missing token is no problem, and providers
    carry an empty one.
    """
    wrong_grader = cli_grader_problem(grader) if grader is not None else None
    if wrong_grader:
        raise ConfigError(wrong_grader)
    with _collector_paused():
        return _load(path, env, grader, require_token, text)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Loading builds millions of small objects and no garbage cycles; Python's cycle
    collector would scan them over and over (half the time of a 10,000-test config)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _load(
    path: Path, env: Mapping[str, str], grader: str | None, require_token: bool, text: str | None
) -> EvalConfig:
    doc = read_yaml(path) if text is None else parse_yaml(text, path)
    if doc is None:
        raise ConfigError("the config is empty; it needs at least `prompts` and `providers`.")
    if not isinstance(doc.data, dict):
        raise ConfigError(
            f"{path}: the top level must be a mapping with `prompts`, `providers` and `tests`."
        )
    base_dir = path.parent
    refused = [Problem(value.loc, value.message) for value in doc.refused]
    sources, problems = gather_tests(doc.data.get("tests"), base_dir)
    made, wrong = gather_scenarios(doc.data.get("scenarios"), base_dir)
    sources, problems = [*sources, *made], [*problems, *wrong]
    file, wrong = validate_sections(doc.data, sources)
    problems += wrong
    top = file.top
    # promptfoo's top-level `env`, over the process's (a provider's own `env` wins over both).
    env = {**env, **{key: env_text(value) for key, value in top.env.items()}}
    found: list[Problem] = []  # at tests[k], k counted among all tests
    entries = file.tests if sources else [(0, TestEntry())]
    default = file.default_test or TestEntry()
    test_vars = _read_vars(default, entries, base_dir, problems, found)
    texts = _read_prompts(file.prompts, base_dir, problems)
    syntax, inferred = chosen_syntax(
        top.template_syntax,
        (text.template for text in texts),
        (a.value for test in (default, *(e for _, e in entries)) for a in test.assert_),
        {name for variables in test_vars.values() for name in variables},
    )
    templates = Templates(syntax)
    prompts = _resolve_prompts(texts, templates, problems)
    delay = top.evaluate_options.delay if top.evaluate_options else None
    providers = _resolve_providers(
        file.providers, env, base_dir, problems, require_token, default_delay_ms=delay or 0.0
    )
    problems += prompt_filter_problems(providers, prompts)
    found += test_filter_problems(entries, providers, prompts)
    resolver = GraderResolver(
        env,
        base_dir,
        first_index=file.provider_count,
        cli_grader=grader,
        default_options=file.default_test.options if file.default_test else None,
        require_token=require_token,
    )
    grader_warnings: list[str] = []
    tests = _resolve_tests(
        file, entries, test_vars, base_dir, resolver, templates, found, grader_warnings
    )
    problems += [relocate(problem, sources) for problem in found]
    derived, derived_warnings = derived_metrics(top, tests, problems)
    if refused or problems:
        # A refused value was read as None: its own message says more than a type error.
        places = {value.loc for value in refused}
        problems = [
            p
            for p in problems
            if p.at is not None or not any(p.loc[:end] in places for end in range(len(p.loc) + 1))
        ]
        raise_problems(doc, [*refused, *problems])
    return EvalConfig(
        path=path,
        description=file.description,
        template_syntax=syntax,
        prompts=tuple(prompts),
        providers=tuple(providers),
        tests=tuple(tests),
        warnings=(
            *syntax_warnings(doc.path, prompts, tests, syntax),
            *(f"{path}: {w}" for w in (*grader_warnings, *resolver.warnings, *derived_warnings)),
        ),
        notes=(
            *((INFERRED_CURLY_NOTE.format(path=path),) if inferred else ()),
            *ignored_key_notes(path, top, file.providers),
        ),
        graders=tuple(resolver.graders),
        run_defaults=run_defaults(top),
        output_paths=output_paths(top, base_dir),
        derived_metrics=derived,
        metadata=top.metadata,
    )


_DEFAULT = -1  # test_vars' key for defaultTest's


def _read_vars(
    default: TestEntry,
    entries: list[tuple[int, TestEntry]],
    base_dir: Path,
    problems: list[Problem],
    found: list[Problem],
) -> dict[int, dict[str, Any]]:
    """Each test's own vars by index (defaultTest's at ``_DEFAULT``), `file://vars.yaml` read
    once; a test whose vars cannot be read is left out, its problem noted."""
    read: dict[int, dict[str, Any]] = {}
    try:
        read[_DEFAULT] = vars_file(default.vars, base_dir)
    except ConfigError as exc:
        problems.append(Problem(("defaultTest", "vars"), str(exc)))
        read[_DEFAULT] = {}
    for index, entry in entries:
        try:
            read[index] = vars_file(entry.vars, base_dir)
        except ConfigError as exc:
            found.append(Problem(("tests", index, "vars"), str(exc)))
    return read


@dataclass(frozen=True)
class _PromptText:
    index: int  # of its entry in `prompts`
    entry: PromptEntry
    template: str
    source: Path | None  # the file it was read from
    label: str | None  # given, or made from the file's name


def _read_prompts(
    entries: list[tuple[int, PromptEntry]], base_dir: Path, problems: list[Problem]
) -> list[_PromptText]:
    """Each prompt's text, prompt files read (a file may hold several)."""
    found: list[_PromptText] = []
    for index, entry in entries:
        reference = (
            entry.raw if entry.raw.startswith(FILE_PREFIX) else bare_file(entry.raw, base_dir)
        )
        if reference is None:
            found.append(_PromptText(index, entry, entry.raw, None, entry.label))
            continue
        try:
            expanded = expand_prompt_reference(reference, base_dir)
        except ConfigError as exc:
            problems.append(Problem(("prompts", index), str(exc)))
            continue
        for file, template, number, count in expanded:
            name = entry.label or _relative(file, base_dir)
            label = f"{name} #{number}" if count > 1 else name
            found.append(_PromptText(index, entry, template, file, label))
    return found


def _resolve_prompts(
    texts: list[_PromptText], templates: Templates, problems: list[Problem]
) -> list[Prompt]:
    prompts: list[Prompt] = []
    labels: dict[str, int] = {}
    for text in texts:
        loc: Loc = ("prompts", text.index)
        syntax = templates.check(text.template)
        if syntax:
            where = f" (line {syntax.line} of the prompt)" if syntax.line else ""
            in_file = f" in {text.source}" if text.source else ""
            problems.append(
                Problem(loc, f"template syntax error{in_file}{where}: {syntax.message}")
            )
            continue
        label = text.label or _derived_label(text.template)
        if label in labels:
            if text.entry.label and not text.source:
                problems.append(
                    Problem(
                        (*loc, "label"),
                        f"label `{label}` is already used by prompts[{labels[label]}]",
                    )
                )
                continue
            label = f"{label} #{len(prompts) + 1}"
        labels[label] = text.index
        prompts.append(Prompt(len(prompts), label, text.template, text.source))
    return prompts


def _relative(path: Path, base_dir: Path) -> str:
    try:
        return str(path.relative_to(base_dir))
    except ValueError:
        return str(path)


def _derived_label(template: str) -> str:
    return clip(" ".join(template.split()), _LABEL_LIMIT)


_LABEL_LIMIT = 40  # characters of a prompt's label made from its template


def _resolve_providers(
    entries: list[tuple[int, ProviderEntry]],
    env: Mapping[str, str],
    base_dir: Path,
    problems: list[Problem],
    require_token: bool,
    *,
    default_delay_ms: float,
) -> list[ProviderConfig]:
    providers: list[ProviderConfig] = []
    labels: dict[str, int] = {}
    for index, entry in entries:
        try:
            provider = resolve_provider(
                entry,
                index,
                env,
                base_dir,
                require_token=require_token,
                default_delay_ms=default_delay_ms,
            )
        except ProviderProblems as exc:
            problems.extend(exc.problems)
            continue
        if provider.label in labels:
            if entry.label:
                problems.append(
                    Problem(
                        ("providers", index, "label"),
                        f"label `{entry.label}` "
                        f"is already used by providers[{labels[entry.label]}]",
                    )
                )
                continue
            provider = replace(provider, label=f"{provider.label} #{index + 1}")
        labels[provider.label] = index
        providers.append(provider)
    return providers


def _resolve_tests(
    file: Sections,
    entries: list[tuple[int, TestEntry]],
    test_vars: dict[int, dict[str, Any]],
    base_dir: Path,
    graders: GraderResolver,
    templates: Templates,
    problems: list[Problem],
    warnings: list[str],
) -> list[TestCase]:
    default = file.default_test or TestEntry()
    default_prompt = default.options.rubricPrompt if default.options else None
    problems.extend(
        check_grader_prompt(default_prompt, ("defaultTest", "options", "rubricPrompt"), templates)
    )
    default_asserts = compile_entries(default.assert_, ("defaultTest",), base_dir, problems)
    tests: list[TestCase] = []
    for index, entry in entries:
        test_loc: Loc = ("tests", index)
        own_prompt = entry.options.rubricPrompt if entry.options else None
        prompt_loc: Loc = (*test_loc, "options", "rubricPrompt")
        problems.extend(check_grader_prompt(own_prompt, prompt_loc, templates))
        compiled = compile_entries(entry.assert_, test_loc, base_dir, problems)
        transform = test_transform(entry, default, test_loc, base_dir, problems)
        # defaultTest's assertions too: the test's own options choose their grader.
        asserts = settle_all(
            [*default_asserts, *compiled], graders, entry.options, test_loc, templates, problems
        )
        if index not in test_vars:  # its vars file could not be read (already reported)
            continue
        variables = {**test_vars[_DEFAULT], **test_vars[index]}
        for name, value in variables.items():
            try:
                variables[name] = read_var_file(value, base_dir)
            except ConfigError as exc:
                problems.append(Problem(("tests", index, "vars", name), str(exc)))
        if own_prompt is None:
            prompt_loc = ("defaultTest", "options", "rubricPrompt")
        try:  # promptfoo's `disableVarExpansion` keeps list vars whole
            expand = not _option(entry, default, "disableVarExpansion", False)
            combinations = var_combinations(variables) if expand else [variables]
        except ConfigError as exc:
            problems.append(Problem(("tests", index, "vars"), str(exc)))
            continue
        for combination in combinations:
            test = TestCase(
                index=len(tests),
                description=entry.description,
                vars=combination,
                metadata={**default.metadata, **entry.metadata},
                assertions=tuple(asserts),
                threshold=entry.threshold if entry.threshold is not None else default.threshold,
                transform=transform,
                prefix=_option(entry, default, "prefix"),
                suffix=_option(entry, default, "suffix"),
            )
            found, noted = grader_prompt_findings(test, prompt_loc, templates, test_loc)
            problems.extend(p for p in found if p not in problems)
            warnings.extend(w for w in noted if w not in warnings)
            tests.append(test)
    return tests


def _option(entry: TestEntry, default: TestEntry, key: str, unset: Any = "") -> Any:
    """A test's `options.KEY`, else defaultTest's (promptfoo merges options so), else unset."""
    for options in (entry.options, default.options):
        value = getattr(options, key) if options is not None else None
        if value is not None:
            return value
    return unset
