"""A prediction in the fake: its status, output and timestamps follow from elapsed time."""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from tests.fake_replicate.models import Reply

TERMINAL = frozenset({"succeeded", "failed", "canceled", "aborted"})
_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"


def new_prediction_id() -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(26))


def _iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class FakePrediction:
    id: str
    model: str
    version: str  # a version id, or "hidden" for official models run by name
    input: dict[str, Any]
    reply: Reply
    created: float = field(default_factory=time.time)
    deadline: float | None = None  # from Cancel-After
    deployment: str | None = None
    cancel_after: str | None = None  # the header as sent, for tests to read
    canceled_at: float | None = None
    changed: threading.Event = field(default_factory=threading.Event)

    # --- lifecycle -------------------------------------------------------------------------
    @property
    def started(self) -> float:
        return self.created + self.reply.starting

    @property
    def finished(self) -> float:
        return self.started + self.reply.processing

    def status(self, now: float | None = None) -> str:
        now = time.time() if now is None else now
        if self.deadline is not None and now >= self.deadline and self.canceled_at is None:
            # A deadline before the model started aborts; one while it runs cancels.
            if self.deadline < self.started:
                return "aborted"
            if self.deadline < self.finished:
                return "canceled"
        if self.canceled_at is not None and self.canceled_at < self.finished:
            return "canceled" if self.canceled_at >= self.started else "aborted"
        if now < self.started:
            return "starting"
        if now < self.finished:
            return "processing"
        return "failed" if self.reply.error else "succeeded"

    def seconds_until_done(self, now: float | None = None) -> float:
        now = time.time() if now is None else now
        if self.status(now) in TERMINAL:
            return 0.0
        ends = [self.finished]
        if self.deadline is not None:
            ends.append(self.deadline)
        return max(min(ends) - now, 0.0)

    def cancel(self) -> None:
        if self.status() not in TERMINAL:
            self.canceled_at = time.time()
            self.changed.set()

    # --- rendering -------------------------------------------------------------------------
    def to_json(self, base_url: str, now: float | None = None) -> dict[str, Any]:
        now = time.time() if now is None else now
        status = self.status(now)
        end = self._end_time(status, now)
        body: dict[str, Any] = {
            "id": self.id,
            "model": self.model,
            "version": self.version,
            "input": self.input,
            "logs": self.reply.logs if status != "starting" else "",
            "output": self._output(status, now),
            "data_removed": False,
            "error": self.reply.error if status == "failed" else None,
            "status": status,
            "source": "api",
            "created_at": _iso(self.created),
            "urls": {
                "web": f"https://replicate.com/p/{self.id}",
                "get": f"{base_url}/v1/predictions/{self.id}",
                "cancel": f"{base_url}/v1/predictions/{self.id}/cancel",
            },
            "metrics": self._metrics(status, end),
        }
        if status not in ("starting", "aborted"):
            body["started_at"] = _iso(self.started)
        if end is not None:
            body["completed_at"] = _iso(end)
        if self.deadline is not None:
            body["deadline"] = _iso(self.deadline)
        if self.deployment:
            body["deployment"] = self.deployment
        return body

    def _end_time(self, status: str, now: float) -> float | None:
        if status not in TERMINAL:
            return None
        candidates = [self.finished, now]
        if self.canceled_at is not None:
            candidates.append(self.canceled_at)
        if self.deadline is not None:
            candidates.append(self.deadline)
        return min(candidates)

    def _output(self, status: str, now: float) -> Any:
        output = self.reply.output
        if status in ("starting", "aborted", "failed"):
            return None
        if status == "succeeded" or not isinstance(output, list):
            return output if status == "succeeded" else None
        # processing or canceled: a language model has streamed part of its tokens
        stop = min(now, self.canceled_at or now)
        share = (stop - self.started) / self.reply.processing if self.reply.processing else 1
        return output[: int(len(output) * max(0.0, min(share, 1.0)))]

    def _metrics(self, status: str, end: float | None) -> dict[str, Any]:
        if end is None or status == "aborted":
            return {}
        metrics: dict[str, Any] = {
            "predict_time": round(max(end - self.started, 0.0), 6),
            "total_time": round(end - self.created, 6),
        }
        if isinstance(self.reply.output, list) and status == "succeeded":
            prompt = str(self.input.get("prompt", ""))
            metrics["input_token_count"] = len(prompt.split())
            metrics["output_token_count"] = len(self.reply.output)
        metrics.update(self.reply.metrics)
        return metrics
