"""promptfoo's top-level keys as reval reads them: the run's defaults (`evaluateOptions`), the
results files (`outputPath`), and one-line notes for the keys that mean nothing here."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from replicate_eval.config.schema import ConfigFile, ProviderEntry
from replicate_eval.config.types import RunDefaults

_IGNORED = {
    "sharing": "reval never uploads results",
    "tags": "reval keeps no tags",
    "extensions": "reval runs no JavaScript hooks",
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
    )


def output_paths(top: ConfigFile, base_dir: Path) -> tuple[Path, ...]:
    names = [top.output_path] if isinstance(top.output_path, str) else top.output_path or []
    return tuple(base_dir / name for name in names)


def ignored_key_notes(
    path: Path, top: ConfigFile, providers: list[tuple[int, ProviderEntry]]
) -> list[str]:
    """promptfoo's keys that mean nothing here: read, and said so once."""
    notes = [
        f"{path}: `{key}` is promptfoo's; {why}, so it is ignored"
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
