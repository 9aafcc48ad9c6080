"""The fake's prediction endpoints: create (by version, model or deployment), get, list, cancel.

Creation follows Replicate: the account's rate limit (429), input validation (422 with
``invalid_fields``), ``Prefer: wait`` holds (201 when done, 202 when still running), and
``Cancel-After`` deadlines.
"""

from __future__ import annotations

import math
import re
import threading
import time
from dataclasses import replace
from urllib.parse import parse_qs

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
        reply = model.behaviour(model_input)
        with self._lock:
            reply = replace(reply, output=publish(reply.output, self.url, self.files))
        created = time.time()
        deadline = _deadline(request.headers.get("cancel-after"), created)
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
        """Newest first, ``created_after`` honoured, pages of 100 with a ``next`` cursor."""
        query = parse_qs(request.query)
        after = query.get("created_after", [""])[0]
        offset = int(query.get("cursor", ["0"])[0] or 0)
        with self._lock:
            predictions = sorted(self.predictions.values(), key=lambda p: -p.created)
        bodies = [p.to_json(self.url) for p in predictions]
        if after:
            bodies = [b for b in bodies if b["created_at"] >= after]
        page = bodies[offset : offset + 100]
        more = offset + 100 < len(bodies)
        base = f"{self.url}/v1/predictions?"
        if after:
            base += f"created_after={after}&"
        return Answer(
            200,
            {
                "previous": None,
                "next": f"{base}cursor={offset + 100}" if more else None,
                "results": page,
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


def _deadline(cancel_after: str | None, created: float) -> float | None:
    """`Cancel-After: 1h30m45s` (or plain seconds) as an absolute time."""
    if not cancel_after:
        return None
    seconds = 0.0
    for amount, unit in re.findall(r"(\d+(?:\.\d+)?)([hms]?)", cancel_after):
        seconds += float(amount) * {"h": 3600, "m": 60, "s": 1, "": 1}[unit]
    return created + seconds
