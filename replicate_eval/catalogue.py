"""Replicate's public models, as ``reval models`` lists and shows them.

Listing follows the API's cursor pagination lazily: pages are fetched only until ``limit``
models are found. The API has no owner filter: ``--owner`` searches for the owner's name and
keeps that owner's models, reading at most ``MAX_PAGES`` pages.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from replicate_eval.model_schema import ModelInterface, OutputKind, read_interface
from replicate_eval.providers.replicate.api import ReplicateApi

SortKey = Literal["runs", "name"]
# How many pages an owner filter may read looking for matches.
MAX_PAGES = 40


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


async def find_models(
    api: ReplicateApi,
    *,
    limit: int,
    owner: str | None = None,
    search: str | None = None,
    collection: str | None = None,
    sort: SortKey | None = None,
) -> list[ModelSummary]:
    if collection is not None:
        models = [summarize(raw) for raw in await api.collection(collection)]
        models = [m for m in models if _owned_by(m, owner)][:limit]
    else:
        fetch: Callable[[str | None], Awaitable[tuple[list[dict[str, Any]], str | None]]]
        query = search if search is not None else owner
        if query is not None:
            fetch = lambda cursor: api.search_page(query, cursor)  # noqa: E731
        else:
            fetch = api.models_page
        models = await _collect(fetch, limit, owner)
    if sort == "runs":
        models.sort(key=lambda m: -(m.run_count or 0))
    elif sort == "name":
        models.sort(key=lambda m: m.slug.lower())
    return models


async def _collect(
    fetch: Callable[[str | None], Awaitable[tuple[list[dict[str, Any]], str | None]]],
    limit: int,
    owner: str | None,
) -> list[ModelSummary]:
    found: list[ModelSummary] = []
    cursor: str | None = None
    for _ in range(MAX_PAGES):
        page, cursor = await fetch(cursor)
        found += [m for m in map(summarize, page) if _owned_by(m, owner)]
        if len(found) >= limit or not cursor:
            break
    return found[:limit]


def _owned_by(model: ModelSummary, owner: str | None) -> bool:
    return owner is None or model.slug.split("/")[0].lower() == owner.lower()
