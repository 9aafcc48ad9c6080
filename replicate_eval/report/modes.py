"""How an HTML report holds the images (`--html-images`): a name the CLI declares its option
with, without importing the HTML stack (Jinja)."""

from typing import Literal

ImageMode = Literal["embed", "link"]
