"""Replicate's creation rate limit: a token bucket per account, answered with 429s.

Real accounts with little credit are limited to a few creations a minute with a burst of 1, and
get bodies like the one below. ``retry_after`` is whole seconds, as Replicate sends it, unless
a test asks for more precision to keep its clock short.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Throttle:
    per_minute: float
    burst: int = 1
    whole_seconds: bool = True
    _tokens: dict[str, float] = field(default_factory=dict)
    _updated: dict[str, float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    refused: int = 0

    def admit(self, account: str) -> dict[str, Any] | None:
        """None when ``account`` may create now; else the 429 body to answer with."""
        rate = self.per_minute / 60.0
        with self._lock:
            now = time.monotonic()
            tokens = self._tokens.get(account, float(self.burst))
            tokens = min(float(self.burst), tokens + (now - self._updated.get(account, now)) * rate)
            self._updated[account] = now
            if tokens >= 1.0:
                self._tokens[account] = tokens - 1.0
                return None
            self._tokens[account] = tokens
            self.refused += 1
        wait = (1.0 - tokens) / rate
        retry_after: float = math.ceil(wait) if self.whole_seconds else round(wait + 0.005, 2)
        per_minute = f"{self.per_minute:g}"
        return {
            "title": "Request was throttled",
            "detail": (
                "Request was throttled. Your rate limit for creating predictions is reduced to "
                f"{per_minute} requests per minute with a burst of {self.burst} requests while "
                "you have less than $5.0 in credit. Your rate limit resets in "
                f"~{math.ceil(wait)}s."
            ),
            "status": 429,
            "retry_after": retry_after,
        }
