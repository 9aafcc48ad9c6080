"""Where image downloads may go: a `replicate:` model's files come over https from public
hosts (or from the API's own origin), every redirect is checked before it is followed, and a
refused URL is a cell error that says which URL and why."""

from __future__ import annotations

import asyncio
import ipaddress
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from replicate_eval.providers.download_policy import DownloadPolicy, address_refusal
from replicate_eval.providers.images import DownloadError, ImageStore
from tests.conftest import RunConfig
from tests.fake_replicate import FakeReplicate, Reply, image_file, picture, redirect, sdxl_schema


class Stranger:
    """An HTTP server on this machine that is not the API: it serves a PNG at any path, and
    records what it was asked for (a refused download must ask it nothing)."""

    def __init__(self) -> None:
        paths: list[str] = []
        self.paths = paths

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                paths.append(self.path)
                body = picture("stranger")
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def stranger() -> Iterator[Stranger]:
    server = Stranger()
    yield server
    server.close()


def run_image_model(fake: FakeReplicate, run_config: RunConfig, output: Any) -> dict[str, Any]:
    fake.add_model("acme/painter", lambda i: Reply(output=output), openapi_schema=sdxl_schema())
    run = run_config({"prompts": ["x"], "providers": ["replicate:image:acme/painter"]})
    [cell] = run.cells
    return cell


RULE = "a Replicate model's files are downloaded only over https from public addresses"


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://127.0.0.1:{port}/x.png", "it is not an https URL"),
        ("https://127.0.0.1:{port}/x.png", "127.0.0.1 is a loopback address"),
        ("https://localhost:{port}/x.png", "`localhost` resolves to "),
        ("https://2130706433:{port}/x.png", "`2130706433` resolves to 127.0.0.1, which is a loop"),
        ("https://127.1:{port}/x.png", "`127.1` resolves to 127.0.0.1, which is a loopback"),
        ("https://[::1]:{port}/x.png", "::1 is a loopback address"),
    ],
)
def test_an_output_on_another_local_server_is_refused(
    fake_replicate: FakeReplicate, run_config: RunConfig, stranger: Stranger, url: str, why: str
) -> None:
    url = url.format(port=stranger.port)
    cell = run_image_model(fake_replicate, run_config, [url])
    assert cell["status"] == "error"
    assert cell["error"].startswith(f"refused image {url}: {why}"), cell["error"]
    assert RULE in cell["error"] or "not an https" in cell["error"]
    assert stranger.paths == []  # refused before any request was made


@pytest.mark.parametrize(
    ("location", "why"),
    [
        ("http://127.0.0.1:{port}/x.png", "it is not an https URL"),
        ("https://127.0.0.1:{port}/x.png", "127.0.0.1 is a loopback address"),
        ("http://replicate.delivery/x.png", "it is not an https URL"),
        ("https://[::1]:{port}/x.png", "::1 is a loopback address"),
        ("https://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address"),
        ("https://[::ffff:169.254.169.254]/", "::ffff:169.254.169.254 is 169.254.169.254 inside"),
        ("https://10.1.2.3/x.png", "10.1.2.3 is a private address"),
        ("https://0.0.0.0:{port}/x.png", "0.0.0.0 is the unspecified address"),
    ],
)
def test_a_redirect_away_from_public_https_is_refused(
    fake_replicate: FakeReplicate,
    run_config: RunConfig,
    stranger: Stranger,
    location: str,
    why: str,
) -> None:
    location = location.format(port=stranger.port)
    cell = run_image_model(fake_replicate, run_config, [redirect(location)])
    assert cell["status"] == "error"
    first = cell["error"].split(":", 2)[:2]
    assert cell["error"].startswith(f"refused image {fake_replicate.url}/files/"), first
    assert f": it redirects to {location}, and {why}" in cell["error"], cell["error"]
    assert stranger.paths == []
    # The API's origin was asked once: for the URL the model gave, which answered 302.
    assert len([r for r in fake_replicate.received("GET") if r.path.startswith("/files/")]) == 1


def test_redirects_within_the_apis_origin_are_followed(
    fake_replicate: FakeReplicate, run_config: RunConfig
) -> None:
    image = image_file("moved")
    fake_replicate.files[image.name] = image
    hops = [redirect(f"/files/{image.name}")]  # a relative Location, as RFC 9110 allows
    hops.append(redirect(f"{fake_replicate.url}/files/{hops[-1].name}"))
    for hop in hops:
        fake_replicate.files[hop.name] = hop
    cell = run_image_model(
        fake_replicate, run_config, [f"{fake_replicate.url}/files/{hops[-1].name}"]
    )
    assert cell["status"] == "passed", cell
    assert Path(cell["images"][0]["path"]).read_bytes() == image.data


def test_more_than_five_redirects_is_an_error(
    fake_replicate: FakeReplicate, run_config: RunConfig
) -> None:
    chain = [image_file("far away")]
    for _ in range(6):
        chain.append(redirect(f"{fake_replicate.url}/files/{chain[-1].name}"))
    for file in chain:
        fake_replicate.files[file.name] = file
    cell = run_image_model(
        fake_replicate, run_config, [f"{fake_replicate.url}/files/{chain[-1].name}"]
    )
    assert cell["status"] == "error"
    assert cell["error"].endswith(": more than 5 redirects"), cell["error"]


def test_cog_servers_files_are_fetched_from_anywhere(stranger: Stranger, tmp_path: Path) -> None:
    """The `cog:` provider's rule (no rule): its server is on this machine by design."""
    url = f"http://127.0.0.1:{stranger.port}/out.png"

    async def save(policy: DownloadPolicy) -> str:
        store = ImageStore(tmp_path)
        try:
            [image] = await store.save_all([url], policy=policy)
            return image.source
        except DownloadError as exc:
            return str(exc)
        finally:
            await store.aclose()

    public = DownloadPolicy.public(trusting="https://api.replicate.com")
    assert asyncio.run(save(public)).startswith(f"refused image {url}: it is not an https URL")
    assert stranger.paths == []
    assert asyncio.run(save(DownloadPolicy())) == url
    assert stranger.paths == ["/out.png"]


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "a loopback address"),
        ("127.255.0.1", "a loopback address"),
        ("10.0.0.1", "a private address"),
        ("172.16.5.4", "a private address"),
        ("192.168.1.1", "a private address"),
        ("169.254.169.254", "a link-local address (where cloud metadata services answer)"),
        ("0.0.0.0", "the unspecified address"),
        ("224.0.0.1", "a multicast address"),
        ("240.0.0.1", "a private address"),  # reserved, and in Python's private list
        ("255.255.255.255", "a private address"),
        ("100.64.0.1", "not a public address"),  # carrier-grade NAT (RFC 6598)
        ("::1", "a loopback address"),
        ("::", "the unspecified address"),
        ("fe80::1", "a link-local address (where cloud metadata services answer)"),
        ("fc00::1", "a private address"),
        ("ff02::1", "a multicast address"),
        ("::ffff:127.0.0.1", "127.0.0.1 inside an IPv6 address, a loopback address"),
        ("::ffff:10.0.0.1", "10.0.0.1 inside an IPv6 address, a private address"),
        ("2002:7f00:1::", "127.0.0.1 inside an IPv6 address, a loopback address"),  # 6to4
        (
            "64:ff9b::a9fe:a9fe",
            "169.254.169.254 inside an IPv6 address, a link-local address (where cloud "
            "metadata services answer)",
        ),  # NAT64
        ("8.8.8.8", None),
        ("151.101.1.1", None),
        ("2606:4700:4700::1111", None),
        ("::ffff:8.8.8.8", None),
    ],
)
def test_which_addresses_are_not_public(address: str, kind: str | None) -> None:
    assert address_refusal(ipaddress.ip_address(address)) == kind


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://8.8.8.8/out.png", True),  # public, https: fetched
        ("https://[2606:4700:4700::1111]/out.png", True),
        ("HTTPS://API.REPLICATE.COM:443/files/x.png", True),  # the API's origin, spelled oddly
        ("http://api.replicate.com/files/x.png", False),  # same host, not the same origin
        ("http://127.0.0.1:9000/files/x.png", True),  # a test double's origin
        ("http://127.0.0.1:9001/files/x.png", False),  # the next port is another origin
    ],
)
def test_the_public_policy_on_literal_and_trusted_urls(url: str, allowed: bool) -> None:
    trusting = "http://127.0.0.1:9000" if "127.0.0.1" in url else "https://api.replicate.com"
    policy = DownloadPolicy.public(trusting=trusting)
    refusal = asyncio.run(policy.refusal(url))
    assert (refusal is None) == allowed, refusal
