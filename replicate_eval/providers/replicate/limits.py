"""Pacing requests to one Replicate account: creations adapt to 429s, polls share a budget.

Replicate limits prediction creation per account (600/min normally, as low as 6/min with a
burst of 1 on an account with little credit) and answers 429 with ``retry_after``. The SDK does
not retry the POST that creates a prediction, so reval paces creations itself: every cell of
one account waits on one ``CreationPacer``, which

* stops every creation until ``retry_after`` has passed (one 429 pauses the whole account, not
  just the cell that got it, so the others do not spend requests learning the same thing),
* then spaces creations at the rate the 429 names ("6 requests per minute"), or, when the
  message does not say, doubles the spacing per 429,
* and, after a run of successes, halves the spacing again to find out whether the limit rose.

Polls of running predictions go through a ``PollBudget``: one token bucket for the whole run,
so 50 slow predictions cannot flood the API's read limit.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable

from replicate_eval.stats import RunStats

_RATE = re.compile(r"(\d+(?:\.\d+)?)\s+requests?\s+per\s+(second|minute|hour)", re.IGNORECASE)
_PERIOD = {"second": 1.0, "minute": 60.0, "hour": 3600.0}


def stated_interval(detail: str | None) -> float | None:
    """Seconds between requests from a 429's words, e.g. "6 requests per minute" -> 10.0."""
    match = _RATE.search(detail or "")
    if not match or float(match.group(1)) <= 0:
        return None
    return _PERIOD[match.group(2).lower()] / float(match.group(1))


class CreationPacer:
    """Admits prediction creations for one account, adapting to its rate limit."""

    # After this many creations in a row without a 429, try twice the rate.
    SPEED_UP_AFTER = 10
    LONGEST_INTERVAL = 120.0

    def __init__(
        self, clock: Callable[[], float] = time.monotonic, stats: RunStats | None = None
    ) -> None:
        self._clock = clock
        self._stats = stats if stats is not None else RunStats()  # the run's: counts 429s
        self.interval = 0.0  # seconds between creations; 0 until a 429 says otherwise
        self._next_start = 0.0
        self._paused_until = 0.0
        self._successes = 0

    async def acquire(self) -> None:
        """Wait until this account may create another prediction."""
        while True:
            now = self._clock()
            start = max(self._next_start, self._paused_until)
            if start <= now:
                self._next_start = now + self.interval
                return
            await asyncio.sleep(start - now)

    def succeeded(self) -> None:
        self._successes += 1
        if self.interval and self._successes >= self.SPEED_UP_AFTER:
            self.interval = self.interval / 2 if self.interval > 0.05 else 0.0
            self._successes = 0

    def throttled_for(self, retry_after: float, detail: str | None = None) -> None:
        """A 429: pause every creation for ``retry_after`` seconds and slow down."""
        self._stats.throttled += 1
        self._successes = 0
        now = self._clock()
        # 429s to requests sent together arrive together: only the first of a burst is news.
        news = now >= self._paused_until
        self._paused_until = max(self._paused_until, now + retry_after)
        stated = stated_interval(detail)
        if stated is not None:
            self.interval = max(self.interval, stated)
        elif news:
            self.interval = max(self.interval * 2, 0.5)
        self.interval = min(self.interval, self.LONGEST_INTERVAL)
        # The next creation goes when the pause ends; the rest follow one interval apart.
        self._next_start = max(self._next_start, self._paused_until)


class PollBudget:
    """A token bucket shared by every poll of a run: at most ``rate`` polls a second."""

    # Replicate allows 3000 reads a minute (50 a second) besides creations; keep some margin.
    def __init__(
        self,
        rate: float = 40.0,
        clock: Callable[[], float] = time.monotonic,
        stats: RunStats | None = None,
    ) -> None:
        self._interval = 1.0 / rate
        self._clock = clock
        self._next = 0.0
        self._stats = stats if stats is not None else RunStats()  # the run's: counts polls

    async def acquire(self) -> None:
        now = self._clock()
        start = max(now, self._next)
        self._next = start + self._interval
        self._stats.polls += 1
        if start > now:
            await asyncio.sleep(start - now)
