"""JSON test files read with the limits of a YAML config: no NaN or Infinity (Python's ``json``
accepts them, and results would not be valid JSON), no integer too long to write back as text,
no nesting beyond ``MAX_DEPTH`` (the ``json`` module itself stops near 1000 with a
RecursionError)."""

from __future__ import annotations

import json
import math
import re
from typing import Any, NoReturn

from replicate_eval.config.limits import MAX_DEPTH, MAX_INT_DIGITS
from replicate_eval.errors import ConfigError


class BadJson(ConfigError):
    """``str()`` says what is wrong; ``line`` is where, counted in the text given, if known."""

    def __init__(self, message: str, line: int | None) -> None:
        super().__init__(message)
        self.line = line


class _Refused(Exception):
    def __init__(self, token: str, message: str) -> None:
        super().__init__(message)
        self.token = token
        self.message = message


def _constant(token: str) -> NoReturn:
    raise _Refused(token, f"`{token}` is not a finite number; results are JSON")


def _float(token: str) -> float:
    value = float(token)
    if not math.isfinite(value):
        raise _Refused(token, f"`{token}` is too large for a number")
    return value


def _int(token: str) -> int:
    if len(token.lstrip("-")) > MAX_INT_DIGITS:
        raise _Refused(token, f"a whole number of more than {MAX_INT_DIGITS} digits")
    return int(token)


def parse_json(text: str) -> Any:
    """The value in ``text``. Raises BadJson."""
    try:
        value = json.loads(text, parse_constant=_constant, parse_float=_float, parse_int=_int)
    except _Refused as exc:
        raise BadJson(exc.message, _line_of_token(text, exc.token)) from None
    except json.JSONDecodeError as exc:
        raise BadJson(f"not valid JSON: {exc.msg}", exc.lineno) from None
    except RecursionError:
        raise BadJson(_too_deep(), None) from None
    return value


def check_depth(value: Any, depth: int = 0) -> str | None:
    """What is wrong when ``value`` (inside ``depth`` collections) nests beyond MAX_DEPTH."""
    stack = [(value, depth)]
    while stack:
        item, above = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if above + 1 > MAX_DEPTH:
            return _too_deep()
        stack.extend((child, above + 1) for child in children if isinstance(child, dict | list))
    return None


def _too_deep() -> str:
    return f"values are nested more than {MAX_DEPTH} levels deep, reval's limit"


def _line_of_token(text: str, token: str) -> int | None:
    """The line of the first ``token`` outside a string (only on the way to an error)."""
    pattern = re.compile(r'"(?:[^"\\]|\\.)*"|(?<![\w.+-])(' + re.escape(token) + r")(?![\w.])")
    for match in pattern.finditer(text):
        if match.group(1):
            return text.count("\n", 0, match.start(1)) + 1
    return None
