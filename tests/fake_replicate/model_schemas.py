"""The real published interfaces of the models reval's README, configs and default judges use.

Each tests/fixtures/model_schemas/OWNER__NAME.json holds one model's ``openapi_schema`` as Cog
publishes it (``components.schemas.Input`` with ``properties``, ``required`` and ``x-order``,
enums as components referenced through ``allOf``/``$ref``, ``components.schemas.Output``), its
public version id when there is one, whether it is an official model (run by name), and the
public sources it was taken from. The fake serves these, so the preflight is tested against
the inputs the real models have.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the fake's modules import this one
    from tests.fake_replicate.models import Behaviour
    from tests.fake_replicate.server import FakeReplicate

FIXTURES = Path(__file__).parent.parent / "fixtures" / "model_schemas"


@dataclass(frozen=True)
class RealModel:
    slug: str
    version: str | None  # a public version id; None where only the latest is known
    official: bool
    sources: tuple[str, ...]
    schema: dict[str, Any]

    @property
    def versions(self) -> list[str] | None:
        """For ``FakeReplicate.add_model``: the public version, else the fake's own id."""
        return [self.version] if self.version else None

    def openapi_schema(self) -> dict[str, Any]:
        """A copy: a test may change its model's schema without touching another's."""
        return copy.deepcopy(self.schema)


@cache
def _catalogue() -> dict[str, RealModel]:
    models = {}
    for path in sorted(FIXTURES.glob("*.json")):
        entry = json.loads(path.read_text(encoding="utf-8"))
        models[entry["model"]] = RealModel(
            slug=entry["model"],
            version=entry["version"],
            official=entry["official"],
            sources=tuple(entry["sources"]),
            schema=entry["openapi_schema"],
        )
    return models


def real_model(slug: str) -> RealModel | None:
    return _catalogue().get(slug)


def kept_model(slug: str) -> RealModel:
    """The model ``slug``, which must be kept here."""
    model = real_model(slug)
    if model is None:
        known = ", ".join(sorted(_catalogue()))
        raise KeyError(f"no real schema is kept for {slug} (kept: {known})")
    return model


def real_schema(slug: str) -> dict[str, Any]:
    """The model's published ``openapi_schema`` (a copy)."""
    return kept_model(slug).openapi_schema()


def public_version(slug: str) -> str:
    """The model's public version id (for a model kept here with one)."""
    version = kept_model(slug).version
    if version is None:
        raise KeyError(f"no public version is kept for {slug}")
    return version


def serve_real_model(fake: FakeReplicate, slug: str, behaviour: Behaviour) -> None:
    """``slug`` on ``fake`` as Replicate serves it: its real schema, public version and official
    flag, and its catalogue entry's description and run count if the catalogue is loaded."""
    real = kept_model(slug)
    known = fake.models.get(slug)
    catalogue = {"description": known.description, "run_count": known.run_count} if known else {}
    fake.add_model(slug, behaviour, official=real.official, versions=real.versions, **catalogue)
