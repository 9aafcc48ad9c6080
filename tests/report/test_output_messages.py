"""Messages about outputs that are not images describe them in words and JSON, never with a
Python repr (`<object at 0x...>`, `['a']`, `b'...'`)."""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import replicate
from replicate.helpers import FileOutput

from replicate_eval.providers.outputs import describe_output
from tests.conftest import RunConfig
from tests.fake_replicate import FakeReplicate, File, Reply, sdxl_schema

URL = "https://replicate.delivery/pbxt/abc/out-0.png"
PROVIDER = "`replicate:image:acme/odd` returned"
# What Python, not JSON, would print: single-quoted strings, None/True, reprs, bytes.
PYTHON_REPR = re.compile(
    r"'[^']*'|\bNone\b|\bTrue\b|\bFalse\b|<[^>]* at 0x|\bb'|\b(dict|list) output"
)


@pytest.mark.parametrize(
    ("output", "message"),
    [
        (
            {"image": URL},
            f'{PROVIDER} an object with the key "image": {{"image": "{URL}"}}, not image files; '
            f'it holds a file URL ("{URL}") a level down, but reval reads an image model\'s '
            "output only as a URL or a list of URLs",
        ),
        (
            [[URL, URL]],
            f'{PROVIDER} a list of 1 item: [["{URL}", "{URL}"]], not image files; it holds 2 '
            f'file URLs ("{URL}") a level down',
        ),
        ({"images": [{"url": URL}], "seed": 7}, f'{PROVIDER} an object with the keys "images", '),
        ([None], f"{PROVIDER} a list of 1 item: [null], not image files"),
        ([1, 2], f"{PROVIDER} a list of 2 items: [1, 2], not image files"),
        ([URL, 5], f'{PROVIDER} a list of 2 items: ["{URL}", 5], not image files'),
        (42, f"{PROVIDER} a number (42), not image files"),
        (2.5, f"{PROVIDER} a number (2.5), not image files"),
        (True, f"{PROVIDER} a boolean (true), not image files"),
        ({}, f"{PROVIDER} an empty object, not image files"),
        ("it's a cat", f'{PROVIDER} text ("it\'s a cat"), not image files; for text models'),
    ],
    ids=[
        "url-in-object",
        "nested-list",
        "object-in-list-in-object",
        "list-of-null",
        "list-of-numbers",
        "url-and-number",
        "int",
        "float",
        "bool",
        "empty-object",
        "text-with-quote",
    ],
)
def test_outputs_that_are_not_images_are_described_in_json(
    fake_replicate: FakeReplicate, run_config: RunConfig, output: Any, message: str
) -> None:
    fake_replicate.add_model(
        "acme/odd", lambda i: Reply(output=output), official=True, openapi_schema=sdxl_schema()
    )
    run = run_config({"prompts": ["x"], "providers": ["replicate:image:acme/odd"]})
    [cell] = run.cells
    assert cell["status"] == "error"
    assert cell["error"].startswith(message), cell["error"]
    described = cell["error"].removeprefix(PROVIDER)
    assert not PYTHON_REPR.search(described.replace("it's", "")), cell["error"]


def test_a_file_that_pillow_cannot_read_is_described_without_a_repr(
    fake_replicate: FakeReplicate, run_config: RunConfig
) -> None:
    junk = File(b"not really a png", "image/png")
    fake_replicate.add_model(
        "acme/odd", lambda i: Reply(output=[junk]), official=True, openapi_schema=sdxl_schema()
    )
    run = run_config({"prompts": ["x"], "providers": ["replicate:image:acme/odd"]})
    [cell] = run.cells
    assert cell["error"].endswith(
        "was served as `image/png` but is not a readable image "
        "(Pillow recognises no image format in its 16 bytes)"
    )
    assert "0x" not in cell["error"]


class Opaque:
    pass


@pytest.mark.parametrize(
    ("output", "described"),
    [
        (None, "no output"),
        (b"\x89PNG\r\n", "6 bytes of binary data"),
        (
            FileOutput(URL, replicate.Client(api_token="unused")),
            f'a file output at "{URL}"',
        ),
        (
            [FileOutput(URL, replicate.Client(api_token="unused")), b"ab", Opaque()],
            f'a list of 3 items: ["{URL}", "(2 bytes)", "(an object of type Opaque)"]',
        ),
        ({"image": Opaque(), 1: None}, 'an object with the keys "image", "1": '),
        (Opaque(), "an object of type Opaque"),
        ([], "an empty list"),
        ("line one\nline\ttwo", 'text ("line one line two")'),
        ("x" * 300, 'text ("' + "x" * 118 + "…)"),  # cut to 120 characters
    ],
)
def test_describe_output_for_what_the_sdk_can_hand_over(output: Any, described: str) -> None:
    text = describe_output(output)
    assert text.startswith(described), text
    assert "0x" not in text and "b'" not in text and "None" not in text


class _CogThat422s(BaseHTTPRequestHandler):
    """A Cog server's answer to input it cannot validate, in the shape of FastAPI's 422 (a
    pydantic `detail` list) and with no prediction `status`."""

    def do_GET(self) -> None:
        self._json(200, {"status": "READY"})

    def do_PUT(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        detail = [{"loc": ["body", "input", "text"], "msg": "field required", "type": "missing"}]
        self._json(422, {"detail": detail})

    def _json(self, status: int, body: Any) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_a_cog_servers_refusal_is_quoted_as_json(run_config: RunConfig) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _CogThat422s)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        run = run_config({"prompts": ["hi"], "providers": [f"cog:{url}"]})
    finally:
        server.shutdown()
        server.server_close()
    [cell] = run.cells
    assert cell["error"] == (
        'the Cog server answered 422: {"detail": [{"loc": ["body", "input", "text"], '
        '"msg": "field required", "type": "missing"}]}'
    )
