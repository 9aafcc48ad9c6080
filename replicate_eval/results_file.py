"""Reading a results file (``reval run -o results.json``) into a model of its shape: the whole
``RunResult``, or the part a diff reads (``history.compared``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from replicate_eval.clip import clip
from replicate_eval.config.text_files import UnreadableFile, read_text
from replicate_eval.errors import ConfigError
from replicate_eval.results import SCHEMA_VERSION

# A results file holds every cell's input and output: far bigger than a config may be.
MAX_RESULTS_FILE_BYTES = 2 * 1024**3
_REASON_LIMIT = 200  # characters of why a results file was refused

Model = TypeVar("Model", bound=BaseModel)


def read_results_as(path: str | os.PathLike[str], model: type[Model]) -> Model:
    try:
        text = read_text(Path(path), limit=MAX_RESULTS_FILE_BYTES)
    except UnreadableFile as exc:
        raise ConfigError(f"{path}: cannot read the results file: {exc}") from None
    try:
        found = model.model_validate_json(text)
    except ValidationError as exc:
        raise ConfigError(f"{path}: not a reval results file ({_first_problem(exc)})") from None
    except (ValueError, RecursionError) as exc:
        reason = clip(str(exc), _REASON_LIMIT, marker="")
        raise ConfigError(
            f"{path}: not a reval results file ({type(exc).__name__}: {reason})"
        ) from None
    version = getattr(found, "schema_version", SCHEMA_VERSION)
    if version > SCHEMA_VERSION:
        raise ConfigError(
            f"{path}: written by a newer reval (results schema {version}, this reval reads "
            f"{SCHEMA_VERSION}): upgrade reval to read it"
        )
    return found


def _first_problem(exc: ValidationError) -> str:
    """What is wrong, in words: the first problem and how many there are (another tool's
    JSON, a diff's, a truncated file)."""
    problems = exc.errors(include_url=False)
    if not problems:
        return "it does not have the results' shape"
    first = problems[0]
    where = ".".join(str(part) for part in first.get("loc", ())) or "the file"
    more = f" ({len(problems)} problems)" if len(problems) > 1 else ""
    text = f"`{where}`: {first.get('msg', 'invalid')}{more}; is it another tool's file?"
    return clip(text, _REASON_LIMIT, marker="")
