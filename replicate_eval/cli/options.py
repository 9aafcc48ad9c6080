"""Options that several commands share. Declaring them imports only Typer, so that listing or
resolving a command does not load the engine."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

ConfigArgument = Annotated[
    Path,
    typer.Argument(
        metavar="CONFIG",
        show_default=False,
        help="The eval file (YAML) with prompts, providers and tests.",
    ),
]
CacheDirOption = Annotated[
    Path | None,
    typer.Option(
        "--cache-dir",
        metavar="DIR",
        show_default=False,
        help="The response cache's folder. [default: $XDG_CACHE_HOME/reval, else ~/.cache/reval]",
    ),
]
StrictOption = Annotated[
    bool,
    typer.Option(
        "--strict", help="Inputs a model does not have are errors, not warnings (preflight)."
    ),
]
GraderOption = Annotated[
    str | None,
    typer.Option(
        "--grader",
        metavar="PROVIDER_ID",
        show_default=False,
        help=(
            "The model that grades llm-rubric, model-graded-closedqa and factuality "
            "assertions, e.g. `replicate:meta/meta-llama-3.1-405b-instruct`; a test's or an "
            "assertion's own `provider` still wins. [default: defaultTest.options.provider, "
            "else replicate:meta/meta-llama-3-70b-instruct]"
        ),
    ),
]
NoPreflightOption = Annotated[
    bool,
    typer.Option(
        "--no-preflight", help="Do not check the inputs against the models' schemas first."
    ),
]
StoreOption = Annotated[
    Path | None,
    typer.Option(
        "--store",
        metavar="DIR",
        envvar="REVAL_STORE",
        show_default=False,
        help="The run store's folder (the history `reval runs` and `reval diff` read). "
        "[default: $XDG_DATA_HOME/reval, else ~/.local/share/reval]",
    ),
]
NoStoreOption = Annotated[
    bool,
    typer.Option(
        "--no-store",
        help="Do not use the run store: record nothing, and read REFs only as results files.",
    ),
]


def output_option(help: str) -> Any:
    """`-o FILE`, repeatable: the files a command writes, by their suffix."""
    return typer.Option("--output", "-o", metavar="FILE", show_default=False, help=help)
