"""promptfoo's top-level keys as reval reads them: the run's defaults (`evaluateOptions`), the
results files (`outputPath`), `derivedMetrics`, and one-line notes for the keys that mean
nothing here."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from replicate_eval.assertions.base import flat_assertions
from replicate_eval.config.problems import Problem
from replicate_eval.config.schema import ConfigFile, ProviderEntry
from replicate_eval.config.types import RunDefaults, TestCase
from replicate_eval.errors import ConfigError
from replicate_eval.named_metrics import DerivedMetric, compile_derived, unknown_names

_IGNORED = {
    "sharing": "reval never uploads results",
    "tags": "reval keeps no tags",
    "extensions": "reval runs no JavaScript hooks",
    "write_latest_results": "reval keeps no results database (write files with -o)",
    "tracing": "reval records no OpenTelemetry traces",
    "redteam": "reval does not generate red-team tests",
}


def run_defaults(top: ConfigFile) -> RunDefaults:
    """`evaluateOptions` over reval's own defaults (RunDefaults'), key by key."""
    options = top.evaluate_options
    if options is None:
        return RunDefaults()
    built = RunDefaults()
    return replace(
        built,
        max_concurrency=options.maxConcurrency or built.max_concurrency,
        repeat=options.repeat or built.repeat,
        cache=built.cache if options.cache is None else options.cache,
        timeout=options.timeoutMs / 1000 if options.timeoutMs else built.timeout,
    )


def output_paths(top: ConfigFile, base_dir: Path) -> tuple[Path, ...]:
    names = [top.output_path] if isinstance(top.output_path, str) else top.output_path or []
    return tuple(base_dir / name for name in names)


def ignored_key_notes(
    path: Path, top: ConfigFile, providers: list[tuple[int, ProviderEntry]]
) -> list[str]:
    """promptfoo's keys that mean nothing here: read, and said so once."""
    notes = [
        f"{path}: `{ConfigFile.model_fields[key].alias or key}` is promptfoo's; {why}, "
        "so it is ignored"
        for key, why in _IGNORED.items()
        if getattr(top, key) is not None
    ]
    if top.evaluate_options and top.evaluate_options.showProgressBar is not None:
        notes.append(
            f"{path}: `evaluateOptions.showProgressBar` is ignored; reval shows a progress bar "
            "on a terminal unless run with --no-progress"
        )
    notes += [
        f"{path}: providers[{index}].inputs is promptfoo's multi-input setting for red "
        "teaming; it has no meaning in reval and is ignored"
        for index, entry in providers
        if entry.inputs is not None
    ]
    return notes


def derived_metrics(
    top: ConfigFile, tests: Sequence[TestCase], problems: list[Problem]
) -> tuple[tuple[DerivedMetric, ...], list[str]]:
    """`derivedMetrics`, compiled (problems for the bad ones), and warnings for names that no
    assertion's `metric` has: promptfoo counts them as 0, which hides a typo."""
    compiled: list[DerivedMetric] = []
    seen: set[str] = set()
    for index, entry in enumerate(top.derived_metrics):
        if entry.name in seen:
            problems.append(
                Problem(("derivedMetrics", index, "name"), f"`{entry.name}` is named twice")
            )
            continue
        seen.add(entry.name)
        try:
            compiled.append(compile_derived(entry.name, entry.value))
        except ConfigError as exc:
            problems.append(Problem(("derivedMetrics", index, "value"), str(exc)))
    metrics = {s.metric for t in tests for s in flat_assertions(t.assertions) if s.metric}
    unknown = unknown_names(compiled, metrics)
    warnings = []
    if unknown and compiled:
        listed = ", ".join(f"`{name}`" for name in unknown)
        warnings.append(
            f"derivedMetrics use {listed}, which no assertion's `metric` names: counted as 0"
        )
    return tuple(compiled), warnings
