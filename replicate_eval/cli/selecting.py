"""Options several commands share: what a run covers (`run`, `validate`) and its gate
(`run`, `merge`)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import regex
import typer

from replicate_eval.cli.common import fail
from replicate_eval.config.selection import Selection

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
            "failures). [default: any failure exits 100]"
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


def selection(
    pattern: str | None, first_n: int | None, variables: list[str] | None, shard: str | None
) -> Selection:
    """The options as a Selection; a malformed one fails with exit 2."""
    compiled = None
    if pattern is not None:
        try:
            compiled = regex.compile(pattern)
        except (regex.error, ValueError, OverflowError, RecursionError) as exc:
            fail(f"--filter-pattern {pattern!r}: not a regular expression ({exc})")
    overrides = {}
    for item in variables or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            fail(f"--var {item!r}: expected KEY=VALUE")
        overrides[key.strip()] = value
    return Selection(compiled, _shard(shard), first_n, overrides)


def _shard(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if not match or not 1 <= int(match.group(1)) <= int(match.group(2)):
        fail(f"--shard {text!r}: expected I/N with 1 <= I <= N, e.g. --shard 2/3")
    return int(match.group(1)), int(match.group(2))
