"""``reval cache info`` and ``reval cache clear``: the response cache, seen and emptied."""

from __future__ import annotations

import os
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from replicate_eval.cache import ResponseCache, default_cache_dir
from replicate_eval.cli.common import app, fail, stdout

cache_app = typer.Typer(
    help="See or empty the response cache (successful outputs, so that no call is paid twice).",
    no_args_is_help=True,
)
app.add_typer(cache_app, name="cache")

CacheDir = Annotated[
    Path | None,
    typer.Option(
        "--cache-dir",
        metavar="DIR",
        show_default=False,
        help="The cache folder. [default: $XDG_CACHE_HOME/reval, else ~/.cache/reval]",
    ),
]


def _open(cache_dir: Path | None) -> ResponseCache:
    try:
        return ResponseCache(cache_dir or default_cache_dir(os.environ))
    except (OSError, sqlite3.Error) as exc:
        fail(f"cannot open the response cache: {exc}")


@cache_app.command()
def info(cache_dir: CacheDir = None) -> None:
    """Where the cache is, how many responses it holds and how big it is."""
    cache = _open(cache_dir)
    try:
        details = cache.info()
    except sqlite3.Error as exc:
        fail(f"cannot read the response cache {cache.path}: {exc}")
    finally:
        cache.close()
    stdout.print(f"Cache:     {escape(str(details.path))}", highlight=False)
    stdout.print(f"Responses: {details.entries}")
    stdout.print(f"Size:      {details.size_bytes / 1e6:.1f} MB")
    if details.oldest is not None and details.newest is not None:
        oldest = datetime.fromtimestamp(details.oldest).strftime("%Y-%m-%d %H:%M")
        newest = datetime.fromtimestamp(details.newest).strftime("%Y-%m-%d %H:%M")
        stdout.print(f"Saved:     {oldest} to {newest}")


@cache_app.command()
def clear(cache_dir: CacheDir = None) -> None:
    """Delete every cached response: the next runs make all their predictions again."""
    cache = _open(cache_dir)
    try:
        removed = cache.clear()
    except sqlite3.Error as exc:
        fail(f"cannot empty the response cache {cache.path} ({exc}); is another reval running?")
    finally:
        cache.close()
    stdout.print(f"Removed {removed} cached responses from {escape(str(cache.path))}")
