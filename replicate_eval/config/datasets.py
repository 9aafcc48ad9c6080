"""Prompts and vars kept in files: ``prompts: file://p.txt``, a var ``file://question.txt``.

Prompt files hold several prompts separated by a line ``---``; ``file://prompts/*.txt`` takes
every matching file (a bounded walk, see ``file_glob``). Files are read with a size limit and
must be regular files (see ``text_files``). Tests kept in files are in ``case_files``.
"""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path
from typing import Any

from replicate_eval.chat import is_chat_messages
from replicate_eval.config.file_glob import GlobTooWide, has_magic, matching_files
from replicate_eval.config.limits import MAX_GLOB_ENTRIES, MAX_TEXT_FILE_BYTES, MAX_VAR_COMBINATIONS
from replicate_eval.config.text_files import UnreadableFile, read_text
from replicate_eval.config.yaml_source import parse_yaml
from replicate_eval.errors import ConfigError

FILE_PREFIX = "file://"


# promptfoo reads a prompt as a file's name when it looks like one (src/prompts/utils.ts,
# maybeFilePath): an extension it knows, a slash or a glob star. reval also needs it to exist:
# a prompt that merely ends in `.txt` and names no file stays text.
_PROMPT_FILE_SUFFIXES = (".txt", ".json", ".jsonl", ".yaml", ".yml", ".md", ".j2")
_LONGEST_NAME = 1024


def bare_file(text: str, base_dir: Path) -> str | None:
    """``file://text`` when a prompt written without ``file://`` names prompt files, as
    promptfoo allows (``prompts: [prompts.txt]``); None when it is a prompt's text."""
    if "\n" in text or not text.strip() or len(text) > _LONGEST_NAME or text != text.strip():
        return None
    looks_like_a_path = text.lower().endswith(_PROMPT_FILE_SUFFIXES) or "/" in text or "*" in text
    if not looks_like_a_path:
        return None
    try:
        if has_magic(text):
            return FILE_PREFIX + text if matching_files(text, base_dir) else None
        return FILE_PREFIX + text if (base_dir / text).is_file() else None
    except (GlobTooWide, OSError, ValueError):
        return None


def expand_prompt_reference(reference: str, base_dir: Path) -> list[tuple[Path, str, int, int]]:
    """Every prompt a ``file://`` reference names: (file, text, number in file, count in file).

    A glob matches several files; a file holds prompts separated by a line ``---``.
    """
    pattern = reference.removeprefix(FILE_PREFIX)
    if has_magic(pattern):
        try:
            paths = matching_files(pattern, base_dir)
        except GlobTooWide:
            raise ConfigError(
                f"`{reference}` looks at more than {MAX_GLOB_ENTRIES:,} files and folders "
                "(reval's limit); name the folder that holds the prompts"
            ) from None
        if not paths:
            raise ConfigError(f"no prompt file matches {base_dir / pattern}")
    else:
        paths = [base_dir / pattern]
    found = []
    for path in paths:
        try:
            text = read_text(path, limit=MAX_TEXT_FILE_BYTES)
        except UnreadableFile as exc:
            raise ConfigError(f"cannot read prompt file {path}: {exc}") from None
        if path.suffix.lower() in (".yaml", ".yml"):
            found.append((path, _yaml_chat(text, path), 1, 1))
            continue
        parts = _split_prompts(text)
        if len(parts) > 1:  # a file of one prompt is kept exactly as written
            parts = [part.strip("\n") for part in parts if part.strip()]
        if not any(part.strip() for part in parts):
            raise ConfigError(f"the prompt file {path} is empty: it holds no prompt")
        found += [(path, part, number, len(parts)) for number, part in enumerate(parts, start=1)]
    return found


def _yaml_chat(text: str, path: Path) -> str:
    """A YAML prompt file is a chat, as in promptfoo: its messages as the JSON reval reads."""
    doc = parse_yaml(text, path)
    messages = doc.data if doc is not None else None
    if not is_chat_messages(messages):
        raise ConfigError(
            f"the prompt file {path} is YAML but not a list of chat messages "
            "(`- role: user` / `  content: ...`); write a text prompt in a .txt file"
        )
    return json.dumps(messages, ensure_ascii=False, indent=2)


def _split_prompts(text: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    for line in text.splitlines(keepends=True):
        if line.strip() == "---":
            parts.append("".join(current))
            current = []
        else:
            current.append(line)
    parts.append("".join(current))
    return parts


def read_var_file(value: Any, base_dir: Path) -> Any:
    """A var value ``file://path`` is that file's text. Raises ConfigError saying why not."""
    if not (isinstance(value, str) and value.startswith(FILE_PREFIX)):
        return value
    path = base_dir / value.removeprefix(FILE_PREFIX)
    try:
        return read_text(path, limit=MAX_TEXT_FILE_BYTES)
    except UnreadableFile as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None


def vars_file(value: dict[str, Any] | str, base_dir: Path) -> dict[str, Any]:
    """A test's ``vars``: the mapping, or the one a ``file://`` YAML or JSON file holds."""
    if isinstance(value, dict):
        return value
    if not value.startswith(FILE_PREFIX):
        raise ConfigError("expected a mapping of vars, or `file://vars.yaml` naming one")
    path = base_dir / value.removeprefix(FILE_PREFIX)
    try:
        text = read_text(path, limit=MAX_TEXT_FILE_BYTES)
    except UnreadableFile as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    doc = parse_yaml(text, path)  # JSON is YAML too
    if doc is None or not isinstance(doc.data, dict):
        raise ConfigError(f"{path} must hold a mapping of vars (`name: value` lines)")
    return doc.data


def var_combinations(variables: dict[str, Any]) -> list[dict[str, Any]]:
    """promptfoo's var expansion (src/evaluator.ts, generateVarCombinations): a var whose value
    is a list of strings makes one test per item, several such vars one per combination; a
    list of anything else (numbers, mappings) stays one value."""
    choices = [
        [(name, item) for item in value]
        if isinstance(value, list) and value and isinstance(value[0], str)
        else [(name, value)]
        for name, value in variables.items()
    ]
    count = math.prod(len(options) for options in choices)  # counted before any is made
    if count > MAX_VAR_COMBINATIONS:
        raise ConfigError(
            f"its list vars make {count:,} combinations, more than the "
            f"{MAX_VAR_COMBINATIONS:,} reval makes from one test"
        )
    return [dict(chosen) for chosen in itertools.product(*choices)]
