"""``reval validate``: everything ``reval run`` checks, without making a prediction."""

from __future__ import annotations

from typing import Annotated

import typer

from replicate_eval.cli.common import (
    app,
    cache_choice,
    fail,
    load_or_fail,
    say_error,
    show_event,
    stderr,
    stdout,
)
from replicate_eval.cli.options import (
    CacheDirOption,
    ConfigArgument,
    GraderOption,
    NoPreflightOption,
    StrictOption,
)
from replicate_eval.cli.selecting import EnvFileOption
from replicate_eval.errors import RevalError
from replicate_eval.exit_codes import ExitCode


@app.command()
def validate(
    config: ConfigArgument,
    strict: StrictOption = False,
    no_preflight: NoPreflightOption = False,
    cache_dir: CacheDirOption = None,
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Neither read nor write cached model schemas.")
    ] = False,
    env_file: EnvFileOption = None,
    grader: GraderOption = None,
) -> None:
    """Check CONFIG without running it: load it, render every prompt for every test, and check
    each provider's inputs against its model's schema. Exits 0 when clean (warnings allowed),
    2 listing every problem otherwise. Makes no prediction."""
    from replicate_eval.api import validate as check

    # Without the preflight nothing is asked of Replicate: no token is needed (offline).
    eval_config = load_or_fail(
        config, env_file=env_file, grader=grader, require_token=not no_preflight
    )
    try:
        found = check(
            eval_config,
            preflight=not no_preflight,
            strict=strict,
            cache=cache_choice(cache_dir, no_cache),
            on_event=show_event,
        )
    except RevalError as exc:
        fail(str(exc))
    for message in found.problems:
        say_error(message)
    findings = found.findings
    # Every warning printed: the config's own (load_or_fail printed them) and the preflight's.
    warnings = len(eval_config.warnings) + sum(f.severity == "warning" for f in findings)
    if found.errors:
        stderr.print(
            f"{config}: {found.errors} problem(s), {warnings} warning(s).", highlight=False
        )
        raise typer.Exit(ExitCode.USAGE)
    unchecked = sum(f.unchecked for f in findings)
    models = len(eval_config.providers) + len(eval_config.graders)
    if no_preflight:
        checked = ""
    elif unchecked:
        what = "models (graders included)" if eval_config.graders else "providers"
        checked = f"; inputs checked for {models - unchecked} of {models} {what}"
    else:
        checked = "; inputs match the models' schemas"
    stdout.print(
        f"{config}: OK. {found.cells} cells ({len(eval_config.tests)} tests x "
        f"{len(eval_config.prompts)} prompts x {len(eval_config.providers)} providers) "
        f"render{checked}; {warnings} warning(s).",
        highlight=False,
    )
