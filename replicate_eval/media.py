"""Images a model made, once they are saved on disk: what every later stage knows of them."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class SavedImage:
    path: Path  # inside the run's output folder, named by content hash
    source: str  # the URL it was downloaded from (a data URL is shortened)
    format: str  # as Pillow read the bytes: png, jpeg, webp, gif...
    width: int
    height: int
    size_bytes: int

    @property
    def dimensions(self) -> str:
        return f"{self.width}x{self.height}"

    def as_dict(self) -> dict[str, Any]:
        """Plain data, as results files and `python` checks see it (the path as text)."""
        return {**asdict(self), "path": str(self.path)}
