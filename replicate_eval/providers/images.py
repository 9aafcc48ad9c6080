"""Image outputs: download them, check them, save them in the run's folder.

Model outputs are untrusted: a URL may serve HTML, a huge file, or nothing. Every image is
fetched with a size cap, must declare an image content type and decode as one (Pillow), and is
saved under a name made from its content hash, so nothing is ever written outside the run's
output folder and the same image is stored once.

Downloads use their own HTTP client, not the SDK's: file URLs (replicate.delivery, data URLs)
are not API calls, and the Replicate token must not travel to whatever host an output names.
Where they may go is the caller's ``DownloadPolicy``: redirects are followed one at a time, so
that every hop is checked before it is requested.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
from PIL import Image, UnidentifiedImageError

from replicate_eval.atomic import atomic_write_bytes
from replicate_eval.clip import clip
from replicate_eval.errors import ProviderError
from replicate_eval.media import SavedImage
from replicate_eval.providers.download_policy import DownloadPolicy
from replicate_eval.providers.outputs import shorten_source

MAX_IMAGE_BYTES = 50 * 1024 * 1024
URL_LIMIT = 120  # characters of an image URL named in a message
# Pillow's names for formats that are another one underneath.
_FORMAT_NAMES = {"mpo": "jpeg"}


class DownloadError(ProviderError):
    """An output could not be saved as an image; the message says which and why."""


@dataclass(frozen=True)
class _Checked:
    """An image fetched and decoded, not yet written: its bytes, until ``_write`` makes it a
    ``SavedImage``."""

    url: str
    data: bytes
    format: str
    width: int
    height: int


class ImageStore:
    """Saves the images of one run into ``folder`` (created on first use)."""

    def __init__(
        self,
        folder: Path,
        *,
        max_bytes: int = MAX_IMAGE_BYTES,
        read_timeout: float = 60.0,
        total_timeout: float = 300.0,
    ) -> None:
        self.folder = folder
        self.max_bytes = max_bytes
        self._read_timeout = read_timeout
        self._total_timeout = total_timeout
        self._client: httpx.AsyncClient | None = None

    async def save_all(self, urls: Sequence[str], *, policy: DownloadPolicy) -> list[SavedImage]:
        """Fetch and check every image first, so that a cell with one bad image saves none;
        ``policy`` says which URLs may be fetched (data URLs always may)."""
        tasks = [asyncio.ensure_future(self._fetch_checked(url, policy)) for url in urls]
        try:
            checked = await asyncio.gather(*tasks)
        except BaseException:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        # Writing is blocking: keep it off the event loop.
        return await asyncio.to_thread(lambda: [self._write(image) for image in checked])

    async def adopt(self, images: Sequence[SavedImage]) -> list[SavedImage] | None:
        """Copy images saved by an earlier run (a cached response) into this run's folder.

        None when one of them is gone: the response must then be made again.
        """

        def copy_all() -> list[SavedImage] | None:
            copies = []
            for image in images:
                try:
                    data = image.file.read_bytes()
                except OSError:
                    return None
                checked = _Checked(image.source, data, image.format, image.width, image.height)
                copies.append(self._write(checked).model_copy(update={"source": image.source}))
            return copies

        return await asyncio.to_thread(copy_all)

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()

    async def _fetch_checked(self, url: str, policy: DownloadPolicy) -> _Checked:
        if url.startswith("data:"):
            data, content_type = self._decode_data_url(url)
        else:
            try:
                data, content_type = await asyncio.wait_for(
                    self._download(url, policy), timeout=self._total_timeout
                )
            except asyncio.TimeoutError:
                raise DownloadError(
                    f"could not download image {clip(url, URL_LIMIT)}: "
                    f"not complete after {self._total_timeout:.0f} s"
                ) from None
        return await asyncio.to_thread(self._decode, url, data, content_type)

    # --- fetching ----------------------------------------------------------------------------
    async def _download(self, url: str, policy: DownloadPolicy) -> tuple[bytes, str]:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self._read_timeout, follow_redirects=False)
        shown = clip(url, URL_LIMIT)
        target = url
        try:
            for _ in range(policy.max_redirects + 1):
                refusal = await policy.refusal(target)
                if refusal is not None:
                    hop = (
                        "" if target == url else f"it redirects to {clip(target, URL_LIMIT)}, and "
                    )
                    raise DownloadError(f"refused image {shown}: {hop}{refusal}")
                async with self._client.stream("GET", target) as response:
                    if response.has_redirect_location and response.next_request is not None:
                        target = str(response.next_request.url)
                        continue
                    return await self._read(shown, response)
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise DownloadError(
                f"could not download image {shown}: {type(exc).__name__}: {exc}"
            ) from None
        raise DownloadError(
            f"could not download image {shown}: more than {policy.max_redirects} redirects"
        )

    async def _read(self, shown: str, response: httpx.Response) -> tuple[bytes, str]:
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

    # --- checking and saving -----------------------------------------------------------------
    def _decode(self, url: str, data: bytes, content_type: str) -> _Checked:
        shown = shorten_source(url) if url.startswith("data:") else clip(url, URL_LIMIT)
        try:
            with Image.open(io.BytesIO(data)) as image:
                image_format = (image.format or "").lower()
                width, height = image.size
                image.verify()
        except UnidentifiedImageError:
            # Pillow's own message names its BytesIO object (at 0x...), which says nothing.
            raise DownloadError(
                f"{shown} was served as `{content_type}` but is not a readable image "
                f"(Pillow recognises no image format in its {len(data)} bytes)"
            ) from None
        except (OSError, SyntaxError, Image.DecompressionBombError) as exc:
            raise DownloadError(
                f"{shown} was served as `{content_type}` but is not a readable image ({exc})"
            ) from None
        image_format = _FORMAT_NAMES.get(image_format, image_format)
        return _Checked(url, data, image_format, width, height)

    def _write(self, image: _Checked) -> SavedImage:
        extension = {"jpeg": "jpg", "tiff": "tif"}.get(image.format, image.format or "img")
        path = self.folder / f"{hashlib.sha256(image.data).hexdigest()[:20]}.{extension}"
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            if not path.exists():
                atomic_write_bytes(path, image.data)
        except OSError as exc:
            raise DownloadError(
                f"could not save an image in {self.folder}: {exc.strerror or exc}"
            ) from None
        return SavedImage(
            path=str(path),
            source=shorten_source(image.url),
            format=image.format,
            width=image.width,
            height=image.height,
            size_bytes=len(image.data),
        )
