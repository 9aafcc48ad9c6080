"""The fake's prediction endpoints: create (by version, model or deployment), get, list, cancel.

Creation follows Replicate: the account's rate limit (429), input validation (422 with
``invalid_fields``), ``Prefer: wait`` holds (201 when done, 202 when still running), and
``Cancel-After`` deadlines (checked: a bad or too short one is a 400). The list is newest
first, filtered by ``created_after``/``created_before``, in pages with an opaque ``next``
cursor, and may lag (``list_lag``).
"""

from __future__ import annotations

import base64
import math
import re
import threading
import time
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlencode

from tests.fake_replicate import contract
from tests.fake_replicate.exchange import NOT_FOUND, Answer, RecordedRequest
from tests.fake_replicate.files import File, publish
from tests.fake_replicate.models import FakeModel
from tests.fake_replicate.predictions import TERMINAL, FakePrediction, new_prediction_id
from tests.fake_replicate.throttle import Throttle
from tests.fake_replicate.validation import invalid_fields


class PredictionEndpoints:
    models: dict[str, FakeModel]
    deployments: dict[str, FakeModel]
    predictions: dict[str, FakePrediction]
    files: dict[str, File]
    throttle: Throttle | None
    hold_cap: float
    list_lag: float
    list_page_size: int
    url: str
    _lock: threading.Lock

    def _violate(self, problems: list[str]) -> None:
        raise NotImplementedError

    def _create_by_version(self, request: RecordedRequest) -> Answer:
        version = request.body["version"]
        # The API also accepts `owner/name:version` here.
        version = version.rsplit(":", 1)[-1]
        model = next((m for m in self.models.values() if version in m.versions), None)
        if model is None:
            return Answer(
                422,
                {
                    "title": "Invalid version or not permitted",
                    "detail": "The specified version does not exist (or perhaps you don't have "
                    "permission to use it?)",
                    "status": 422,
                },
            )
        return self._create(request, model, version)

    def _create_by_model(self, request: RecordedRequest, owner: str, name: str) -> Answer:
        model = self.models.get(f"{owner}/{name}")
        if model is None or not model.official:
            return Answer(404, NOT_FOUND)
        return self._create(request, model, "hidden")

    def _create_by_deployment(self, request: RecordedRequest, owner: str, name: str) -> Answer:
        slug = f"{owner}/{name}"
        model = self.deployments.get(slug)
        if model is None:
            return Answer(404, NOT_FOUND)
        return self._create(request, model, model.latest_version or "hidden", deployment=slug)

    def _create(
        self,
        request: RecordedRequest,
        model: FakeModel,
        version: str,
        deployment: str | None = None,
    ) -> Answer:
        if self.throttle is not None:
            refusal = self.throttle.admit(request.token or "")
            if refusal is not None:
                header = str(math.ceil(refusal["retry_after"]))
                return Answer(429, refusal, {"Retry-After": header})
        model_input = request.body.get("input") or {}
        invalid = invalid_fields(model, model_input)
        if invalid:
            detail = "".join(f"- {f['field']}: {f['description']}\n" for f in invalid)
            return Answer(
                422,
                {
                    "title": "Input validation failed",
                    "detail": detail,
                    "status": 422,
                    "invalid_fields": invalid,
                },
            )
        prefer = request.headers.get("prefer")
        problem = contract.prefer_problem(prefer)
        if problem:
            self._violate([problem])
            return Answer(400, {"title": "Bad Request", "detail": problem, "status": 400})
        cancel_after = request.headers.get("cancel-after")
        lifetime = _lifetime(cancel_after)
        if isinstance(lifetime, str):
            self._violate([lifetime])
            return Answer(
                400, {"title": "Invalid Cancel-After header", "detail": lifetime, "status": 400}
            )
        reply = model.behaviour(model_input)
        with self._lock:
            reply = replace(reply, output=publish(reply.output, self.url, self.files))
        created = time.time()
        deadline = created + lifetime if lifetime is not None else None
        if reply.deadline is not None:
            deadline = created + reply.deadline
        prediction = FakePrediction(
            id=new_prediction_id(),
            model=model.slug,
            version=version,
            input=model_input,
            reply=reply,
            created=created,
            deadline=deadline,
            deployment=deployment,
            cancel_after=cancel_after,
        )
        with self._lock:
            self.predictions[prediction.id] = prediction
        if prefer:
            wait = int(prefer.partition("=")[2] or 60)
            self._hold(prediction, min(wait, self.hold_cap))
        done = prediction.status() in TERMINAL
        status = 201 if done or not prefer else 202
        return Answer(status, prediction.to_json(self.url))

    def _hold(self, prediction: FakePrediction, seconds: float) -> None:
        until = time.time() + seconds
        while prediction.status() not in TERMINAL:
            remaining = until - time.time()
            if remaining <= 0:
                return
            prediction.changed.wait(min(remaining, prediction.seconds_until_done() + 0.001))

    def _list_predictions(self, request: RecordedRequest) -> Answer:
        """Newest first; ``created_after`` (inclusive) and ``created_before`` (exclusive)
        honoured; pages of ``list_page_size`` with a ``next`` cursor that stays right while new
        predictions arrive (it names the last one seen, not an offset)."""
        query = {name: values[0] for name, values in parse_qs(request.query).items()}
        bounds: dict[str, int] = {}  # microseconds since the epoch
        for name in ("created_after", "created_before"):
            if name in query:
                moment = _timestamp(query[name])
                if moment is None:
                    detail = f"{name} must be an ISO 8601 date-time, not {query[name]!r}"
                    return Answer(400, {"title": "Bad Request", "detail": detail, "status": 400})
                bounds[name] = moment
        now = time.time()
        with self._lock:
            listed = [p for p in self.predictions.values() if now - p.created >= self.list_lag]
        # Compared as written (to the microsecond, rounded as created_at is): a prediction's own
        # created_at as created_after must find it.
        listed = [
            p
            for p in listed
            if _micros(p.created) >= bounds.get("created_after", -(1 << 62))
            and _micros(p.created) < bounds.get("created_before", 1 << 62)
        ]
        listed.sort(key=lambda p: (p.created, p.id), reverse=True)
        if "cursor" in query:
            last = _cursor_position(query["cursor"])
            listed = [p for p in listed if (p.created, p.id) < last]
        page = listed[: self.list_page_size]
        following = None
        if len(listed) > len(page):
            kept = {k: v for k, v in query.items() if k in ("created_after", "created_before")}
            position = f"{page[-1].created!r} {page[-1].id}".encode()
            kept["cursor"] = base64.urlsafe_b64encode(position).decode()
            following = f"{self.url}/v1/predictions?{urlencode(kept)}"
        return Answer(
            200,
            {
                "previous": None,
                "next": following,
                "results": [p.to_json(self.url, now) for p in page],
            },
        )

    def _get_prediction(self, request: RecordedRequest, id: str) -> Answer:
        prediction = self.predictions.get(id)
        if prediction is None:
            return Answer(404, NOT_FOUND)
        return Answer(200, prediction.to_json(self.url))

    def _cancel_prediction(self, request: RecordedRequest, id: str) -> Answer:
        prediction = self.predictions.get(id)
        if prediction is None:
            return Answer(404, NOT_FOUND)
        prediction.cancel()
        return Answer(200, prediction.to_json(self.url))


# The documented forms: `30` (seconds), `30s`, `5m`, `2h30m`, `1h30m45s`; at least 5 s
# (replicate-openapi.yaml, the Cancel-After header). Which status the API gives a bad value is
# not documented: the fake answers 400, as for a bad `Prefer`.
_DURATION = re.compile(r"^(?:(\d+)|(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?)$")
SHORTEST_CANCEL_AFTER = 5


def _lifetime(cancel_after: str | None) -> float | str | None:
    """A `Cancel-After` value in seconds; a problem (str) when it is malformed or too short."""
    if cancel_after is None:
        return None
    match = _DURATION.match(cancel_after.strip())
    if not match or not cancel_after.strip():
        return f"Cancel-After {cancel_after!r} is not a duration such as 30s, 5m or 1h30m45s"
    bare, hours, minutes, seconds = (int(part) if part else 0 for part in match.groups())
    total = bare + hours * 3600 + minutes * 60 + seconds
    if total < SHORTEST_CANCEL_AFTER:
        return f"Cancel-After {cancel_after!r} is shorter than the minimum of 5 seconds"
    return float(total)


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _timestamp(value: str) -> int | None:
    """An ISO 8601 date-time with its offset (``Z`` too) in whole microseconds; None if it is
    not one. Integers: floats would round a prediction's own created_at away from it."""
    text = re.sub(r"(\.\d{6})\d+", r"\1", value.strip()).replace("Z", "+00:00")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return (moment - _EPOCH) // timedelta(microseconds=1) if moment.tzinfo is not None else None


def _cursor_position(cursor: str) -> tuple[float, str]:
    try:
        created, _, prediction_id = base64.urlsafe_b64decode(cursor).decode().partition(" ")
        return float(created), prediction_id
    except ValueError:
        return (math.inf, "")  # an unreadable cursor starts from the newest


def _micros(moment: float) -> int:
    """A prediction's creation time as its created_at says it, in whole microseconds."""
    return (datetime.fromtimestamp(moment, timezone.utc) - _EPOCH) // timedelta(microseconds=1)
