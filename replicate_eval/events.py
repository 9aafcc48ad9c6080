"""What ``evaluate()`` and ``validate()`` tell their caller while they work.

The library never prints: the CLI turns these events into a spinner, a progress bar and
warnings; a notebook or a test may log them, count them, or ignore them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from replicate_eval.preflight import Finding
    from replicate_eval.results import CellResult


@dataclass(frozen=True)
class Notice:
    """Something the person running the eval should know; the run goes on."""

    message: str
    # "warning": something may be wrong; "info": what the run is doing (a re-run's plan).
    level: Literal["warning", "info"] = "warning"


@dataclass(frozen=True)
class PreflightStarted:
    """The models' schemas are being fetched to check the inputs."""


@dataclass(frozen=True)
class PreflightFinished:
    findings: tuple[Finding, ...]  # errors and warnings, in the order found


@dataclass(frozen=True)
class RunStarted:
    cells: int  # cells planned: tests x prompts x providers x repeat


@dataclass(frozen=True)
class CellFinished:
    result: CellResult
    done: int  # cells finished so far, this one included
    total: int


@dataclass(frozen=True)
class Interrupted:
    """A stop was asked for (Ctrl-C, SIGTERM): running predictions are being canceled and the
    result will hold the cells that finished."""


Event = Notice | PreflightStarted | PreflightFinished | RunStarted | CellFinished | Interrupted
EventCallback = Callable[[Event], None]
