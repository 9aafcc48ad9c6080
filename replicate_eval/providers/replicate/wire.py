"""Replicate's spellings of times and durations, read and written."""

from __future__ import annotations

import math
import re
from datetime import datetime, timezone

_FRACTION = re.compile(r"(\.\d{6})\d+")


def parse_time(value: str | None) -> datetime | None:
    """An ISO 8601 time as Replicate writes it (``…34.765994Z``), in UTC; None if unreadable.

    Python 3.10's ``fromisoformat`` reads neither ``Z`` nor more than six decimals.
    """
    if not value:
        return None
    text = _FRACTION.sub(r"\1", value.strip()).replace("Z", "+00:00")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


# Replicate's minimum for Cancel-After (replicate-openapi.yaml, parameters_cancel_after_header).
SHORTEST_CANCEL_AFTER = 5


def cancel_after_header(seconds: float) -> str:
    """A ``Cancel-After`` value: whole seconds rounded up, as ``45s``, ``5m``, ``1h30m45s``.

    Under Replicate's minimum of 5 s it is the minimum: the server-side deadline only backs up
    reval's own cancel, which still comes at the timeout asked for.
    """
    left = max(SHORTEST_CANCEL_AFTER, math.ceil(seconds))
    hours, left = divmod(left, 3600)
    minutes, secs = divmod(left, 60)
    parts = [(hours, "h"), (minutes, "m"), (secs, "s")]
    return "".join(f"{amount}{unit}" for amount, unit in parts if amount)
