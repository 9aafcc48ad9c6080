"""The fake's prediction list and Cancel-After checks behave as Replicate documents them.

replicate-openapi.yaml: the list is newest first, 100 a page with a `next` URL, filtered by
`created_after` (inclusive) and `created_before` (exclusive); Cancel-After takes `30`, `30s`,
`5m`, `1h30m45s`, at least 5 s.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from tests.fake_replicate import FakeReplicate

CREATE = "/v1/models/meta/llama/predictions"


def _auth(fake: FakeReplicate) -> dict[str, str]:
    return {"Authorization": f"Bearer {fake.token}"}


def _create(fake: FakeReplicate, n: int, **headers: str) -> httpx.Response:
    return httpx.post(
        f"{fake.url}{CREATE}", json={"input": {"prompt": f"p{n}"}}, headers=_auth(fake) | headers
    )


def _list(fake: FakeReplicate, url: str) -> dict[str, Any]:
    response = httpx.get(url if url.startswith("http") else fake.url + url, headers=_auth(fake))
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


def _every_page(fake: FakeReplicate, url: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    next_url: str | None = url
    while next_url:
        page = _list(fake, next_url)
        found += page["results"]
        next_url = page["next"]
    return found


def test_the_list_is_newest_first_in_pages_that_new_predictions_do_not_shift(
    llama: FakeReplicate,
) -> None:
    llama.list_page_size = 3
    ids = [_create(llama, n).json()["id"] for n in range(7)]
    first = _list(llama, "/v1/predictions")
    assert [p["id"] for p in first["results"]] == ids[::-1][:3]
    _create(llama, 99)  # arrives while the client pages: the next pages are not shifted
    rest = _every_page(llama, first["next"])
    assert [p["id"] for p in first["results"] + rest] == ids[::-1]
    assert llama.contract_violations == []


def test_the_list_honours_created_after_and_created_before(llama: FakeReplicate) -> None:
    early = _create(llama, 0).json()
    time.sleep(0.02)
    middle = _create(llama, 1).json()
    time.sleep(0.02)
    late = _create(llama, 2).json()
    after = [
        p["id"] for p in _every_page(llama, f"/v1/predictions?created_after={middle['created_at']}")
    ]
    assert after == [late["id"], middle["id"]]  # inclusive
    before = [
        p["id"]
        for p in _every_page(llama, f"/v1/predictions?created_before={middle['created_at']}")
    ]
    assert before == [early["id"]]  # exclusive
    # The document's own example form: seven decimals and an offset (`+` encoded).
    assert _every_page(llama, "/v1/predictions?created_after=2025-01-01T00:00:00.0000000%2B00:00")
    response = httpx.get(
        f"{llama.url}/v1/predictions?created_after=yesterday", headers=_auth(llama)
    )
    assert response.status_code == 400
    assert "created_after" in response.json()["detail"]


def test_the_list_can_lag_behind_creation(llama: FakeReplicate) -> None:
    llama.list_lag = 0.3
    created = _create(llama, 0).json()
    assert _list(llama, "/v1/predictions")["results"] == []
    time.sleep(0.35)
    assert [p["id"] for p in _list(llama, "/v1/predictions")["results"]] == [created["id"]]


@pytest.mark.parametrize(
    ("value", "seconds"), [("30", 30), ("30s", 30), ("5m", 300), ("1h30m45s", 5445), ("2h", 7200)]
)
def test_cancel_after_accepts_the_documented_forms(
    llama: FakeReplicate, value: str, seconds: int
) -> None:
    body = _create(llama, 0, **{"Cancel-After": value}).json()
    prediction = llama.predictions[body["id"]]
    assert prediction.deadline == pytest.approx(prediction.created + seconds)
    assert prediction.cancel_after == value
    assert "deadline" in body


@pytest.mark.parametrize("value", ["4s", "0", "soon", "1.5m", "5 s", "m", "-10s"])
def test_cancel_after_rejects_malformed_or_too_short_values(
    llama: FakeReplicate, value: str
) -> None:
    response = _create(llama, 0, **{"Cancel-After": value})
    assert response.status_code == 400
    problem = response.json()
    assert problem["status"] == 400 and "Cancel-After" in problem["detail"]
    assert response.headers["content-type"] == "application/problem+json"
    assert llama.predictions == {}
    # reval never sends such a value: the fake records it as a violation; accepted here.
    assert llama.contract_violations
    llama.contract_violations.clear()
