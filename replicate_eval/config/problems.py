"""Turning config mistakes into messages that name the file, line, key path and the fix."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NoReturn

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from replicate_eval.clip import clip
from replicate_eval.config.schema import unknown_key_message
from replicate_eval.config.yaml_source import Loc, YamlDocument
from replicate_eval.errors import ConfigError

# Keys whose values must never be echoed back in a message: `apiKey`, and keys that look
# like a token (compared lower-case, without `_` and `-`).
SECRET_KEYS = frozenset({"apikey", "apitoken", "token", "replicateapitoken", "replicateapikey"})


def is_secret_key(key: object) -> bool:
    return str(key).lower().replace("_", "").replace("-", "") in SECRET_KEYS


@dataclass(frozen=True)
class Problem:
    """A mistake at ``loc`` in the config; or, with ``at`` (``cases.csv:3``), at ``loc``
    inside a file the config names."""

    loc: Loc
    message: str
    at: str | None = None


def format_loc(loc: Loc) -> str:
    """``("providers", 1, "config", "temperature")`` -> ``providers[1].config.temperature``."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def raise_problems(doc: YamlDocument, problems: list[Problem]) -> NoReturn:
    # In the order they are written in the file (those of other files, or of no line, last).
    ordered = sorted(problems, key=lambda p: (p.at is not None, doc.line_of(p.loc) or 1 << 30))
    lines = list(dict.fromkeys(_describe(doc, problem) for problem in ordered))
    if len(lines) == 1:
        raise ConfigError(lines[0])
    listing = "\n".join(f"  - {line}" for line in lines)
    raise ConfigError(f"{doc.path} has {len(lines)} problems:\n{listing}")


def _describe(doc: YamlDocument, problem: Problem) -> str:
    key = format_loc(problem.loc)
    if problem.at is not None:
        return (
            f"{problem.at}: {key}: {problem.message}" if key else f"{problem.at}: {problem.message}"
        )
    # At no key (an environment variable, say), no line: the file's first would mislead.
    line = doc.line_of(problem.loc) if problem.loc else None
    where = f"{doc.path}:{line}" if line else str(doc.path)
    return f"{where}: {key}: {problem.message}" if key else f"{where}: {problem.message}"


def problems_from_validation(exc: ValidationError, prefix: Loc = ()) -> list[Problem]:
    problems = []
    for error in exc.errors():
        loc = (*prefix, *error["loc"])
        if error["type"] == "unknown_key":
            ctx = error.get("ctx") or {}
            loc = (*loc, ctx["key"])
        if error["type"] == "extra_forbidden":
            message = unknown_key_message(exc.title, tuple(error["loc"]))
            problems.append(Problem(loc, message))
            continue
        problems.append(Problem(loc, _message(error, secret=any(map(is_secret_key, loc)))))
    return problems


_FRIENDLY = {
    "float_type": "expected a number",
    "float_parsing": "expected a number",
    "finite_number": "expected a finite number",
    "int_type": "expected a whole number",
    "int_parsing": "expected a whole number",
    "int_from_float": "expected a whole number",
    "string_type": "expected text",
    "bool_type": "expected true or false",
    "bool_parsing": "expected true or false",
    "list_type": "expected a list",
    "dict_type": "expected a mapping (key: value pairs)",
    "model_type": "expected a mapping (key: value pairs)",
    "model_attributes_type": "expected a mapping (key: value pairs)",
    "missing": "is required",
}


def _message(error: ErrorDetails, *, secret: bool) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind in _FRIENDLY:
        text = _FRIENDLY[kind]
    elif kind == "greater_than_equal":
        text = f"must be at least {ctx.get('ge')}"
    elif kind == "less_than_equal":
        text = f"must be at most {ctx.get('le')}"
    elif kind == "greater_than":
        text = f"must be more than {ctx.get('gt')}"
    elif kind == "literal_error":
        text = f"must be one of {ctx.get('expected')}"
    elif kind == "value_error":
        text = str(ctx.get("error", error["msg"]))
    else:
        text = error["msg"]
    if kind not in {"missing", "unknown_key", "value_error"} and not secret:
        text += f", got {_describe_input(error.get('input'))}"
    return text


def _describe_input(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    # A repr (of a YAML scalar) has no outer whitespace: clip() keeps it as it is.
    return clip(repr(value), _INPUT_LIMIT, marker="...")


_INPUT_LIMIT = 60  # characters of a wrong value shown in a config problem
