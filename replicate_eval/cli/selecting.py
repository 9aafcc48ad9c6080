"""Options several commands share: what a run covers (`run`, `validate`) and its gate
(`run`, `merge`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from replicate_eval.cli.common import fail

EnvFileOption = Annotated[
    Path | None,
    typer.Option(
        "--env-file",
        metavar="FILE",
        show_default=False,
        help="Read KEY=VALUE variables from FILE; the real environment wins. "
        "[default: .env beside the config, when there is one]",
    ),
]
FilterPatternOption = Annotated[
    str | None,
    typer.Option(
        "--filter-pattern",
        metavar="REGEX",
        show_default=False,
        help="Only tests whose description matches REGEX.",
    ),
]
FilterFirstOption = Annotated[
    int | None,
    typer.Option(
        "--filter-first-n", metavar="N", min=1, show_default=False, help="Only the first N tests."
    ),
]
VarOption = Annotated[
    list[str] | None,
    typer.Option(
        "--var",
        metavar="KEY=VALUE",
        show_default=False,
        help="Set a var in every test (wins over the config). Repeat for several.",
    ),
]
FailUnderOption = Annotated[
    float | None,
    typer.Option(
        "--fail-under",
        metavar="PCT",
        min=0,
        max=100,
        show_default=False,
        help=(
            "Exit 0 when at least PCT percent of the cells passed (errors count as "
            "failures); with --min-pass, PCT percent of the tests (test x prompt x provider) "
            "that reached it. [default: any failure exits 100]"
        ),
    ),
]
ShardOption = Annotated[
    str | None,
    typer.Option(
        "--shard",
        metavar="I/N",
        show_default=False,
        help="Only shard I of N: a stable split of the tests for N parallel CI jobs.",
    ),
]


def parse_vars(items: list[str] | None) -> dict[str, str]:
    """--var KEY=VALUE options as a mapping; a malformed one fails with exit 2."""
    overrides = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            fail(f"--var {item!r}: expected KEY=VALUE")
        overrides[key.strip()] = value
    return overrides
