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
        whole_float = self.type == "integer" and isinstance(value, float) and value.is_integer()
        if (
            expected is not None
            and not whole_float
            and (
                not isinstance(value, expected)
                or (isinstance(value, bool) and self.type != "boolean")
            )
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
    output: OutputKind | None  # None: neither text nor files (JSON, numbers...), or not stated
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


def read_interface(openapi_schema: Any) -> ModelInterface | None:
    """The interface in a version's schema, or None when the schema has no Input.

    Schemas come from model authors: anything unexpected in one input is read as "not
    stated" rather than failing the whole schema.
    """
    document = openapi_schema if isinstance(openapi_schema, Mapping) else {}
    schemas = _mapping(_mapping(document.get("components")).get("schemas"))
    source = schemas.get("Input")
    if not isinstance(source, Mapping):
        return None
    required = set(_strings(source.get("required")))
    fields = []
    for index, (name, raw) in enumerate(_mapping(source.get("properties")).items()):
        spec = _resolve(document, _mapping(raw))
        order = spec.get("x-order")
        fields.append(
            InputField(
                name=str(name),
                type=_type_of(spec),
                required=name in required,
                order=order if isinstance(order, int) else 1000 + index,
                default=spec.get("default"),
                has_default="default" in spec,
                minimum=_number(spec.get("minimum")),
                maximum=_number(spec.get("maximum")),
                choices=tuple(spec["enum"]) if isinstance(spec.get("enum"), list) else (),
                description=str(spec.get("description") or spec.get("title") or ""),
            )
        )
    output = _output_kind(_resolve(document, _mapping(schemas.get("Output"))))
    return ModelInterface(tuple(sorted(fields, key=lambda f: f.order)), *output)


def _output_kind(spec: Mapping[str, Any]) -> tuple[OutputKind | None, str]:
    """Files (format uri) make an image model; strings a text model; anything else: unknown."""
    if spec.get("format") == "uri":
        return "image", "image/file URI"
    kind = _type_of(spec)
    if kind == "array":
        items = _resolve({}, _mapping(spec.get("items")))
        if items.get("format") == "uri":
            return "image", "list of image/file URIs"
        if _type_of(items) not in ("string", ""):
            return None, f"list of {_type_of(items)}"
        if spec.get("x-cog-array-type") == "iterator":
            return "text", "token iterator (joined into text)"
        return "text", "list of strings (joined into text)"
    if kind == "string":
        return "text", "text"
    return None, kind or "not stated"


def _type_of(spec: Mapping[str, Any]) -> str:
    """The JSON type, for `type: [integer, "null"]` and `anyOf: [{...}, {type: null}]` too."""
    stated = spec.get("type")
    if isinstance(stated, list):
        stated = next((t for t in stated if t != "null"), "")
    if not stated and isinstance(spec.get("anyOf"), list):
        options = [o for o in spec["anyOf"] if isinstance(o, Mapping) and o.get("type") != "null"]
        if len(options) == 1:
            return _type_of(options[0])
    return str(stated or "")


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _strings(value: Any) -> list[str]:
    return [str(item) for item in value] if isinstance(value, list) else []


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _resolve(document: Mapping[str, Any], spec: Mapping[str, Any]) -> dict[str, Any]:
    """Cog writes enum inputs as ``allOf: [{$ref: ...}]``: merge the referenced schemas in."""
    merged = {key: value for key, value in spec.items() if key not in ("allOf", "$ref")}
    all_of = spec.get("allOf")
    parts: list[Any] = all_of if isinstance(all_of, list) else []
    references = [part.get("$ref") for part in parts if isinstance(part, Mapping)]
    if "$ref" in spec:
        references.append(spec["$ref"])
    for reference in references:
        target: Any = document
        for step in str(reference or "").removeprefix("#/").split("/"):
            target = target.get(step, {}) if isinstance(target, Mapping) else {}
        if isinstance(target, Mapping):
            merged = {**target, **merged}
    return merged
