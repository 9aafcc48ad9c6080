"""A tiny text-to-image model: deterministic shapes and the prompt's words, drawn with Pillow.

It needs no weights and no GPU, so reval's quickstart can compare a real image model offline.
The prompt picks the colours and shapes; `seed` varies them; `width` and `height` are honoured.
"""

import hashlib
import random
import tempfile
from pathlib import Path as FilePath

from cog import BasePredictor, Input, Path
from PIL import Image, ImageDraw


class Predictor(BasePredictor):
    def setup(self) -> None:
        """Nothing to load."""

    def predict(
        self,
        prompt: str = Input(description="What to draw"),
        width: int = Input(description="Width in pixels", default=512, ge=64, le=2048),
        height: int = Input(description="Height in pixels", default=512, ge=64, le=2048),
        seed: int = Input(description="Varies the drawing", default=0),
    ) -> Path:
        digest = hashlib.sha256(f"{prompt}\0{seed}".encode()).digest()
        rng = random.Random(digest)
        image = Image.new("RGB", (width, height), tuple(digest[:3]))
        draw = ImageDraw.Draw(image)
        for _ in range(3 + len(prompt.split())):
            x, y = rng.randrange(width), rng.randrange(height)
            size = rng.randrange(min(width, height) // 8, min(width, height) // 3)
            colour = tuple(rng.randrange(256) for _ in range(3))
            box = (x - size, y - size, x + size, y + size)
            if rng.random() < 0.5:
                draw.ellipse(box, fill=colour)
            else:
                draw.rectangle(box, fill=colour)
        draw.text((8, 8), prompt[:60], fill=(255, 255, 255))
        out = FilePath(tempfile.mkdtemp()) / "shapes.png"
        image.save(out)
        return Path(out)
