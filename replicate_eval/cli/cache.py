"""``reval cache info`` and ``reval cache clear``: the response cache, seen and emptied."""

from __future__ import annotations

import os
import sqlite3
from datetime import datetime

import typer
from rich.markup import escape

from replicate_eval.cache import ResponseCache, default_cache_dir
from replicate_eval.cli.common import app, fail, open_cache, stdout
from replicate_eval.cli.options import CacheDirOption

cache_app = typer.Typer(
    help="See or empty the response cache (successful outputs and model schemas, so that no "
    "call is paid twice).",
    no_args_is_help=True,
)
app.add_typer(cache_app, name="cache")


@cache_app.command()
def info(cache_dir: CacheDirOption = None) -> None:
    """Where the cache is, how many responses and model schemas it holds, how big it is, and
    whether it was damaged (a damaged file is moved aside and a fresh one started)."""
    cache = open_cache(cache_dir)
    try:
        details = cache.info()
    except sqlite3.Error as exc:
        fail(f"cannot read the response cache {cache.path}: {exc}")
    finally:
        cache.close()
    stdout.print(f"Cache:     {escape(str(details.path))}", highlight=False)
    for damage in cache.repaired:
        stdout.print(
            f"Damaged:   {escape(damage.reason)}; moved to {escape(str(damage.moved_to))}",
            highlight=False,
            soft_wrap=True,
        )
    stdout.print(f"Responses: {details.entries}")
    stdout.print(f"Schemas:   {details.schemas}")
    stdout.print(f"Size:      {details.size_bytes / 1e6:.1f} MB")
    if details.oldest is not None and details.newest is not None:
        oldest = datetime.fromtimestamp(details.oldest).strftime("%Y-%m-%d %H:%M")
        newest = datetime.fromtimestamp(details.newest).strftime("%Y-%m-%d %H:%M")
        stdout.print(f"Saved:     {oldest} to {newest}")
    copies = [c for c in details.corrupt_copies if not c.name.endswith(("-wal", "-shm"))]
    if copies:
        stdout.print(
            f"Set aside: {len(copies)} damaged cache file(s) (`reval cache clear` deletes them)",
            highlight=False,
            soft_wrap=True,
        )


@cache_app.command()
def clear(cache_dir: CacheDirOption = None) -> None:
    """Delete every cached response and model schema: the next runs make all their predictions
    and fetch the schemas again. A damaged cache file, and those set aside earlier, are
    deleted too."""
    try:
        # Not open_cache: a damaged file is deleted here, not moved aside.
        cache = ResponseCache(cache_dir or default_cache_dir(os.environ), delete_damaged=True)
    except (OSError, sqlite3.Error) as exc:
        hint = "; is another reval running?" if "locked" in str(exc) else ""
        fail(f"cannot open the response cache: {exc}{hint}")
    try:
        cleared = cache.clear()
    except (OSError, sqlite3.Error) as exc:
        fail(f"cannot empty the response cache {cache.path} ({exc}); is another reval running?")
    finally:
        cache.close()
    for damage in cache.repaired:
        stdout.print(
            f"The cache file {escape(str(damage.path))} was damaged ({escape(damage.reason)}): "
            "deleted it and started an empty one",
            highlight=False,
            soft_wrap=True,
        )
    stdout.print(
        f"Removed {cleared.responses} cached responses and {cleared.schemas} model schemas "
        f"from {escape(str(cache.path))}",
        highlight=False,
        soft_wrap=True,
    )
    if cleared.copies:
        names = ", ".join(copy.name for copy in cleared.copies)
        stdout.print(
            f"Deleted {len(cleared.copies)} damaged cache file(s) set aside earlier: "
            f"{escape(names)}",
            highlight=False,
            soft_wrap=True,
        )
