"""Calls that survive: rate limits, server errors, resets, slow and stuck predictions, Ctrl-C.

Every fault is injected by the fake Replicate API; the assertions are on what it received and
on what is still running on it.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from replicate_eval.providers.replicate.limits import CreationPacer, PollBudget, stated_interval
from replicate_eval.providers.replicate.predictions import poll_delay
from tests.conftest import RunConfig, reval_env, start_reval
from tests.fake_replicate import FakeReplicate, Reply, tokens

CREATE = "/v1/models/meta/llama/predictions"
ONE = {"prompts": ["hi"], "providers": ["replicate:meta/llama"]}
THROTTLED = {
    "title": "Request was throttled",
    "detail": "Request was throttled. Your rate limit resets in ~1s.",
    "status": 429,
}


def cases(n: int) -> dict[str, Any]:
    """N tests (n = 0, 1, ...): N distinct predictions."""
    return {
        "prompts": ["case <<n>>"],
        "providers": ["replicate:meta/llama"],
        "tests": [{"vars": {"n": i}} for i in range(n)],
    }


def creates(fake: FakeReplicate) -> list[float]:
    return [r.at for r in fake.received("POST", CREATE)]


# --- rate limits -----------------------------------------------------------------------------
def test_a_429_waits_retry_after_from_the_body_then_succeeds(
    llama: FakeReplicate, run_config: RunConfig
) -> None:
    llama.fail_next(
        "POST", CREATE, 429, {**THROTTLED, "retry_after": 0.4}, headers={"Retry-After": "3"}
    )
    run = run_config(ONE)
    assert run.result.exit_code == 0, run.cells
    first, second = creates(llama)
    assert 0.4 <= second - first < 2.5  # the body's retry_after, not the header's 3 s
    assert run.json["totals"]["throttled"] == 1
    assert "1 rate-limited requests retried" in run.result.stdout


def test_a_429_without_a_body_value_waits_the_retry_after_header(
    llama: FakeReplicate, run_config: RunConfig
) -> None:
    llama.fail_next("POST", CREATE, 429, THROTTLED, headers={"Retry-After": "1"})
    run = run_config(ONE)
    assert run.result.exit_code == 0
    first, second = creates(llama)
    assert second - first >= 1.0


def test_a_throttled_account_finishes_every_case_without_errors(
    llama: FakeReplicate, run_config: RunConfig
) -> None:
    """30 cases, all at once, against 600 creations a minute with a burst of 1 (whole-second
    retry_after, as Replicate sends it): the shared pacer spaces them out instead of failing."""
    throttle = llama.limit_creations(per_minute=600, burst=1)
    run = run_config(cases(30), "-j", "30")
    totals = run.json["totals"]
    assert (totals["cells"], totals["passed"], totals["errors"]) == (30, 30, 0)
    assert totals["predictions"] == 30
    # The first wave of 429s teaches the pacer the rate; after that it does not herd.
    assert throttle.refused == totals["throttled"] < 60
    starts = sorted(creates(llama))
    assert starts[-1] - starts[0] >= 29 * 0.1 * 0.9


def test_rate_limit_waits_are_bounded_by_max_retry_wait(
    llama: FakeReplicate, run_config: RunConfig
) -> None:
    llama.fail_next("POST", CREATE, 429, {**THROTTLED, "retry_after": 0.3}, times=10)
    run = run_config(ONE, "--max-retry-wait", "0.5")
    [cell] = run.cells
    assert cell["status"] == "error"
    assert "Replicate answered 429 Request was throttled" in cell["error"]
    assert "--max-retry-wait is 0.5 s" in cell["error"]
    assert len(creates(llama)) == 2


def test_the_pacer_learns_the_rate_a_429_names() -> None:
    assert stated_interval("reduced to 6 requests per minute with a burst of 1") == 10.0
    assert stated_interval("at most 2 requests per second") == 0.5
    assert stated_interval("slow down") is None
    now = [100.0]
    pacer = CreationPacer(clock=lambda: now[0])
    pacer.throttled_for(5, "reduced to 6 requests per minute with a burst of 1")
    assert pacer.interval == 10.0
    for _ in range(CreationPacer.SPEED_UP_AFTER):
        pacer.succeeded()
    assert pacer.interval == 5.0  # speeds up again after successes
    now[0] = 200.0  # a later 429, not one of the first burst
    pacer.throttled_for(1, "no rate in these words")
    assert pacer.interval == 10.0  # backs off again: doubles when the words name no rate


def test_a_burst_of_429s_backs_off_once() -> None:
    """Requests sent together get their 429s together: that is one signal, not eight."""
    now = [0.0]
    pacer = CreationPacer(clock=lambda: now[0])
    for _ in range(8):
        pacer.throttled_for(1.0, "Your rate limit resets in ~1s.")
    assert pacer.interval == 0.5
    now[0] = 2.0
    pacer.throttled_for(1.0)
    assert pacer.interval == 1.0


def test_one_poll_budget_paces_every_poll_of_the_run() -> None:
    async def forty_polls() -> float:
        budget = PollBudget(rate=100)
        started = time.monotonic()
        await asyncio.gather(*(budget.acquire() for _ in range(40)))
        return time.monotonic() - started

    assert asyncio.run(forty_polls()) >= 0.38


# --- server errors and resets ----------------------------------------------------------------
@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_are_retried_with_backoff(
    llama: FakeReplicate, run_config: RunConfig, status: int
) -> None:
    llama.fail_next("POST", CREATE, status, {"title": "oops", "status": status}, times=2)
    run = run_config(ONE, "--retries", "2")
    assert run.result.exit_code == 0, run.cells
    first, second, third = creates(llama)
    assert second - first >= 0.25 and third - second >= 0.5  # growing waits


def test_the_last_server_error_is_reported_when_retries_run_out(
    llama: FakeReplicate, run_config: RunConfig
) -> None:
    body = {"title": "Bad Gateway", "detail": "upstream hiccup", "status": 502}
    llama.fail_next("POST", CREATE, 502, body, times=5)
    run = run_config(ONE, "--retries", "1")
    assert run.cells[0]["error"] == "Replicate answered 502 Bad Gateway: upstream hiccup"
    assert len(creates(llama)) == 2


def test_a_reset_after_the_prediction_was_created_follows_it_instead_of_paying_twice(
    fake_replicate: FakeReplicate, run_config: RunConfig
) -> None:
    fake_replicate.add_model(
        "meta/llama", lambda i: Reply(tokens("done"), processing=0.5), official=True
    )
    fake_replicate.fail_next("POST", CREATE, 0, after=True)  # created, then the line drops
    run = run_config(ONE)
    assert run.result.exit_code == 0, run.cells
    [prediction] = fake_replicate.predictions.values()
    assert run.cells[0]["prediction_id"] == prediction.id
    assert run.cells[0]["output"] == "done"
    assert len(creates(fake_replicate)) == 1
    assert fake_replicate.received("GET", "/v1/predictions")  # looked for in the list
    totals = run.json["totals"]
    assert (totals["ambiguous_creates"], totals["ambiguous_followed"]) == (1, 1)
    assert fake_replicate.running() == []


def test_connection_resets_are_retried_on_create_and_on_poll(
    fake_replicate: FakeReplicate, run_config: RunConfig
) -> None:
    fake_replicate.add_model(
        "meta/llama", lambda i: Reply(tokens("done"), processing=0.5), official=True
    )
    fake_replicate.fail_next("POST", CREATE, 0)
    fake_replicate.fail_next("GET", "^/v1/predictions/", 0)
    run = run_config(ONE)
    assert run.result.exit_code == 0, run.cells
    assert len(creates(fake_replicate)) == 2
    assert run.cells[0]["output"] == "done"


def test_failed_predictions_are_not_retried_unless_asked(
    fake_replicate: FakeReplicate, run_config: RunConfig
) -> None:
    attempts = itertools.count(1)

    def flaky(model_input: dict[str, Any]) -> Reply:
        if next(attempts) < 3:
            return Reply(error="CUDA out of memory")
        return Reply(tokens("fine"))

    fake_replicate.add_model("meta/llama", flaky, official=True)
    run = run_config(ONE)
    assert run.cells[0]["error"] == "prediction failed: CUDA out of memory"
    assert len(creates(fake_replicate)) == 1
    run = run_config(ONE, "--retry-failed", "--retries", "2", "--no-cache")
    assert run.cells[0]["status"] == "passed"
    assert len(creates(fake_replicate)) == 3


def test_polling_that_gives_up_cancels_the_prediction(
    fake_replicate: FakeReplicate, run_config: RunConfig
) -> None:
    fake_replicate.add_model(
        "meta/llama", lambda i: Reply(tokens("late"), processing=30.0), official=True
    )
    fake_replicate.fail_next("GET", "^/v1/predictions/", 500, {"status": 500}, times=10)
    run = run_config(ONE, "--retries", "1")
    assert run.cells[0]["status"] == "error"
    assert "Replicate answered 500" in run.cells[0]["error"]
    assert fake_replicate.running() == []


def test_a_throttled_poll_waits_and_goes_on(
    fake_replicate: FakeReplicate, run_config: RunConfig
) -> None:
    fake_replicate.add_model(
        "meta/llama", lambda i: Reply(tokens("ok"), processing=0.5), official=True
    )
    # More 429s than the SDK's own GET retries: reval waits them out too.
    body = {**THROTTLED, "retry_after": 0.2}
    fake_replicate.fail_next(
        "GET", "^/v1/predictions/", 429, body, headers={"Retry-After": "0"}, times=12
    )
    run = run_config(ONE)
    assert run.result.exit_code == 0, run.cells


def test_time_spent_throttled_does_not_count_against_the_timeout(
    llama: FakeReplicate, run_config: RunConfig
) -> None:
    llama.limit_creations(per_minute=60, burst=1)
    run = run_config(cases(3), "-j", "3", "--timeout", "1")
    assert [cell["status"] for cell in run.cells] == ["passed"] * 3, run.cells
    assert run.json["totals"]["throttled"] >= 2


# --- slow and stuck predictions --------------------------------------------------------------
def test_predictions_longer_than_the_wait_are_polled_sparingly(
    fake_replicate: FakeReplicate, run_config: RunConfig
) -> None:
    fake_replicate.add_model(
        "meta/llama", lambda i: Reply(tokens("slow"), processing=1.5), official=True
    )
    run = run_config(ONE)
    assert run.result.exit_code == 0
    polls = [r for r in fake_replicate.received("GET") if r.path.startswith("/v1/predictions/")]
    assert 3 <= len(polls) <= 15
    assert run.json["totals"]["polls"] == len(polls)
    # Seen finished soon after it finished: the lag is a fraction of its age.
    finished = polls[-1].at - fake_replicate.received("POST", CREATE)[0].at
    assert finished < 1.5 * 1.3


@pytest.mark.parametrize("where", ["flag", "provider"])
def test_a_timeout_cancels_the_prediction_through_the_api(
    fake_replicate: FakeReplicate, run_config: RunConfig, where: str
) -> None:
    fake_replicate.add_model(
        "meta/llama", lambda i: Reply(tokens("never"), processing=float("inf")), official=True
    )
    if where == "flag":
        run = run_config(ONE, "--timeout", "1")
    else:
        run = run_config(
            {"prompts": ["hi"], "providers": [{"id": "replicate:meta/llama", "timeout": 1}]}
        )
    [cell] = run.cells
    assert cell["error"] == "timed out after 1 s; reval canceled the prediction"
    [prediction] = fake_replicate.predictions.values()
    assert prediction.status() == "canceled"
    assert fake_replicate.received("POST", f"/v1/predictions/{prediction.id}/cancel")
    assert "timeout" not in prediction.input  # reval's option, not a model input
    assert fake_replicate.running() == []


# --- Ctrl-C ----------------------------------------------------------------------------------
def slow_when_asked(model_input: dict[str, Any]) -> Reply:
    slow = "slow" in str(model_input.get("prompt"))
    return Reply(tokens("ok"), processing=60.0 if slow else 0.0)


@pytest.fixture
def interrupt_run(
    write_config: Callable[..., Path], tmp_path: Path
) -> Iterator[Callable[..., tuple[subprocess.Popen[str], Path]]]:
    """Start `reval run` as a real process; the test sends it SIGINT."""
    started: list[subprocess.Popen[str]] = []

    def start(fake: FakeReplicate, *args: str) -> tuple[subprocess.Popen[str], Path]:
        config = write_config(
            {
                "prompts": ["<<speed>> <<n>>"],
                "providers": ["replicate:meta/llama"],
                "tests": [{"vars": {"speed": "fast", "n": n}} for n in range(2)]
                + [{"vars": {"speed": "slow", "n": n}} for n in range(4)],
            }
        )
        out = tmp_path / "results.json"
        process = start_reval(
            "run",
            config,
            "-o",
            out,
            "-j",
            "3",
            "--no-progress",
            *args,
            env=reval_env(fake),
            cwd=tmp_path,
        )
        started.append(process)
        return process, out

    yield start
    for process in started:
        process.kill()


def wait_for(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)


@pytest.mark.parametrize(
    "hold", [60.0, 0.2], ids=["during-create (ids unknown)", "while-polling (ids known)"]
)
def test_ctrl_c_cancels_everything_and_keeps_the_finished_results(
    interrupt_run: Callable[..., tuple[subprocess.Popen[str], Path]], hold: float
) -> None:
    with FakeReplicate(hold_cap=hold) as fake:
        fake.add_model("meta/llama", slow_when_asked, official=True)
        process, out = interrupt_run(fake)
        wait_for(lambda: len(fake.running()) == 3)
        time.sleep(0.3)
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=30)
        assert process.returncode == 130, stderr
        assert "Interrupted: canceling running predictions" in stderr
        assert fake.running() == []  # nothing reval started is left running
        assert all(p.status() in ("succeeded", "canceled") for p in fake.predictions.values())
        data = json.loads(out.read_text())
        assert data["complete"] is False
        assert data["totals"]["planned"] == 6
        assert [c["vars"]["speed"] for c in data["cells"]] == ["fast", "fast"]
        assert "Interrupted: 4 of 6 cells did not run" in stdout
        assert "2 passed, 0 failed, 0 errors (100% pass rate)" in stdout  # of the cells run
        # Running it again makes only the predictions that are missing.
        fake.models["meta/llama"].behaviour = lambda i: Reply(tokens("ok"))
        before = len(fake.predictions)
        process, out = interrupt_run(fake)
        process.communicate(timeout=30)
        assert process.returncode == 0
        totals = json.loads(out.read_text())["totals"]
        assert (totals["cached"], totals["predictions"]) == (2, 4)
        assert len(fake.predictions) == before + 4
        assert fake.contract_violations == []


def test_a_killed_run_leaves_replicate_to_cancel_at_the_deadline(
    interrupt_run: Callable[..., tuple[subprocess.Popen[str], Path]],
) -> None:
    """SIGKILL gives reval no chance to cancel anything: the Cancel-After header it sent with
    each create makes Replicate cancel them at the timeout; nothing runs past it."""
    with FakeReplicate(hold_cap=60.0) as fake:
        fake.add_model("meta/llama", slow_when_asked, official=True)
        process, _ = interrupt_run(fake, "--timeout", "5")
        wait_for(lambda: len(fake.running()) == 3)
        process.kill()
        process.communicate(timeout=10)
        running = fake.running()
        assert len(running) == 3  # reval could not cancel them
        assert all(p.cancel_after == "5s" for p in running)
        assert all(p.deadline == pytest.approx(p.created + 5) for p in running)
        wait_for(lambda: fake.running() == [], timeout=10)
        assert time.time() >= max(p.created + 5 for p in running)  # not before the deadline
        assert all(p.status() == "canceled" and p.canceled_at is None for p in running)
        assert not [r for r in fake.received("POST") if r.path.endswith("/cancel")]
        assert fake.contract_violations == []


def test_a_second_ctrl_c_exits_at_once(
    interrupt_run: Callable[..., tuple[subprocess.Popen[str], Path]],
) -> None:
    with FakeReplicate(hold_cap=60.0) as fake:
        fake.add_model("meta/llama", slow_when_asked, official=True)
        fake.stall_next("GET", "^/v1/predictions$", 30.0)  # the clean-up hangs
        process, out = interrupt_run(fake)
        wait_for(lambda: len(fake.running()) == 3)
        process.send_signal(signal.SIGINT)
        wait_for(lambda: bool(fake.received("GET", "/v1/predictions")))
        process.send_signal(signal.SIGINT)
        started = time.monotonic()
        _, stderr = process.communicate(timeout=10)
        assert process.returncode == 130
        assert time.monotonic() - started < 5
        assert "Interrupted again: exiting now." in stderr
        assert not out.exists()


def test_polls_follow_the_age_and_then_the_models_usual_duration() -> None:
    # Without history: a seventh of the age, between 0.1 s and 5 s.
    assert [round(poll_delay(age), 2) for age in (0.0, 1.4, 7.0, 100.0)] == [0.1, 0.2, 1.0, 5.0]
    # With recent predictions taking 2.5 s: nothing until then, then quick polls.
    assert poll_delay(1.0, expected=2.5) == pytest.approx(1.52)
    assert poll_delay(2.55, expected=2.5) == 0.1
    assert poll_delay(40.0, expected=2.5) == 5.0
