"""Image outputs: find them in a model's output, download them, check them, save them.

Model outputs are untrusted: a URL may serve HTML, a huge file, or nothing. Every image is
fetched with a size cap, must declare an image content type and decode as one (Pillow), and is
saved under a name made from its content hash, so nothing is ever written outside the run's
output folder and the same image is stored once.

Downloads use their own HTTP client, not the SDK's: file URLs (replicate.delivery, data URLs)
are not API calls, and the Replicate token must not travel to whatever host an output names.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import io
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
from PIL import Image, UnidentifiedImageError

from replicate_eval.atomic import atomic_write_bytes
from replicate_eval.media import SavedImage

MAX_IMAGE_BYTES = 50 * 1024 * 1024
_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp", ".tif", ".tiff", ".avif")
_URL = re.compile(r"^(?:https?://\S+|data:[^,\s]*,\S*)$", re.IGNORECASE)


class DownloadError(Exception):
    """An output could not be saved as an image; the message says which and why."""


def file_urls(output: Any) -> list[str] | None:
    """The URLs in an output made only of file URLs (or the SDK's FileOutput objects), else None.

    Replicate returns a file output as a URL, a list of URLs, or (through ``replicate.run``)
    FileOutput objects that carry one.
    """
    items = output if isinstance(output, list) else [output]
    urls = []
    for item in items:
        url = getattr(item, "url", item)
        if not isinstance(url, str) or not _URL.match(url.strip()):
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


class ImageStore:
    """Saves the images of one run into ``folder`` (created on first use)."""

    def __init__(
        self, folder: Path, *, max_bytes: int = MAX_IMAGE_BYTES, timeout: float = 120.0
    ) -> None:
        self.folder = folder
        self.max_bytes = max_bytes
        self._timeout = timeout
        self._client: httpx.AsyncClient | None = None

    async def save_all(self, urls: Sequence[str]) -> list[SavedImage]:
        return list(await asyncio.gather(*(self.save(url) for url in urls)))

    async def save(self, url: str) -> SavedImage:
        if url.startswith("data:"):
            data, content_type = self._decode_data_url(url)
        else:
            data, content_type = await self._download(url)
        # Decoding the header and writing the file are blocking: keep them off the event loop.
        return await asyncio.to_thread(self._store, url, data, content_type)

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()

    # --- fetching ----------------------------------------------------------------------------
    async def _download(self, url: str) -> tuple[bytes, str]:
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=self._timeout, follow_redirects=True, max_redirects=5
            )
        shown = _cut(url)
        try:
            async with self._client.stream("GET", url) as response:
                if response.status_code != 200:
                    raise DownloadError(
                        f"could not download image {shown}: "
                        f"HTTP {response.status_code} {response.reason_phrase}"
                    )
                content_type = response.headers.get("content-type", "")
                self._check_type(shown, content_type)
                declared = response.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > self.max_bytes:
                    raise self._too_big(shown, int(declared))
                chunks, received = [], 0
                async for chunk in response.aiter_bytes():
                    received += len(chunk)
                    if received > self.max_bytes:
                        raise self._too_big(shown, received, more=True)
                    chunks.append(chunk)
        except httpx.HTTPError as exc:
            raise DownloadError(
                f"could not download image {shown}: {type(exc).__name__}: {exc}"
            ) from None
        return b"".join(chunks), content_type

    def _decode_data_url(self, url: str) -> tuple[bytes, str]:
        header, _, payload = url.partition(",")
        content_type = header.removeprefix("data:").split(";")[0]
        shown = shorten_source(url)
        self._check_type(shown, content_type)
        if not header.endswith(";base64"):
            raise DownloadError(f"image {shown} is not base64-encoded")
        if len(payload) * 3 // 4 > self.max_bytes:
            raise self._too_big(shown, len(payload) * 3 // 4)
        try:
            return base64.b64decode(payload, validate=True), content_type
        except (binascii.Error, ValueError):
            raise DownloadError(f"image {shown} holds invalid base64") from None

    def _check_type(self, shown: str, content_type: str) -> None:
        media_type = content_type.split(";")[0].strip().lower()
        if not media_type.startswith("image/"):
            raise DownloadError(
                f"refused {shown}: its content type is `{media_type or 'missing'}`, not an image"
            )

    def _too_big(self, shown: str, size: int, *, more: bool = False) -> DownloadError:
        over = "over " if more else ""
        return DownloadError(
            f"refused {shown}: {over}{size / 2**20:.1f} MB, more than the "
            f"{self.max_bytes / 2**20:.0f} MB limit for one image"
        )

    # --- saving ------------------------------------------------------------------------------
    def _store(self, url: str, data: bytes, content_type: str) -> SavedImage:
        shown = shorten_source(url) if url.startswith("data:") else _cut(url)
        try:
            with Image.open(io.BytesIO(data)) as image:
                image_format = (image.format or "").lower()
                width, height = image.size
                image.verify()
        except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError) as exc:
            raise DownloadError(
                f"{shown} was served as `{content_type}` but is not a readable image ({exc})"
            ) from None
        extension = {"jpeg": "jpg", "tiff": "tif"}.get(image_format, image_format or "img")
        path = self.folder / f"{hashlib.sha256(data).hexdigest()[:20]}.{extension}"
        self.folder.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            atomic_write_bytes(path, data)
        return SavedImage(
            path=path,
            source=shorten_source(url),
            format=image_format,
            width=width,
            height=height,
            size_bytes=len(data),
        )


def _cut(url: str, limit: int = 120) -> str:
    return url if len(url) <= limit else url[: limit - 1] + "…"
