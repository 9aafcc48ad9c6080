"""Checking the fake's traffic against Replicate's published OpenAPI document.

Every JSON body the fake sends with a documented status is validated against the response
schema of its operation, and every request body against the request schema. Violations are
collected (not raised inside the server thread) and the ``fake_replicate`` fixture fails the test
that caused them. The document is a copy of ``replicate-openapi.yaml`` kept in tests/fixtures.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from openapi_schema_validator import OAS30Validator, oas30_format_checker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

SPEC_PATH = Path(__file__).parent.parent / "fixtures" / "replicate-openapi.yaml"
_ROOT = "urn:replicate-openapi"


@cache
def _spec() -> dict[str, Any]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    spec: dict[str, Any] = yaml.load(SPEC_PATH.read_text(encoding="utf-8"), Loader=loader)
    # The published document types `version` as oneOf[string, enum["hidden"]]: the documented
    # value "hidden" matches both branches and so fails oneOf. anyOf is what it means.
    version = spec["components"]["schemas"]["schemas_prediction_response"]["properties"]["version"]
    version["anyOf"] = version.pop("oneOf")
    return spec


@cache
def _registry() -> Registry:
    return Registry().with_resource(
        _ROOT, Resource.from_contents(_spec(), default_specification=DRAFT4)
    )


@cache
def _validator(pointer: str) -> OAS30Validator:
    return OAS30Validator(
        {"$ref": f"{_ROOT}#{pointer}"}, registry=_registry(), format_checker=oas30_format_checker
    )


def load() -> None:
    """Parse the document now, so the first request is not slowed (or raced) by it."""
    _registry()


def _escape(path: str) -> str:
    return path.replace("~", "~0").replace("/", "~1")


@cache
def _operation_pointer(method: str, template: str) -> str | None:
    operation = _spec()["paths"].get(template, {}).get(method.lower())
    return f"/paths/{_escape(template)}/{method.lower()}" if operation else None


def response_problems(method: str, template: str, status: int, body: Any) -> list[str]:
    pointer = _operation_pointer(method, template)
    if pointer is None:
        return [f"{method} {template} is not in Replicate's OpenAPI document"]
    responses = _spec()["paths"][template][method.lower()]["responses"]
    if str(status) not in responses:
        if status >= 400:
            return []  # problem-details errors are not described per operation
        return [f"{method} {template} answered {status}, which the document does not list"]
    if "content" not in responses[str(status)]:
        return []
    schema = f"{pointer}/responses/{status}/content/application~1json/schema"
    return _problems(schema, body, f"{method} {template} {status} response")


def request_problems(method: str, template: str, body: Any) -> list[str]:
    pointer = _operation_pointer(method, template)
    if pointer is None:
        return []
    operation = _spec()["paths"][template][method.lower()]
    if "requestBody" not in operation:
        return []
    schema = f"{pointer}/requestBody/content/application~1json/schema"
    return _problems(schema, body, f"{method} {template} request")


def _problems(pointer: str, body: Any, what: str) -> list[str]:
    return [
        f"{what}: {'/'.join(map(str, error.absolute_path)) or '<body>'}: {error.message}"
        for error in _validator(pointer).iter_errors(body)
    ]


_PREFER = re.compile(r"^wait(=([1-9]|[1-9][0-9]|60))?$")


def prefer_problem(value: str | None) -> str | None:
    """The `Prefer` header must match the document's pattern when present."""
    if value is None or _PREFER.match(value):
        return None
    return f"Prefer header {value!r} does not match {_PREFER.pattern}"
