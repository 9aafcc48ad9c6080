"""``.env`` files: ``KEY=VALUE`` lines that add to the environment without overriding it."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from replicate_eval.config.limits import MAX_TEXT_FILE_BYTES
from replicate_eval.config.text_files import UnreadableFile, read_text
from replicate_eval.errors import ConfigError


def read_env_file(path: Path) -> dict[str, str]:
    """``KEY=VALUE`` per line; ``export``, quotes and ``#`` comments as shells write them."""
    try:
        text = read_text(path, limit=MAX_TEXT_FILE_BYTES)
    except UnreadableFile as exc:
        raise ConfigError(f"cannot read the env file {path}: {exc}") from None
    values: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.removeprefix("export ").partition("=")
        key = key.strip()
        if not sep or not key.replace("_", "").isalnum() or not key.isascii():
            # The line is not quoted back: it may hold a token.
            what = (
                "has no `=`" if not sep else "names a variable with more than letters, digits, `_`"
            )
            raise ConfigError(
                f"{path}:{number}: expected KEY=VALUE (optionally after `export `), a `#` "
                f"comment or an empty line; this line {what}"
            )
        value = value.strip()
        if value[:1] in ("'", '"') and value[0] in value[1:]:
            value = value[1 : value.index(value[0], 1)]  # what follows the quote is a comment
        elif " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        values[key] = value
    return values


def environment(
    config_path: Path, env_file: Path | None, real: Mapping[str, str]
) -> dict[str, str]:
    """The real environment over the env file's (``.env`` beside the config when present)."""
    path = env_file if env_file is not None else config_path.parent / ".env"
    if env_file is None and not path.is_file():
        return dict(real)
    return {**read_env_file(path), **real}
