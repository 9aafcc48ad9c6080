"""Input validation as Replicate does it: required inputs, types, ranges, lengths and enums.

Replicate checks a prediction's input against the version's ``components.schemas.Input`` with a
JSON Schema validator and answers 422 ``Input validation failed`` with one ``invalid_fields``
entry per problem (``type``, ``field``, ``description``; the kinds and wording are
gojsonschema's). Inputs the schema does not declare pass: the model never sees them.
"""

from __future__ import annotations

from typing import Any

from tests.fake_replicate.models import FakeModel

_KINDS: dict[str, type | tuple[type, ...]] = {
    "string": str,
    "integer": int,
    "number": (int, float),
    "boolean": bool,
    "array": list,
    "object": dict,
}


def invalid_fields(model: FakeModel, model_input: dict[str, Any]) -> list[dict[str, str]]:
    """Every problem with ``model_input``, the missing required inputs first."""
    schema = model.openapi_schema["components"]["schemas"]["Input"]
    invalid = [
        {"type": "required", "field": "input", "description": f"{name} is required"}
        for name in schema.get("required", [])
        if name not in model_input
    ]
    for name, value in model_input.items():
        spec = _resolve(model.openapi_schema, schema.get("properties", {}).get(name))
        problem = None if spec is None else _problem(name, spec, value)
        if problem is not None:
            kind, description = problem
            invalid.append({"type": kind, "field": f"input.{name}", "description": description})
    return invalid


def _problem(name: str, spec: dict[str, Any], value: Any) -> tuple[str, str] | None:
    if "enum" in spec and value not in spec["enum"]:
        allowed = ", ".join(f'"{item}"' for item in spec["enum"])
        return "enum", f"{name} must be one of the following: {allowed}"
    kind = spec.get("type", "")
    expected = _KINDS.get(kind)
    # JSON has one number type: 2.0 is a valid integer (gojsonschema checks the value).
    whole = kind == "integer" and isinstance(value, float) and value.is_integer()
    boolean_as_number = isinstance(value, bool) and kind != "boolean"
    wrong = not isinstance(value, expected or object) or boolean_as_number
    if expected is not None and not whole and wrong:
        return "invalid_type", f"Invalid type. Expected: {kind}, given: {_json_type(value)}"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in spec and value < spec["minimum"]:
            return "number_gte", f"Must be greater than or equal to {_number(spec['minimum'])}"
        if "maximum" in spec and value > spec["maximum"]:
            return "number_lte", f"Must be less than or equal to {_number(spec['maximum'])}"
    if isinstance(value, str):
        shortest, longest = spec.get("minLength"), spec.get("maxLength")
        if shortest is not None and len(value) < shortest:
            return "string_gte", f"String length must be greater than or equal to {shortest}"
        if longest is not None and len(value) > longest:
            return "string_lte", f"String length must be less than or equal to {longest}"
    return None


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        return "integer"
    names = {float: "number", str: "string", list: "array", dict: "object"}
    return names.get(type(value), type(value).__name__)


def _number(limit: float) -> str:
    return str(int(limit)) if float(limit).is_integer() else str(limit)


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
