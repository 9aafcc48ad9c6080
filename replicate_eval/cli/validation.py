"""``reval validate``: everything ``reval run`` checks, without making a prediction."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

import typer

from replicate_eval.chat import parse_chat
from replicate_eval.cli.common import (
    CacheDirOption,
    ConfigArgument,
    ExitCode,
    GraderOption,
    NoPreflightOption,
    StrictOption,
    app,
    check_models,
    load_or_fail,
    run_cache,
    say_error,
    stderr,
    stdout,
)
from replicate_eval.cli.selecting import EnvFileOption
from replicate_eval.errors import CellError
from replicate_eval.plan import Plan, build_plan
from replicate_eval.preflight import Finding


def _cell_problems(plan: Plan) -> Iterator[str]:
    """What would make cells errors before any call: a missing var, a malformed chat."""
    for cell in plan.cells:
        if cell.error:
            yield f"tests[{cell.test.index}]: {cell.error}"
        elif cell.rendered_prompt is not None and cell.provider.kind == "text":
            try:
                parse_chat(cell.rendered_prompt)
            except CellError as exc:
                yield f"tests[{cell.test.index}], prompt `{cell.prompt.label}`: {exc}"


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
    # Without the preflight nothing is asked of Replicate: no token is needed (offline).
    eval_config = load_or_fail(
        config, env_file=env_file, grader=grader, require_token=not no_preflight
    )
    plan = build_plan(eval_config)
    # One line per broken (test, prompt): the providers share the same rendering.
    render_errors = list(dict.fromkeys(_cell_problems(plan)))
    for message in render_errors:
        say_error(message)
    findings: list[Finding] = []
    if not no_preflight:
        cache = run_cache(cache_dir, no_cache)
        try:
            findings = check_models(eval_config, strict=strict, cache=cache)
        finally:
            if cache is not None:
                cache.close()
    errors = len(render_errors) + sum(f.severity == "error" for f in findings)
    # Every warning printed: the config's own (load_or_fail printed them) and the preflight's.
    warnings = len(eval_config.warnings) + sum(f.severity == "warning" for f in findings)
    if errors:
        stderr.print(f"{config}: {errors} problem(s), {warnings} warning(s).", highlight=False)
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
        f"{config}: OK. {len(plan.cells)} cells ({len(eval_config.tests)} tests x "
        f"{len(eval_config.prompts)} prompts x {len(eval_config.providers)} providers) "
        f"render{checked}; {warnings} warning(s).",
        highlight=False,
    )
