"""Input validation as Replicate (Cog) does it: required inputs, types, ranges and enums."""

from __future__ import annotations

from typing import Any

from tests.fake_replicate.models import FakeModel


def invalid_fields(model: FakeModel, model_input: dict[str, Any]) -> list[dict[str, str]]:
    """Check declared inputs as Cog does: required, types, ranges, enums. Unknown keys pass."""
    schema = model.openapi_schema["components"]["schemas"]["Input"]
    invalid = [
        {"type": "required", "field": "input", "description": f"{name} is required"}
        for name in schema.get("required", [])
        if name not in model_input
    ]
    kinds = {"string": str, "integer": int, "number": (int, float), "boolean": bool}
    for name, value in model_input.items():
        spec = _resolve(model.openapi_schema, schema["properties"].get(name))
        if spec is None:
            continue
        if "enum" in spec and value not in spec["enum"]:
            allowed = ", ".join(f'"{item}"' for item in spec["enum"])
            invalid.append(
                {
                    "type": "enum",
                    "field": f"input.{name}",
                    "description": f"{name} must be one of the following: {allowed}",
                }
            )
            continue
        expected = kinds.get(spec.get("type", ""))
        # Cog (pydantic) takes 2.0 for an integer input.
        whole = spec.get("type") == "integer" and isinstance(value, float) and value.is_integer()
        wrong_type = (
            expected is not None
            and not whole
            and (
                not isinstance(value, expected)
                or (isinstance(value, bool) and spec.get("type") != "boolean")
            )
        )
        if wrong_type:
            invalid.append(
                {
                    "type": "invalid_type",
                    "field": f"input.{name}",
                    "description": f"Invalid type. Expected: {spec['type']}",
                }
            )
        elif "minimum" in spec and value < spec["minimum"]:
            invalid.append(
                {
                    "type": "number_gte",
                    "field": f"input.{name}",
                    "description": f"Must be greater than or equal to {spec['minimum']}",
                }
            )
        elif "maximum" in spec and value > spec["maximum"]:
            invalid.append(
                {
                    "type": "number_lte",
                    "field": f"input.{name}",
                    "description": f"Must be less than or equal to {spec['maximum']}",
                }
            )
    return invalid


def _resolve(document: dict[str, Any], spec: dict[str, Any] | None) -> dict[str, Any] | None:
    """Cog writes enum inputs as ``allOf: [{$ref: ...}]``: merge the referenced schema in."""
    if spec is None or "allOf" not in spec:
        return spec
    merged = {key: value for key, value in spec.items() if key != "allOf"}
    for part in spec["allOf"]:
        target: Any = document
        for step in part.get("$ref", "#").removeprefix("#/").split("/"):
            target = target.get(step, {}) if step else target
        merged = {**target, **merged}
    return merged
