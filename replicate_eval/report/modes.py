"""Names the CLI declares its options with, without importing what they choose between: how an
HTML report holds the images (`--html-images`, no Jinja) and which terminal table a run prints
(`--table`, no Rich tables)."""

from typing import Literal

ImageMode = Literal["embed", "link"]
TableMode = Literal["auto", "full", "summary", "none"]

# `--table auto`: the full grid up to this many cells (tests x prompts x providers), the
# summary above it. A grid of this size renders in well under 0.2 s; at 2,000 rows it took 1.5 s.
FULL_GRID_MAX_CELLS = 200
# The summary lists at most this many failing or errored cells; the results files have them all.
FAILING_CELLS_SHOWN = 50
