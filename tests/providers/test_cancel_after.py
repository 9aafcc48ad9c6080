"""Replicate cancels a timed-out prediction itself: reval sends the timeout as Cancel-After.

reval cancels a prediction that outlives ``--timeout`` (or a provider's ``timeout``); the
header makes Replicate do it too, so a reval process that is killed leaves nothing running.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest

from replicate_eval.providers.replicate.wire import cancel_after_header, parse_time
from tests.conftest import RunConfig
from tests.fake_replicate import FakeReplicate, Reply, tokens

CREATE = "/v1/models/meta/llama/predictions"
ONE = {"prompts": ["hi"], "providers": ["replicate:meta/llama"]}


@pytest.mark.parametrize(
    ("seconds", "header"),
    [
        (0.2, "5s"),
        (5, "5s"),
        (7.2, "8s"),
        (90, "1m30s"),
        (300, "5m"),
        (3600, "1h"),
        (5445, "1h30m45s"),
    ],
)
def test_the_header_is_whole_seconds_rounded_up_and_at_least_five(
    seconds: float, header: str
) -> None:
    assert cancel_after_header(seconds) == header


@pytest.mark.parametrize(
    ("args", "provider_timeout", "header"),
    [(("--timeout", "90"), None, "1m30s"), ((), "7.5", "8s"), (("--timeout", "1"), None, "5s")],
)
def test_a_timeout_is_sent_as_cancel_after(
    fake_replicate: FakeReplicate,
    run_config: RunConfig,
    args: tuple[str, ...],
    provider_timeout: str | None,
    header: str,
) -> None:
    fake_replicate.add_model("meta/llama", official=True)
    config: dict[str, Any] = ONE
    if provider_timeout:
        provider = {"id": "replicate:meta/llama", "timeout": float(provider_timeout)}
        config = {**ONE, "providers": [provider]}
    run = run_config(config, *args)
    assert run.result.exit_code == 0, run.cells
    [create] = fake_replicate.received("POST", CREATE)
    assert create.headers["cancel-after"] == header
    [prediction] = fake_replicate.predictions.values()
    assert prediction.cancel_after == header


def test_without_a_timeout_no_deadline_is_sent(
    fake_replicate: FakeReplicate, run_config: RunConfig
) -> None:
    fake_replicate.add_model("meta/llama", official=True)
    run = run_config(ONE)
    assert run.result.exit_code == 0
    [create] = fake_replicate.received("POST", CREATE)
    assert "cancel-after" not in create.headers
    # Only the create carries it, not the polls or the look-ups.
    assert all("cancel-after" not in r.headers for r in fake_replicate.received())


def test_reval_still_cancels_at_a_timeout_shorter_than_the_minimum(
    fake_replicate: FakeReplicate, run_config: RunConfig
) -> None:
    fake_replicate.add_model(
        "meta/llama", lambda i: Reply(tokens("never"), processing=float("inf")), official=True
    )
    run = run_config(ONE, "--timeout", "1")
    [cell] = run.cells
    assert cell["error"] == "timed out after 1 s; reval canceled the prediction"
    [prediction] = fake_replicate.predictions.values()
    assert prediction.cancel_after == "5s"
    assert prediction.canceled_at is not None
    assert prediction.canceled_at - prediction.created < 2.5  # reval's cancel, not the deadline


def test_replicate_times_are_read_in_every_spelling_it_uses() -> None:
    # Python 3.10's fromisoformat reads neither `Z` nor seven decimals (the document's example).
    assert parse_time("2023-09-08T16:19:34.765994Z") == datetime(
        2023, 9, 8, 16, 19, 34, 765994, tzinfo=timezone.utc
    )
    assert parse_time("2025-01-01T00:00:00.0000000+00:00") == datetime(
        2025, 1, 1, tzinfo=timezone.utc
    )
    assert parse_time("not a time") is None
    assert parse_time(None) is None
