"""What a model's output is made of: text, or files given by URL.

Replicate returns a file output as a URL, a list of URLs, a data URL, or (through
``replicate.run``) the SDK's FileOutput objects that carry one.
"""

from __future__ import annotations

import json
import re
from typing import Any

import httpx

from replicate_eval.clip import clip

_URL = re.compile(r"^(?:https?://\S+|data:[^,\s]*,\S*)$", re.IGNORECASE)
_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp", ".tif", ".tiff", ".avif")
EXCERPT_LIMIT = 120  # characters of an output quoted in a message
_KEY_LIMIT = 40  # characters of each object key named in a message


def joined_text(output: Any) -> str | None:
    """A text output as one string: a string as it is, a list of strings (a language model's
    streamed tokens) joined with nothing between them; None for anything else."""
    if isinstance(output, str):
        return output
    if isinstance(output, list) and all(isinstance(item, str) for item in output):
        return "".join(output)
    return None


def file_urls(output: Any) -> list[str] | None:
    """The URLs of an output made only of file URLs, else None."""
    items = output if isinstance(output, list) else [output]
    urls = []
    for item in items:
        url = getattr(item, "url", item)
        if not isinstance(url, str) or not _is_url(url.strip()):
            return None
        urls.append(url.strip())
    return urls or None


def looks_like_images(output: Any) -> bool:
    """True when an output is image files: data URLs of images, or URLs with image suffixes."""
    urls = file_urls(output)
    return bool(urls) and all(
        url.lower().startswith("data:image/")
        or httpx.URL(url).path.lower().endswith(_IMAGE_SUFFIXES)
        for url in urls or ()
    )


def shorten_source(url: str) -> str:
    """A data URL holds the whole file: keep its header for reports, not megabytes of base64.

    Not ``clip()``: the header is kept whole and the cut says how much it left out."""
    if url.startswith("data:"):
        header, _, data = url.partition(",")
        return f"{header},… ({len(data)} base64 characters)"
    return url


def describe_output(output: Any, *, limit: int = EXCERPT_LIMIT) -> str:
    """An output in words for a message: what it is, and a JSON excerpt of it (never a Python
    repr: a reader of the message knows the model's JSON, not reval's objects)."""
    if output is None:
        return "no output"
    if isinstance(output, str):
        return f"text ({excerpt(' '.join(output.split()), limit)})"
    if isinstance(output, bool):
        return f"a boolean ({excerpt(output, limit)})"
    if isinstance(output, (int, float)):
        return f"a number ({excerpt(output, limit)})"
    if isinstance(output, (bytes, bytearray)):
        return f"{len(output)} bytes of binary data"
    if isinstance(output, (list, tuple, dict)) and not output:
        return "an empty list" if isinstance(output, (list, tuple)) else "an empty object"
    if isinstance(output, (list, tuple)):
        items = "item" if len(output) == 1 else "items"
        return f"a list of {len(output)} {items}: {excerpt(output, limit)}"
    if isinstance(output, dict):
        keys = ", ".join(excerpt(str(key), _KEY_LIMIT) for key in list(output)[:5])
        more = ", …" if len(output) > 5 else ""
        noun = "key" if len(output) == 1 else "keys"
        return f"an object with the {noun} {keys}{more}: {excerpt(output, limit)}"
    url = getattr(output, "url", None)
    if isinstance(url, str):
        return f"a file output at {excerpt(url, limit)}"
    return f"an object of type {type(output).__name__}"


def excerpt(value: Any, limit: int = EXCERPT_LIMIT) -> str:
    """``value`` as JSON, cut to ``limit`` characters; what JSON cannot hold is named instead."""
    return clip(json.dumps(_json_safe(value, depth=0), ensure_ascii=False), limit)


def nested_urls(output: Any) -> list[str]:
    """File URLs inside an object's values or a list's lists, where ``file_urls`` does not
    look: a hint that the model's files are there, a level down."""
    if isinstance(output, dict):
        return _all_urls(list(output.values()), depth=0)
    if isinstance(output, list):
        return _all_urls([item for item in output if isinstance(item, (list, dict))], depth=0)
    return []


def _all_urls(value: Any, *, depth: int) -> list[str]:
    if isinstance(value, str):
        return [value.strip()] if _is_url(value.strip()) else []
    if depth > 4:
        return []
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list):
        return [url for item in value for url in _all_urls(item, depth=depth + 1)]
    return []


def _json_safe(value: Any, *, depth: int) -> Any:
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if depth > 4:
        return "…"
    if isinstance(value, (list, tuple)):
        return [_json_safe(item, depth=depth + 1) for item in value[:20]]
    if isinstance(value, dict):
        return {str(k): _json_safe(v, depth=depth + 1) for k, v in list(value.items())[:20]}
    if isinstance(value, (bytes, bytearray)):
        return f"({len(value)} bytes)"
    url = getattr(value, "url", None)
    return url if isinstance(url, str) else f"(an object of type {type(value).__name__})"


def _is_url(text: str) -> bool:
    if not _URL.match(text):
        return False
    if text.startswith("data:"):
        return True
    try:
        return bool(httpx.URL(text).host)
    except httpx.InvalidURL:
        return False


def well_formed(text: str) -> str:
    """``text`` as valid Unicode: half a surrogate pair (JSON can spell one, ``\\ud800``) made
    U+FFFD, so that results can be written as JSON and printed."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    return text
