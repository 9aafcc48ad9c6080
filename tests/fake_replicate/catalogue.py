"""A public model catalogue for the fake, from a real snapshot of Replicate's (2025-09-30).

tests/fixtures/replicate-models-sample.json holds 605 real models (owner, name, description,
run count...). Each gets one version: with its real published schema where
tests/fixtures/model_schemas keeps it (model_schemas.py), else a Llama-like one (a token
iterator) or SDXL's (image URIs, enum/min/max inputs), chosen from what its name and
description say it makes.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from tests.fake_replicate.exchange import NOT_FOUND, Answer, RecordedRequest
from tests.fake_replicate.model_schemas import real_model
from tests.fake_replicate.models import FakeModel, echo, image_model, llm_schema, sdxl_schema

SAMPLE = Path(__file__).parent.parent / "fixtures" / "replicate-models-sample.json"
PAGE_SIZE = 25
_IMAGE_WORDS = re.compile(
    r"image|diffusion|sdxl|flux|photo|paint|draw|picture|upscal|portrait|anime|logo|"
    r"inpaint|sticker|illustrat|render|art\b",
    re.IGNORECASE,
)


def snapshot() -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = json.loads(SAMPLE.read_text(encoding="utf-8"))
    return entries


def makes_images(entry: dict[str, Any]) -> bool:
    return bool(_IMAGE_WORDS.search(f"{entry['name']} {entry.get('description') or ''}"))


def page(items: list[Any], cursor: str | None) -> tuple[list[Any], int | None]:
    """One page from ``cursor`` (an offset) and the next page's offset, if any."""
    start = int(cursor) if cursor and cursor.isdigit() else 0
    end = start + PAGE_SIZE
    return items[start:end], (end if end < len(items) else None)


def matches(entry: dict[str, Any], query: str) -> bool:
    text = f"{entry['owner']}/{entry['name']} {entry.get('description') or ''}".lower()
    return all(word in text for word in query.lower().split())


class CatalogueEndpoints:
    """The fake's read-only catalogue: models, versions, search, collections, deployments."""

    models: dict[str, FakeModel]
    deployments: dict[str, FakeModel]
    collections: dict[str, tuple[str, str, list[str]]]
    url: str

    def add_model(self, slug: str, *args: Any, **kwargs: Any) -> FakeModel:
        raise NotImplementedError

    def load_catalogue(self) -> list[FakeModel]:
        """The real snapshot's 605 models, public, with versions and collections."""
        added, painters = [], set()
        for entry in snapshot():
            slug = f"{entry['owner']}/{entry['name']}"
            images = makes_images(entry)
            real = real_model(slug)
            generic = sdxl_schema() if images else llm_schema()
            if images:
                painters.add(slug)
            added.append(
                self.add_model(
                    slug,
                    image_model() if images else echo,
                    official=real.official if real else False,
                    versions=real.versions if real else None,
                    openapi_schema=real.openapi_schema() if real else generic,
                    description=entry.get("description") or "",
                    run_count=entry.get("run_count") or 0,
                    cover_image_url=entry.get("cover_image_url"),
                    github_url=entry.get("github_url"),
                )
            )
        by_runs = sorted(added, key=lambda m: -m.run_count)
        self.collections["text-to-image"] = (
            "Text to image",
            "Models that generate images from text prompts",
            [m.slug for m in by_runs if m.slug in painters][:20],
        )
        self.collections["language-models"] = (
            "Language models",
            "Models that understand and generate text",
            [m.slug for m in by_runs if m.slug not in painters][:20],
        )
        return added

    def _list_models(self, request: RecordedRequest) -> Answer:
        cursor = parse_qs(request.query).get("cursor", [None])[0]
        return self._model_page(list(self.models.values()), cursor, f"{self.url}/v1/models")

    def _search_models(self, request: RecordedRequest) -> Answer:
        query = request.body if isinstance(request.body, str) else json.dumps(request.body)
        found = [
            m
            for m in self.models.values()
            if matches({"owner": m.owner, "name": m.name, "description": m.description}, query)
        ]
        found.sort(key=lambda m: -m.run_count)
        cursor = parse_qs(request.query).get("cursor", [None])[0]
        return self._model_page(found, cursor, f"{self.url}/v1/models")

    def _model_page(self, models: list[FakeModel], cursor: str | None, base: str) -> Answer:
        items, following = page(models, cursor)
        return Answer(
            200,
            {
                "next": f"{base}?cursor={following}" if following is not None else None,
                "previous": None,
                "results": [m.to_json() for m in items],
            },
        )

    def _get_collection(self, request: RecordedRequest, slug: str) -> Answer:
        if slug not in self.collections:
            return Answer(404, NOT_FOUND)
        name, description, members = self.collections[slug]
        return Answer(
            200,
            {
                "name": name,
                "slug": slug,
                "description": description,
                "models": [self.models[m].to_json() for m in members],
            },
        )

    def _get_deployment(self, request: RecordedRequest, owner: str, name: str) -> Answer:
        model = self.deployments.get(f"{owner}/{name}")
        if model is None:
            return Answer(404, NOT_FOUND)
        return Answer(
            200,
            {
                "owner": owner,
                "name": name,
                "current_release": {
                    "number": 1,
                    "model": model.slug,
                    "version": model.latest_version,
                    "created_at": "2024-02-15T16:32:57.018467Z",
                    "created_by": {
                        "type": "organization",
                        "username": owner,
                        "name": owner,
                        "avatar_url": "https://cdn.replicate.com/avatars/acme.png",
                        "github_url": f"https://github.com/{owner}",
                    },
                    "configuration": {"hardware": "gpu-t4", "min_instances": 0, "max_instances": 1},
                },
            },
        )

    def _get_model(self, request: RecordedRequest, owner: str, name: str) -> Answer:
        model = self.models.get(f"{owner}/{name}")
        return Answer(200, model.to_json()) if model else Answer(404, NOT_FOUND)

    def _get_version(self, request: RecordedRequest, owner: str, name: str, version: str) -> Answer:
        model = self.models.get(f"{owner}/{name}")
        if model is None or version not in model.versions:
            return Answer(404, NOT_FOUND)
        return Answer(200, model.version_json(version))
