"""Images a model made, once they are saved on disk: what every later stage knows of them.

``SavedImage`` is the one record of such an image: providers return it, assertions and the
response cache read it, and results files hold it as it is (``results.ImageResult``).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict


class SavedImage(BaseModel):
    model_config = ConfigDict(frozen=True)

    # Where reval saved it, named by content hash inside the run's output folder: relative to
    # where reval ran, unless --output-dir is absolute. Text, as results files hold it.
    path: str
    source: str  # the URL it was downloaded from (a data URL is shortened)
    format: str  # as Pillow read the bytes: png, jpeg, webp, gif...
    width: int
    height: int
    size_bytes: int

    @property
    def file(self) -> Path:
        return Path(self.path)

    @property
    def dimensions(self) -> str:
        return f"{self.width}x{self.height}"
