"""A model version's interface, read from the ``openapi_schema`` Cog publishes with it.

``components.schemas.Input`` lists the inputs (type, default, minimum/maximum, enum through
``allOf: [{$ref}]``, ``x-order``); ``components.schemas.Output`` says what comes back: text, a
token iterator, or files (``format: uri``), which is how reval tells a text model from an image
model.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

OutputKind = Literal["text", "image"]


@dataclass(frozen=True)
class InputField:
    name: str
    type: str  # string, integer, number, boolean, array, object, or "" when not stated
    required: bool
    order: int
    default: Any = None
    has_default: bool = False
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[Any, ...] = ()
    description: str = ""

    def problem_with(self, value: Any) -> str | None:
        """Why ``value`` would be refused for this input, or None when it would be accepted."""
        expected = _PYTHON_TYPES.get(self.type)
        if expected is not None and (
            not isinstance(value, expected) or (isinstance(value, bool) and self.type != "boolean")
        ):
            return f"expects {_TYPE_WORDS.get(self.type, self.type)}, got {_shown(value)}"
        if self.choices and value not in self.choices:
            allowed = ", ".join(repr(choice) for choice in self.choices)
            return f"must be one of {allowed}; got {_shown(value)}"
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if self.minimum is not None and value < self.minimum:
                return f"must be at least {self.minimum:g}{self._range()}; got {_shown(value)}"
            if self.maximum is not None and value > self.maximum:
                return f"must be at most {self.maximum:g}{self._range()}; got {_shown(value)}"
        return None

    def _range(self) -> str:
        if self.minimum is not None and self.maximum is not None:
            return f" (allowed: {self.minimum:g} to {self.maximum:g})"
        return ""


@dataclass(frozen=True)
class ModelInterface:
    inputs: tuple[InputField, ...]
    output: OutputKind
    output_description: str  # "text", "token iterator", "image/file URI", "list of file URIs"

    def field(self, name: str) -> InputField | None:
        return next((field for field in self.inputs if field.name == name), None)


def _shown(value: Any) -> str:
    """A value as the user wrote it: YAML's `7` may have become 7.0 on the way."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return repr(value)


_PYTHON_TYPES: dict[str, type | tuple[type, ...]] = {
    "string": str,
    "integer": int,
    "number": (int, float),
    "boolean": bool,
    "array": list,
    "object": dict,
}
_TYPE_WORDS = {
    "string": "text",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "array": "a list",
    "object": "a mapping",
}


def read_interface(openapi_schema: Mapping[str, Any] | None) -> ModelInterface | None:
    """The interface in a version's schema, or None when the schema has no Input."""
    schemas = ((openapi_schema or {}).get("components") or {}).get("schemas") or {}
    source = schemas.get("Input")
    if not isinstance(source, Mapping):
        return None
    required = set(source.get("required") or [])
    fields = []
    for index, (name, raw) in enumerate((source.get("properties") or {}).items()):
        spec = _resolve(openapi_schema or {}, raw if isinstance(raw, Mapping) else {})
        fields.append(
            InputField(
                name=name,
                type=str(spec.get("type") or ""),
                required=name in required,
                order=int(spec.get("x-order", 1000 + index)),
                default=spec.get("default"),
                has_default="default" in spec,
                minimum=spec.get("minimum"),
                maximum=spec.get("maximum"),
                choices=tuple(spec.get("enum") or ()),
                description=str(spec.get("description") or spec.get("title") or ""),
            )
        )
    output, words = _output_kind(_resolve(openapi_schema or {}, schemas.get("Output") or {}))
    return ModelInterface(tuple(sorted(fields, key=lambda f: f.order)), output, words)


def _output_kind(spec: Mapping[str, Any]) -> tuple[OutputKind, str]:
    if spec.get("format") == "uri":
        return "image", "image/file URI"
    if spec.get("type") == "array":
        items = spec.get("items") or {}
        if items.get("format") == "uri":
            return "image", "list of image/file URIs"
        if spec.get("x-cog-array-type") == "iterator":
            return "text", "token iterator (joined into text)"
        return "text", "list of strings (joined into text)"
    return "text", "text"


def _resolve(document: Mapping[str, Any], spec: Mapping[str, Any]) -> dict[str, Any]:
    """Cog writes enum inputs as ``allOf: [{$ref: ...}]``: merge the referenced schemas in."""
    merged = {key: value for key, value in spec.items() if key not in ("allOf", "$ref")}
    references = [part.get("$ref") for part in spec.get("allOf") or [] if isinstance(part, dict)]
    if "$ref" in spec:
        references.append(spec["$ref"])
    for reference in references:
        target: Any = document
        for step in str(reference or "").removeprefix("#/").split("/"):
            target = target.get(step, {}) if isinstance(target, Mapping) else {}
        if isinstance(target, Mapping):
            merged = {**target, **merged}
    return merged
