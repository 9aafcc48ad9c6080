"""What a model's output is made of: text, or files given by URL.

Replicate returns a file output as a URL, a list of URLs, a data URL, or (through
``replicate.run``) the SDK's FileOutput objects that carry one.
"""

from __future__ import annotations

import re
from typing import Any

import httpx

_URL = re.compile(r"^(?:https?://\S+|data:[^,\s]*,\S*)$", re.IGNORECASE)
_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp", ".tif", ".tiff", ".avif")


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
    """A data URL holds the whole file: keep its header for reports, not megabytes of base64."""
    if url.startswith("data:"):
        header, _, data = url.partition(",")
        return f"{header},… ({len(data)} base64 characters)"
    return url


def _is_url(text: str) -> bool:
    if not _URL.match(text):
        return False
    if text.startswith("data:"):
        return True
    try:
        return bool(httpx.URL(text).host)
    except httpx.InvalidURL:
        return False
