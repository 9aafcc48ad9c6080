"""``reval models list`` and ``reval models show``: Replicate's catalogue, from the terminal."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import typer
import yaml
from pydantic import SecretStr
from rich import box
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from replicate_eval.catalogue import (
    MAX_PAGES,
    Listing,
    ModelSummary,
    SortKey,
    find_models,
    summarize,
)
from replicate_eval.cli.common import (
    app,
    fail,
    remember_secret,
    shown,
    stderr,
    stdout,
    use_base_url,
)
from replicate_eval.clip import clip
from replicate_eval.config.providers import BAD_TOKEN, TOKEN_ENV_VARS, token_shaped
from replicate_eval.errors import ProviderError
from replicate_eval.model_schema import InputField, ModelInterface
from replicate_eval.providers.replicate.api import ReplicateApi
from replicate_eval.providers.replicate.session import ReplicateSession
from replicate_eval.providers.types.base import InvalidProviderId
from replicate_eval.providers.types.replicate import model_target
from replicate_eval.terminal_text import printable

models_app = typer.Typer(
    help="Explore Replicate's public models: list or search them, show their inputs.",
    no_args_is_help=True,
)
app.add_typer(models_app, name="models")
T = TypeVar("T")


@models_app.command("list")
def list_models(
    owner: Annotated[
        str | None,
        typer.Option(
            "--owner",
            help="Only models of this user or organisation (found by searching for its name).",
        ),
    ] = None,
    search: Annotated[
        str | None,
        typer.Option("--search", metavar="QUERY", help="Replicate's model search."),
    ] = None,
    collection: Annotated[
        str | None,
        typer.Option(
            "--collection", metavar="SLUG", help="Models of a collection, e.g. `text-to-image`."
        ),
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", min=1, max=5000, help="Show at most this many models.")
    ] = 50,
    sort: Annotated[
        SortKey | None,
        typer.Option(
            "--sort",
            help="Order by `runs` (most run first) or `name`, after reading every page of the "
            "selection (up to --max-pages).",
        ),
    ] = None,
    max_pages: Annotated[
        int,
        typer.Option(
            "--max-pages",
            min=1,
            help="Read at most this many pages (25 models each on Replicate); with --sort, "
            "only the models of these pages are sorted.",
        ),
    ] = MAX_PAGES,
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON document with stable field names.")
    ] = False,
) -> None:
    """List public models, with the provider id to paste into a config.

    Without --sort, models come in Replicate's order (the latest version's date, newest first)
    and reading stops as soon as --limit models are found. With --sort, every page of the
    selection (all models, a --search, an --owner) is read first, then sorted, then cut to
    --limit: Replicate cannot sort by run count, so the 5 most run models are only known once
    all of them are read (a progress bar on a terminal). At most --max-pages pages are read; when
    that cap stops the reading, a note says how many models were sorted. --collection is one
    request, sorted and cut the same way.
    """
    if search is not None and collection is not None:
        fail("--search and --collection cannot be used together")
    bar = _pages_progress(enabled=stderr.is_terminal and collection is None)

    async def find(api: ReplicateApi) -> Listing:
        with bar:
            task = bar.add_task("Reading models", total=None, pages=0, models=0)
            return await find_models(
                api,
                limit=limit,
                owner=owner,
                search=search,
                collection=collection,
                sort=sort,
                max_pages=max_pages,
                progress=lambda pages, models: bar.update(task, pages=pages, models=models),
            )

    listing = _with_api(find)
    models = listing.models
    if listing.capped:
        done = "sorted" if sort else "found"
        pages = f"{listing.pages} page" + ("s" if listing.pages != 1 else "")
        stderr.print(
            f"note: {done} the first {listing.read:,} models of the selection: reading stopped "
            f"at the --max-pages cap ({pages}) and more pages exist; raise "
            "--max-pages to read further",
            highlight=False,
        )
    if as_json:
        document = {
            "models": [m.as_json() for m in models],
            "pages_read": listing.pages,
            "models_read": listing.read,
            "capped": listing.capped,
        }
        stdout.print_json(json.dumps(document))
        return
    if not models:
        stdout.print("No models found.")
        return
    if stdout.is_terminal:
        stdout.print(_models_table(models))
    else:
        # print(), not Rich: no wrapping at 80 columns, nothing cut, nothing styled.
        print(printable(_plain_table(models)))


def _pages_progress(*, enabled: bool) -> Progress:
    """Pages and models read so far; the total is unknown (cursor pagination)."""
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[pages]} pages · {task.fields[models]:,} models"),
        TimeElapsedColumn(),
        console=stderr,
        transient=True,
        disable=not enabled,
    )


@models_app.command("show")
def show_model(
    model: Annotated[
        str,
        typer.Argument(
            metavar="OWNER/NAME[:VERSION]",
            help="The model, optionally at a version.",
            show_default=False,
        ),
    ],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the version's raw OpenAPI schema.")
    ] = False,
) -> None:
    """Show a model: its description, latest version, inputs and output type."""
    try:
        target = model_target(model)
    except InvalidProviderId as exc:
        fail(str(exc))

    async def fetch(api: ReplicateApi) -> tuple[ModelSummary, dict[str, Any] | None]:
        raw = await api.model(target.slug)
        summary = summarize(raw)
        if target.version:
            version = await api.version(target.slug, target.version)
            raw = {**raw, "latest_version": version}
            summary = summarize(raw)
        return summary, (raw.get("latest_version") or {}).get("openapi_schema")

    summary, schema = _with_api(fetch)
    if as_json:
        if schema is None:
            fail(f"{summary.slug} publishes no schema for this version")
        stdout.print_json(json.dumps(schema))
        return
    _print_model(summary, target.version)


def _with_api(call: Callable[[ReplicateApi], Awaitable[T]]) -> T:
    token, source = _token()

    async def run() -> T:
        session = ReplicateSession(max_connections=4)
        try:
            api = session.api_for_token(SecretStr(token), source)
            return await call(api)
        finally:
            await session.aclose()

    try:
        return asyncio.run(run())
    except ProviderError as exc:
        fail(str(exc))


def _token() -> tuple[str, str]:
    use_base_url(dict(os.environ))
    for variable in TOKEN_ENV_VARS:
        remember_secret(os.environ.get(variable))
        value = os.environ.get(variable, "")
        if value.strip():
            if not token_shaped(value):
                fail(f"environment variable {variable}: {BAD_TOKEN}")
            return value, variable
    fail(
        "no Replicate API token: set REPLICATE_API_TOKEN "
        "(create one at https://replicate.com/account/api-tokens)"
    )


_VERSION_SHOWN = 8  # characters of a version id in the table, enough to tell versions apart
_COLUMNS = ("model", "description", "runs", "visibility", "latest", "provider id")


def _rows(models: list[ModelSummary], description_width: int) -> list[tuple[str, ...]]:
    return [
        (
            model.slug,
            clip(model.description, description_width),
            f"{model.run_count:,}" if model.run_count is not None else "",
            model.visibility,
            clip(model.latest_version or "", _VERSION_SHOWN, marker=""),
            model.provider_id,
        )
        for model in models
    ]


def _models_table(models: list[ModelSummary]) -> Table:
    table = Table(box=box.SIMPLE_HEAVY, pad_edge=False, header_style="bold")
    for column in _COLUMNS:
        table.add_column(column, justify="right" if column == "runs" else "left")
    table.columns[1].overflow = "fold"
    for row in _rows(models, 120):
        table.add_row(*(shown(cell) for cell in row))
    return table


def _plain_table(models: list[ModelSummary]) -> str:
    """Aligned columns for pipes and files: every column whole, one model per line."""
    rows = [_COLUMNS, *_rows(models, 60)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(_COLUMNS))]
    lines = []
    for row in rows:
        cells = [
            cell.rjust(width) if index == 2 else cell.ljust(width)
            for index, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def _print_model(model: ModelSummary, version: str | None) -> None:
    stdout.print(f"[bold]{shown(model.slug)}[/]  {shown(model.url)}", highlight=False)
    if model.description:
        stdout.print(shown(model.description), highlight=False)
    runs = f"{model.run_count:,} runs" if model.run_count is not None else "run count unknown"
    stdout.print(f"{model.visibility} · {runs}", highlight=False)
    label = "version" if version else "latest version"
    created = f" ({model.latest_version_created_at})" if model.latest_version_created_at else ""
    stdout.print(f"{label}: {model.latest_version or 'none'}{created}", highlight=False)
    interface = model.interface
    if interface is None:
        stdout.print("This version publishes no input schema.")
        return
    stdout.print(_inputs_table(interface))
    stdout.print(f"output: {interface.output_description}", highlight=False)
    stdout.print("\nA provider entry with the model's defaults:")
    stdout.print(shown(_provider_entry(model, interface, version)), highlight=False)


def _inputs_table(interface: ModelInterface) -> Table:
    table = Table(box=box.SIMPLE_HEAVY if stdout.is_terminal else None, pad_edge=False)
    for column in ("input", "type", "default", "range", "allowed values", "description"):
        table.add_column(column, overflow="fold")
    for field in interface.inputs:
        # Schemas come from model authors: `[/INST]` in a default is text, not Rich markup.
        cells = (
            field.name + (" *" if field.required else ""),
            field.type,
            json.dumps(field.default) if field.has_default else "",
            _range(field),
            ", ".join(str(choice) for choice in field.choices),
            field.description,
        )
        table.add_row(*(shown(cell) for cell in cells))
    return table


def _range(field: InputField) -> str:
    low = "" if field.minimum is None else f"{field.minimum:g}"
    high = "" if field.maximum is None else f"{field.maximum:g}"
    return f"{low}..{high}" if low or high else ""


def _provider_entry(model: ModelSummary, interface: ModelInterface, version: str | None) -> str:
    provider_id = model.provider_id + (f":{version}" if version else "")
    options = {
        field.name: field.default
        for field in interface.inputs
        if field.has_default and field.name not in ("prompt", "system_prompt")
    }
    entry: dict[str, Any] = {"id": provider_id}
    if options:
        entry["config"] = options
    return yaml.safe_dump({"providers": [entry]}, sort_keys=False, allow_unicode=True).rstrip()
