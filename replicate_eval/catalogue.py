"""Replicate's public models, as ``reval models`` lists and shows them.

Unsorted, listing follows the API's cursor pagination lazily: pages are fetched only until
``limit`` models are found. Sorted, every page of the selection is read first, because the API
sorts only by creation dates (``sort_by`` is ``model_created_at`` or
``latest_version_created_at``, per Replicate's OpenAPI document), never by run count or name; the
top 5 of the first pages are not the top 5. Either way at most ``max_pages`` pages are read.
The API has no owner filter: an owner is searched for by name and only its models are kept.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from replicate_eval.model_schema import ModelInterface, OutputKind, read_interface
from replicate_eval.providers.replicate.api import ReplicateApi

SortKey = Literal["runs", "name"]
# The default cap on pages read. A page of `GET /v1/models` holds 25 models (Replicate's changelog,
# 2023-10-05, "API for listing public models"), so 200 pages are 5,000 models: one request after
# another, well under Replicate's 3,000 reads a minute (shared/reference/README.md).
MAX_PAGES = 200
# Called after each page: pages read so far, models kept so far.
PageProgress = Callable[[int, int], None]


@dataclass(frozen=True)
class ModelSummary:
    slug: str
    description: str
    run_count: int | None
    visibility: str
    url: str
    latest_version: str | None
    latest_version_created_at: str | None
    interface: ModelInterface | None

    @property
    def output_kind(self) -> OutputKind | None:
        return self.interface.output if self.interface else None

    @property
    def provider_id(self) -> str:
        """What to paste into a config: `replicate:image:` for models that make files."""
        prefix = "replicate:image:" if self.output_kind == "image" else "replicate:"
        return prefix + self.slug

    def as_json(self) -> dict[str, Any]:
        """The stable shape of `reval models list --json`."""
        return {
            "model": self.slug,
            "description": self.description,
            "run_count": self.run_count,
            "visibility": self.visibility,
            "url": self.url,
            "latest_version": self.latest_version,
            "latest_version_created_at": self.latest_version_created_at,
            "output": self.output_kind,
            "provider_id": self.provider_id,
        }


def summarize(model: dict[str, Any]) -> ModelSummary:
    latest = model.get("latest_version") or {}
    created = latest.get("created_at")
    return ModelSummary(
        slug=f"{model.get('owner')}/{model.get('name')}",
        description=" ".join(str(model.get("description") or "").split()),
        run_count=model.get("run_count"),
        visibility=str(model.get("visibility") or "public"),
        url=str(model.get("url") or ""),
        latest_version=latest.get("id"),
        latest_version_created_at=(
            created.isoformat() if isinstance(created, datetime) else str(created or "") or None
        ),
        interface=read_interface(latest.get("openapi_schema")),
    )


@dataclass(frozen=True)
class Listing:
    """The models found, and how much of the selection was read to find them."""

    models: list[ModelSummary]
    pages: int  # pages fetched (0 for a collection: one request, no pages)
    read: int  # models read from them (only the owner's, with an owner)
    capped: bool  # max_pages stopped the reading: the selection has more pages


async def find_models(
    api: ReplicateApi,
    *,
    limit: int,
    owner: str | None = None,
    search: str | None = None,
    collection: str | None = None,
    sort: SortKey | None = None,
    max_pages: int = MAX_PAGES,
    progress: PageProgress | None = None,
) -> Listing:
    """The selection's models: the first ``limit`` of them unsorted; sorted, the first
    ``limit`` after sorting everything the first ``max_pages`` pages hold."""
    if collection is not None:
        models = [
            m for m in map(summarize, await api.collection(collection)) if _owned_by(m, owner)
        ]
        listing = Listing(models, 0, len(models), capped=False)
    else:
        fetch: Callable[[str | None], Awaitable[tuple[list[dict[str, Any]], str | None]]]
        query = search if search is not None else owner
        if query is not None:
            fetch = lambda cursor: api.search_page(query, cursor)  # noqa: E731
        else:
            fetch = api.models_page
        wanted = None if sort else limit  # sorting needs the whole selection
        listing = await _collect(fetch, owner, wanted, max_pages, progress)
    models = list(listing.models)
    if sort == "runs":
        models.sort(key=lambda m: -(m.run_count or 0))
    elif sort == "name":
        models.sort(key=lambda m: m.slug.lower())
    return Listing(models[:limit], listing.pages, listing.read, listing.capped)


async def _collect(
    fetch: Callable[[str | None], Awaitable[tuple[list[dict[str, Any]], str | None]]],
    owner: str | None,
    wanted: int | None,
    max_pages: int,
    progress: PageProgress | None,
) -> Listing:
    found: list[ModelSummary] = []
    cursor: str | None = None
    pages = 0
    while pages < max_pages:
        page, cursor = await fetch(cursor)
        pages += 1
        found += [m for m in map(summarize, page) if _owned_by(m, owner)]
        if progress is not None:
            progress(pages, len(found))
        if not cursor or (wanted is not None and len(found) >= wanted):
            break
    enough = wanted is not None and len(found) >= wanted
    return Listing(found, pages, len(found), capped=bool(cursor) and not enough)


def _owned_by(model: ModelSummary, owner: str | None) -> bool:
    return owner is None or model.slug.split("/")[0].lower() == owner.lower()
