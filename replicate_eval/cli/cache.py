"""``reval cache info`` and ``reval cache clear``: the response cache, seen and emptied."""

from __future__ import annotations

import sqlite3
from datetime import datetime

import typer
from rich.markup import escape

from replicate_eval.cli.common import CacheDirOption, app, fail, open_cache, stdout

cache_app = typer.Typer(
    help="See or empty the response cache (successful outputs, so that no call is paid twice).",
    no_args_is_help=True,
)
app.add_typer(cache_app, name="cache")


@cache_app.command()
def info(cache_dir: CacheDirOption = None) -> None:
    """Where the cache is, how many responses it holds and how big it is."""
    cache = open_cache(cache_dir)
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
def clear(cache_dir: CacheDirOption = None) -> None:
    """Delete every cached response: the next runs make all their predictions again."""
    cache = open_cache(cache_dir)
    try:
        removed = cache.clear()
    except sqlite3.Error as exc:
        fail(f"cannot empty the response cache {cache.path} ({exc}); is another reval running?")
    finally:
        cache.close()
    stdout.print(f"Removed {removed} cached responses from {escape(str(cache.path))}")
