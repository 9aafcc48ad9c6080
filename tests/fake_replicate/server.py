"""The fake Replicate API: a real HTTP server on 127.0.0.1 that the SDK reaches over a socket.

Point the SDK at it with ``REPLICATE_BASE_URL`` (or ``base_url``). It speaks the parts of the
official API that reval uses, the way the OpenAPI document and the reference notes describe:
bearer-token auth with a 401 problem body, ``Prefer: wait`` holds, prediction lifecycles with
polling and cancel, problem-details errors, scripted faults (429 with ``retry_after``,
5xx...), and output files served at ``/files/`` as replicate.delivery serves them (files.py).
Every request is recorded for tests to assert on, and every body is checked against the
OpenAPI document (see contract.py).
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from tests.fake_replicate import contract
from tests.fake_replicate.catalogue import CatalogueEndpoints
from tests.fake_replicate.exchange import NOT_FOUND, Answer, RecordedRequest
from tests.fake_replicate.files import File
from tests.fake_replicate.models import (
    Behaviour,
    FakeModel,
    echo,
    version_id,
)
from tests.fake_replicate.prediction_endpoints import PredictionEndpoints
from tests.fake_replicate.predictions import TERMINAL, FakePrediction
from tests.fake_replicate.throttle import Throttle

DEFAULT_TOKEN = "r8_fake_token_for_tests_0123456789abcdef"
UNAUTHENTICATED = {
    "title": "Unauthenticated",
    "detail": "You did not pass a valid authentication token",
    "status": 401,
}


@dataclass
class Fault:
    """A scripted answer to the next matching request(s), before normal handling.

    Status 0 answers nothing: the connection is reset, as by a failing load balancer.
    """

    method: str
    path: re.Pattern[str]
    status: int | None  # None: after the delay, answer as usual
    body: Any
    headers: dict[str, str]
    times: int
    delay: float = 0.0  # seconds to stall before answering
    # Handle the request as usual first, then stall and answer (a reset, or a slow answer,
    # after the work was done: the prediction exists though the client never hears of it).
    after: bool = False


Route = tuple[str, re.Pattern[str], str, Callable[..., Answer]]


class FakeReplicate(CatalogueEndpoints, PredictionEndpoints):
    def __init__(
        self,
        *,
        tokens: tuple[str, ...] = (DEFAULT_TOKEN,),
        hold_cap: float = 60.0,
        check_contract: bool = True,
    ):
        self.tokens = set(tokens)
        # The benchmark turns the OpenAPI checks off: they cost more CPU than serving.
        self.check_contract = check_contract
        self.token = tokens[0]
        # The longest a `Prefer: wait` request is held (Replicate: 60 s). Tests shorten it to
        # reach the polling path quickly.
        self.hold_cap = hold_cap
        self.models: dict[str, FakeModel] = {}
        self.deployments: dict[str, FakeModel] = {}
        self.predictions: dict[str, FakePrediction] = {}
        self.files: dict[str, File] = {}  # output files by name, served at /files/<name>
        self.throttle: Throttle | None = None  # the creation rate limit, when one is set
        # The prediction list lags: predictions younger than this (seconds) are not in it yet.
        self.list_lag = 0.0
        self.list_page_size = 100  # Replicate's; tests shorten it to see several pages
        # Collections: slug -> (name, description, model slugs)
        self.collections: dict[str, tuple[str, str, list[str]]] = {}
        self.requests: list[RecordedRequest] = []
        self.contract_violations: list[str] = []
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._url: str | None = None
        self._thread: threading.Thread | None = None
        self._routes: list[Route] = [
            ("POST", re.compile(r"^/v1/predictions$"), "/predictions", self._create_by_version),
            ("GET", re.compile(r"^/v1/predictions$"), "/predictions", self._list_predictions),
            (
                "GET",
                re.compile(r"^/v1/predictions/(?P<id>[^/]+)$"),
                "/predictions/{prediction_id}",
                self._get_prediction,
            ),
            (
                "POST",
                re.compile(r"^/v1/predictions/(?P<id>[^/]+)/cancel$"),
                "/predictions/{prediction_id}/cancel",
                self._cancel_prediction,
            ),
            (
                "POST",
                re.compile(r"^/v1/models/(?P<owner>[^/]+)/(?P<name>[^/]+)/predictions$"),
                "/models/{model_owner}/{model_name}/predictions",
                self._create_by_model,
            ),
            (
                "POST",
                re.compile(r"^/v1/deployments/(?P<owner>[^/]+)/(?P<name>[^/]+)/predictions$"),
                "/deployments/{deployment_owner}/{deployment_name}/predictions",
                self._create_by_deployment,
            ),
            ("GET", re.compile(r"^/v1/models$"), "/models", self._list_models),
            ("QUERY", re.compile(r"^/v1/models$"), "", self._search_models),
            (
                "GET",
                re.compile(r"^/v1/collections/(?P<slug>[^/]+)$"),
                "/collections/{collection_slug}",
                self._get_collection,
            ),
            (
                "GET",
                re.compile(r"^/v1/deployments/(?P<owner>[^/]+)/(?P<name>[^/]+)$"),
                "/deployments/{deployment_owner}/{deployment_name}",
                self._get_deployment,
            ),
            (
                "GET",
                re.compile(r"^/v1/models/(?P<owner>[^/]+)/(?P<name>[^/]+)$"),
                "/models/{model_owner}/{model_name}",
                self._get_model,
            ),
            (
                "GET",
                re.compile(
                    r"^/v1/models/(?P<owner>[^/]+)/(?P<name>[^/]+)/versions/(?P<version>[^/]+)$"
                ),
                "/models/{model_owner}/{model_name}/versions/{version_id}",
                self._get_version,
            ),
        ]

    # --- set-up ------------------------------------------------------------------------------
    def add_model(
        self,
        slug: str,
        behaviour: Behaviour = echo,
        *,
        official: bool = False,
        versions: list[str] | None = None,
        **fields: Any,
    ) -> FakeModel:
        owner, name = slug.split("/")
        model = FakeModel(
            owner,
            name,
            behaviour,
            official=official,
            versions=versions or [version_id(slug)],
            **fields,
        )
        self.models[slug] = model
        return model

    def add_deployment(self, slug: str, model: FakeModel) -> None:
        self.deployments[slug] = model

    def limit_creations(
        self, per_minute: float, burst: int = 1, *, whole_seconds: bool = True
    ) -> Throttle:
        """Throttle prediction creation per account as Replicate does (429 + retry_after)."""
        self.throttle = Throttle(per_minute, burst, whole_seconds)
        return self.throttle

    def fail_next(
        self,
        method: str,
        path: str,
        status: int,
        body: Any = None,
        *,
        headers: dict[str, str] | None = None,
        times: int = 1,
        delay: float = 0.0,
        after: bool = False,
    ) -> None:
        """Answer the next ``times`` requests whose path matches the regex ``path`` with this.

        ``status`` 0 resets the connection instead; ``delay`` stalls before answering;
        ``after`` does the request's work first (a prediction is created, then the stall and the
        reset).
        """
        self._faults.append(
            Fault(method, re.compile(path), status, body, headers or {}, times, delay, after)
        )

    def stall_next(
        self, method: str, path: str, seconds: float, *, times: int = 1, after: bool = False
    ) -> None:
        """Hold the next ``times`` matching requests for ``seconds``, then answer as usual.

        ``after``: do the work first and stall the answer (a create whose answer is late).
        """
        self._faults.append(Fault(method, re.compile(path), None, None, {}, times, seconds, after))

    # --- inspection --------------------------------------------------------------------------
    def received(self, method: str | None = None, path: str | None = None) -> list[RecordedRequest]:
        """Recorded requests, optionally filtered by method and exact path."""
        with self._lock:
            return [
                r
                for r in self.requests
                if (method is None or r.method == method) and (path is None or r.path == path)
            ]

    def running(self) -> list[FakePrediction]:
        """Predictions not yet in a terminal status (what is still billing, on Replicate)."""
        with self._lock:
            predictions = list(self.predictions.values())
        return [p for p in predictions if p.status() not in TERMINAL]

    # --- lifecycle ---------------------------------------------------------------------------
    @property
    def url(self) -> str:
        # Kept after stop(): a request already in a handler thread when the fake stops (a
        # client's last prediction list) is answered as a real server finishes its requests.
        assert self._url is not None, "start() the fake first"
        return self._url

    def start(self) -> FakeReplicate:
        contract.load()
        fake = self

        class Handler(_Handler):
            server_fake = fake

        self._server = _Server(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        host, port = self._server.server_address[:2]
        self._url = f"http://{host}:{port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeReplicate:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- request handling --------------------------------------------------------------------
    def handle(self, request: RecordedRequest) -> Answer:
        with self._lock:
            self.requests.append(request)
            fault = self._take_fault(request)
        if fault is not None and not fault.after:
            time.sleep(fault.delay)
            if fault.status is not None:
                return Answer(fault.status, fault.body, fault.headers)
        answer = self._route(request)
        if fault is not None and fault.after:
            time.sleep(fault.delay)
            if fault.status is not None:
                return Answer(fault.status, fault.body, fault.headers)
        return answer

    def _route(self, request: RecordedRequest) -> Answer:
        if request.method == "GET" and request.path.startswith("/files/"):
            return self._get_file(request.path.removeprefix("/files/"))
        if request.token not in self.tokens:
            return Answer(401, UNAUTHENTICATED)
        for method, pattern, template, handler in self._routes:
            match = pattern.match(request.path)
            if match and method == request.method:
                # QUERY /models is only in the OpenAPI 3.1 document: no template to check.
                violations = (
                    contract.request_problems(method, template, request.body)
                    if self.check_contract and template
                    else []
                )
                if violations:
                    self._violate(violations)
                    return Answer(
                        422, {"title": "Invalid request", "detail": violations[0], "status": 422}
                    )
                answer = handler(request, **match.groupdict())
                return Answer(answer.status, answer.body, answer.headers, template or None)
        return Answer(404, NOT_FOUND)

    def check_response(self, method: str, answer: Answer) -> None:
        if answer.template is not None and self.check_contract:
            self._violate(
                contract.response_problems(method, answer.template, answer.status, answer.body)
            )

    def _violate(self, problems: list[str]) -> None:
        with self._lock:
            self.contract_violations.extend(problems)

    def _take_fault(self, request: RecordedRequest) -> Fault | None:
        for fault in self._faults:
            if fault.method == request.method and fault.path.search(request.path):
                fault.times -= 1
                if fault.times <= 0:
                    self._faults.remove(fault)
                return fault
        return None

    # --- endpoints ---------------------------------------------------------------------------
    def _get_file(self, name: str) -> Answer:
        """Delivery URLs need no token, like replicate.delivery."""
        file = self.files.get(name)
        if file is None or file.status == 404:
            return Answer(404, None, {"Content-Type": "text/plain"})
        return Answer(file.status, None, file=file)


class _Server(ThreadingHTTPServer):
    # socketserver's default backlog of 5 refuses bursts of new connections; a real API
    # front end does not.
    request_queue_size = 256


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are written separately
    server_fake: FakeReplicate

    def _serve(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        body: Any = None
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw.decode("utf-8", "replace")
        parts = urlsplit(self.path)
        request = RecordedRequest(
            method=self.command,
            path=parts.path,
            query=parts.query,
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
            at=time.time(),
        )
        fake = self.server_fake
        answer = fake.handle(request)
        if answer.status == 0:
            # A scripted reset: no answer at all, the connection just drops.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\0\0\0\0\0\0\0")
            self.close_connection = True
            return
        fake.check_response(self.command, answer)
        try:
            if answer.file is not None:
                self._send_file(answer.file)
                return
            payload = json.dumps(answer.body).encode() if answer.body is not None else b""
            self.send_response(answer.status)
            if "Content-Type" not in answer.headers:
                problem = answer.status >= 400
                self.send_header(
                    "Content-Type", "application/problem+json" if problem else "application/json"
                )
            self.send_header("Content-Length", str(len(payload)))
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (a refused download, say)

    def _send_file(self, file: File) -> None:
        self.send_response(file.status)
        self.send_header("Content-Type", file.content_type)
        if file.location is not None:
            self.send_header("Location", file.location)
        if not file.chunked:
            self.send_header("Content-Length", str(len(file.data)))
            self.end_headers()
            self.wfile.write(file.data)
            return
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        step = 1 << 20
        for start in range(0, len(file.data), step):
            chunk = file.data[start : start + step]
            self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
        self.wfile.write(b"0\r\n\r\n")

    do_GET = do_POST = do_QUERY = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output quiet
