"""A run's counters, in one object: made once per run, incremented by whatever does the work.

The Replicate session (predictions, graders' predictions, uncertain creates), the creation
pacer (429s), the poll budget (polls), the Cog servers (predictions) and the graders (cached
answers, time) each hold the run's ``RunStats``. ``results.count`` copies it into ``Totals``,
whose fields have the same names, and ``reval merge`` adds shards' counters with the same
``+``: a new counter is a field here and in ``Totals``, and is merged without more code.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields
from typing import Any


@dataclass
class RunStats:
    predictions: int = 0  # made by the providers under test: on Replicate and on Cog servers
    polls: int = 0  # status requests for predictions still running after the wait
    throttled: int = 0  # 429 answers to creation requests
    grader_predictions: int = 0  # made by the graders of model-graded assertions
    grader_cached: int = 0  # grader answers given without a new prediction
    grader_time_s: float = 0.0  # the graders' predictions' latencies, added up
    # Create requests whose fate was unknown (claims.py), by what became of them.
    ambiguous_creates: int = 0
    ambiguous_followed: int = 0
    ambiguous_canceled: int = 0
    # Those still unknown: one up when a request is recorded, one down when it is resolved.
    ambiguous_unaccounted: int = 0

    def __add__(self, other: RunStats) -> RunStats:
        return RunStats(
            **{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)}
        )

    @classmethod
    def combined(cls, parts: Iterable[RunStats]) -> RunStats:
        """The counters of several runs (shards) as those of one."""
        total = cls()
        for part in parts:
            total = total + part
        return total

    @classmethod
    def of(cls, totals: object) -> RunStats:
        """The counters a results file's ``Totals`` hold (the fields share their names)."""
        return cls(**{f.name: getattr(totals, f.name) for f in fields(cls)})

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
