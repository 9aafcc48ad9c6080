"""promptfoo's checks of an output's shape: JSON (with a JSON Schema), XML, word counts and
edit distance. Semantics from promptfoo's src/assertions/ (json.ts, xml.ts, wordCount.ts,
levenshtein.ts); each returns what it observed."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import yaml

from replicate_eval.assertions.base import (
    AssertionProblem,
    AssertionSpec,
    CheckContext,
    InvalidAssertion,
    Outcome,
)
from replicate_eval.assertions.text import quote
from replicate_eval.templating import may_be_template

# --- JSON --------------------------------------------------------------------------------------
# Places in an output where a JSON value is tried (each `{` or `[`): a long output of braces
# costs a bounded number of attempts.
_JSON_STARTS = 2_000


def prepare_json_schema(value: Any, base_dir: Path) -> Any:
    """The validator of a schema that holds no template, made (and checked) once, when the
    config loads; None for no schema or one complete only once rendered."""
    if value is None or (isinstance(value, str) and may_be_template(value)):
        return None
    return _schema_validator(value, lambda message: InvalidAssertion("value", message))


def _validator(value: Any, spec: AssertionSpec) -> Any:
    """The schema's validator: made at load time, or now from the rendered value."""
    if spec.prepared is not None or value is None:
        return spec.prepared
    return _schema_validator(value, AssertionProblem)


def _schema_validator(value: Any, error: Any) -> Any:
    """A validator of ``value`` (a mapping, a boolean, or its YAML/JSON text), as promptfoo's
    ajv: JSON Schema draft 7 unless the schema names its own draft."""
    from jsonschema import exceptions, validators

    schema = value
    if isinstance(value, str):
        try:
            schema = yaml.safe_load(value)
        except yaml.YAMLError as exc:
            raise error(f"the JSON schema is not valid YAML or JSON: {exc}") from None
    if not isinstance(schema, (dict, bool)):
        raise error("the value must be a JSON schema: a mapping (or its text), or true/false")
    document: Any = schema  # a boolean is a schema too (draft 6 on); the stubs say mappings
    cls = validators.validator_for(document, default=validators.Draft7Validator)
    try:
        cls.check_schema(document)
    except exceptions.SchemaError as exc:
        raise error(f"invalid JSON schema: {exc.message}") from None
    return cls(document)


def _schema_problem(validator: Any, document: Any) -> str | None:
    error = next(iter(validator.iter_errors(document)), None)
    if error is None:
        return None
    where = "/".join(str(part) for part in error.absolute_path) or "the top level"
    return f"at {where}: {error.message}"


def _checked(document: Any, validator: Any, found: str) -> Outcome:
    if validator is None:
        return Outcome(True, found)
    problem = _schema_problem(validator, document)
    if problem:
        return Outcome(False, f"{found}, but it does not match the schema ({problem})")
    return Outcome(True, f"{found} matching the schema")


def is_json(output: str, value: Any, spec: AssertionSpec, ctx: CheckContext) -> Outcome:
    try:
        document = json.loads(output)
    except (ValueError, RecursionError) as exc:
        return Outcome(False, f"output is not valid JSON ({exc})")
    return _checked(document, _validator(value, spec), "output is valid JSON")


def contains_json(output: str, value: Any, spec: AssertionSpec, ctx: CheckContext) -> Outcome:
    documents = _json_values(output)
    if not documents:
        return Outcome(False, "output contains no JSON object or array")
    validator = _validator(value, spec)
    if validator is None:
        return Outcome(True, f"output contains JSON: {quote(json.dumps(documents[0]))}")
    problem = None
    for document in documents:
        problem = _schema_problem(validator, document)
        if problem is None:
            return Outcome(
                True, f"output contains JSON matching the schema: {quote(json.dumps(document))}"
            )
    return Outcome(False, f"no JSON in the output matches the schema (the last: {problem})")


def _json_values(text: str) -> list[Any]:
    """The JSON objects and arrays written in ``text``, outermost first, left to right."""
    decoder = json.JSONDecoder()
    found: list[Any] = []
    position, attempts = 0, 0
    while attempts < _JSON_STARTS:
        starts = [i for i in (text.find("{", position), text.find("[", position)) if i >= 0]
        if not starts:
            break
        start = min(starts)
        attempts += 1
        try:
            document, end = decoder.raw_decode(text, start)
        except (ValueError, RecursionError):
            position = start + 1
            continue
        found.append(document)
        position = end
    return found


# --- XML ---------------------------------------------------------------------------------------
def prepare_xml(value: Any, base_dir: Path) -> None:
    _required_elements(value)


def _required_elements(value: Any) -> list[str]:
    """promptfoo's `requiredElements`: dotted paths from the root (`analysis.summary`), as a
    comma-separated text, a list, or `{requiredElements: [...]}`."""
    if value is None:
        return []
    if isinstance(value, dict):
        value = value.get("requiredElements", [])
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",") if part.strip()]
    if not (isinstance(value, list) and all(isinstance(path, str) for path in value)):
        raise InvalidAssertion(
            "value", "expected element paths: `root.child`, a list of them, or {requiredElements}"
        )
    return value


def _xml_verdict(root: ElementTree.Element, value: Any, found: str) -> Outcome:
    missing = [path for path in _required_elements(value) if not _has_path(root, path)]
    if missing:
        return Outcome(False, f"{found}, but it lacks {', '.join(map(quote, missing))}")
    return Outcome(True, found)


def _has_path(root: ElementTree.Element, path: str) -> bool:
    first, *rest = path.split(".")
    if root.tag != first:
        return False
    return not rest or root.find("/".join(rest)) is not None


def is_xml(output: str, value: Any, spec: AssertionSpec, ctx: CheckContext) -> Outcome:
    try:
        root = ElementTree.fromstring(output.strip())
    except ElementTree.ParseError as exc:
        return Outcome(False, f"output is not well-formed XML ({exc})")
    return _xml_verdict(root, value, "output is well-formed XML")


def contains_xml(output: str, value: Any, spec: AssertionSpec, ctx: CheckContext) -> Outcome:
    for root in _xml_elements(output):
        return _xml_verdict(root, value, f"output contains XML (<{root.tag}>)")
    return Outcome(False, "output contains no well-formed XML")


_START_TAG = re.compile(r"<([A-Za-z_][\w.-]*)[^<>]*?(/?)>")
_XML_STARTS = 200  # start tags tried, and closing tags tried for each: bounded work


def _xml_elements(text: str) -> Iterator[ElementTree.Element]:
    """Well-formed elements written in ``text``, the first start tag that opens one first."""
    for number, tag in enumerate(_START_TAG.finditer(text)):
        if number == _XML_STARTS:
            return
        if tag.group(2):  # <empty/>
            ends = [tag.end()]
        else:
            closing = f"</{tag.group(1)}>"
            ends, at = [], len(text)
            while len(ends) < _XML_STARTS and (at := text.rfind(closing, tag.end(), at)) >= 0:
                ends.append(at + len(closing))
        for stop in ends:
            try:
                yield ElementTree.fromstring(text[tag.start() : stop])
                return
            except ElementTree.ParseError:
                continue


# --- counts and distances ------------------------------------------------------------------------
def prepare_word_count(value: Any, base_dir: Path) -> None:
    _word_bounds(value)


def _word_bounds(value: Any) -> tuple[float, float]:
    """(min, max) words: a number is an exact count; `{min, max}` either or both."""
    if isinstance(value, dict) and value.keys() <= {"min", "max"} and value:
        low, high = value.get("min", 0), value.get("max", math.inf)
    elif isinstance(value, (int, float, str)) and not isinstance(value, bool):
        try:
            low = high = float(value)
        except ValueError:
            low = high = math.nan
    else:
        low = high = math.nan
    numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (low, high))
    if not numbers or math.isnan(low) or math.isnan(high):
        raise InvalidAssertion("value", "expected a number of words, or {min: N, max: M}")
    if low > high:
        raise InvalidAssertion("value", f"min ({low:g}) is more than max ({high:g})")
    return low, high


def word_count(output: str, value: Any, spec: AssertionSpec, ctx: CheckContext) -> Outcome:
    low, high = _word_bounds(value)
    words = len(output.split())
    wanted = f"{low:g}" if low == high else f"between {low:g} and {high:g}"
    if low <= words <= high:
        return Outcome(True, f"output has {words} words ({wanted})")
    return Outcome(False, f"output has {words} words, not {wanted}")


LEVENSHTEIN_DEFAULT_MAX = 5  # promptfoo's, when the assertion sets no threshold


def levenshtein(output: str, value: Any, spec: AssertionSpec, ctx: CheckContext) -> Outcome:
    expected = str(value)
    limit = int(spec.threshold) if spec.threshold else LEVENSHTEIN_DEFAULT_MAX
    distance = _bounded_distance(output, expected, limit)
    if distance is None:
        return Outcome(False, f"output is more than {limit} edits from {quote(expected)}")
    edits = "1 edit" if distance == 1 else f"{distance} edits"
    return Outcome(True, f"output is {edits} from {quote(expected)} (at most {limit})")


def _bounded_distance(a: str, b: str, limit: int) -> int | None:
    """The edit distance of ``a`` and ``b`` when it is at most ``limit``, else None: only the
    ``2 * limit + 1`` diagonals around the main one are computed, so long outputs cost little."""
    if abs(len(a) - len(b)) > limit:
        return None
    far = limit + 1
    previous = {j: j for j in range(min(len(b), limit) + 1)}  # row 0, within the band
    for i in range(1, len(a) + 1):
        current: dict[int, int] = {}
        for j in range(max(0, i - limit), min(len(b), i + limit) + 1):
            if j == 0:
                current[0] = i
                continue
            cost = 0 if a[i - 1] == b[j - 1] else 1
            current[j] = min(
                previous.get(j, far) + 1,
                current.get(j - 1, far) + 1,
                previous.get(j - 1, far) + cost,
            )
        if min(current.values()) > limit:
            return None
        previous = current
    distance = previous.get(len(b), far)
    return distance if distance <= limit else None
