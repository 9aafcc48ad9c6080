"""Output files the fake serves, as replicate.delivery does: real image bytes at plain URLs.

A behaviour puts ``File`` objects in its ``Reply.output``; when the prediction is created the
fake publishes each one at ``{fake.url}/files/<name>`` and the prediction's output holds that
URL, exactly as Replicate's outputs hold delivery URLs. Faults are files too: the wrong content
type, a missing file (404), a body larger than it says, or no length at all (chunked). A
``redirect`` answers 302 with a ``Location``, as a CDN sends a client on to another host.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from typing import Any

from PIL import Image, ImageDraw

CONTENT_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}


@dataclass(frozen=True)
class File:
    data: bytes
    content_type: str
    status: int = 200  # 404: the URL leads nowhere
    chunked: bool = False  # send without Content-Length, in chunks
    location: str | None = None  # a redirect: where the file is said to be

    @property
    def name(self) -> str:
        # A redirect's URL looks like the image it stands for.
        extension = "png" if self.location else self.content_type.rpartition("/")[2]
        extension = extension.replace("jpeg", "jpg")
        return f"{hashlib.sha256(self.data).hexdigest()[:16]}.{extension}"


def picture(text: str, width: int = 64, height: int = 64, image_format: str = "PNG") -> bytes:
    """A real image whose colours follow from ``text``: different prompts, different pictures."""
    digest = hashlib.sha256(text.encode()).digest()
    image = Image.new("RGB", (width, height), tuple(digest[:3]))
    draw = ImageDraw.Draw(image)
    inset_x, inset_y = width // 5, height // 5
    draw.ellipse((inset_x, inset_y, width - inset_x, height - inset_y), fill=tuple(digest[3:6]))
    draw.text((4, 4), text[:40], fill=(255, 255, 255))
    buffer = io.BytesIO()
    image.save(buffer, format=image_format)
    return buffer.getvalue()


def image_file(text: str, width: int = 64, height: int = 64, image_format: str = "PNG") -> File:
    return File(picture(text, width, height, image_format), CONTENT_TYPES[image_format])


def redirect(location: str) -> File:
    """A URL that answers ``302 Found`` with ``Location: location`` (and a short HTML body)."""
    body = f'<a href="{location}">Found</a>.'.encode()
    return File(body, "text/html; charset=utf-8", status=302, location=location)


def publish(output: Any, base_url: str, files: dict[str, File]) -> Any:
    """Replace every File in an output by the URL it is served at (registering it)."""
    if isinstance(output, File):
        files[output.name] = output
        return f"{base_url}/files/{output.name}"
    if isinstance(output, list):
        return [publish(item, base_url, files) for item in output]
    return output
