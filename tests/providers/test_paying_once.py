"""Paying once: a create request whose fate is unknown is looked for before creating again.

A reset, a read timeout or a 502 after Replicate got the request may leave a prediction behind
that reval has no id for. These tests cut connections and delay answers in the fake the way
networks do, and count what the fake made, what reval followed and what is left running.
"""

from __future__ import annotations

import itertools
import threading
import time
from typing import Any

import httpx

from replicate_eval.report.ci import to_markdown
from replicate_eval.report.table import summary_line
from replicate_eval.results import RunResult
from tests.conftest import RunConfig
from tests.fake_replicate import FakeReplicate, Reply, tokens

CREATE = "/v1/models/meta/llama/predictions"
LIST = "/v1/predictions"


def cases(n: int) -> dict[str, Any]:
    """N tests (n = 0, 1, ...): N distinct predictions."""
    return {
        "prompts": ["case <<n>>"],
        "providers": ["replicate:meta/llama"],
        "tests": [{"vars": {"n": i}} for i in range(n)],
    }


def slow(seconds: float) -> Any:
    return lambda model_input: Reply(tokens("ok"), processing=seconds)


def test_twenty_held_creates_cut_after_creation_make_twenty_predictions(
    fake_replicate: FakeReplicate, run_config: RunConfig
) -> None:
    """Each create is held, the prediction made, then the connection reset: reval finds the
    twenty in the list and follows them; before, it paid for forty and canceled twenty."""
    fake_replicate.add_model("meta/llama", slow(0.5), official=True)
    fake_replicate.fail_next("POST", CREATE, 0, after=True, times=20)
    run = run_config(cases(20), "-j", "20")
    assert [cell["status"] for cell in run.cells] == ["passed"] * 20, run.cells
    assert len(fake_replicate.predictions) == 20
    assert len(fake_replicate.received("POST", CREATE)) == 20
    assert {cell["prediction_id"] for cell in run.cells} == set(fake_replicate.predictions)
    totals = run.json["totals"]
    assert totals["predictions"] == 20
    assert (totals["ambiguous_creates"], totals["ambiguous_followed"]) == (20, 20)
    assert (totals["ambiguous_canceled"], totals["ambiguous_unaccounted"]) == (0, 0)
    assert fake_replicate.running() == []
    assert all(p.canceled_at is None for p in fake_replicate.predictions.values())


def test_cells_with_equal_inputs_never_follow_the_same_prediction(
    fake_replicate: FakeReplicate, run_config: RunConfig
) -> None:
    """--repeat 6: the first create is reset after creation, while the five others (same
    input, created a little later) are still held. Their predictions are in the list, newer
    and unknown; the search waits for their answers and so claims the one left: its own."""
    fake_replicate.hold_cap = 1.0
    fake_replicate.add_model("meta/llama", slow(1.5), official=True)
    fake_replicate.fail_next("POST", CREATE, 0, after=True)
    fake_replicate.stall_next("POST", CREATE, 0.3, times=5)  # created at 0.3 s, held to 1.3 s
    run = run_config(cases(1), "--repeat", "6", "-j", "6")
    assert [cell["status"] for cell in run.cells] == ["passed"] * 6, run.cells
    assert len(fake_replicate.predictions) == 6
    followed = [cell["prediction_id"] for cell in run.cells]
    assert sorted(followed) == sorted(fake_replicate.predictions)  # each one, once
    assert run.json["totals"]["ambiguous_followed"] == 1
    # The search listed only after the five held answers had come back.
    [search] = fake_replicate.received("GET", LIST)
    assert search.at - min(r.at for r in fake_replicate.received("POST", CREATE)) > 1.2
    assert fake_replicate.running() == []


def test_a_prediction_the_list_does_not_show_yet_is_created_again_and_canceled_at_the_end(
    fake_replicate: FakeReplicate, run_config: RunConfig
) -> None:
    calls = itertools.count()

    def first_is_slow(model_input: dict[str, Any]) -> Reply:
        return Reply(tokens("done"), processing=30.0 if next(calls) == 0 else 0.0)

    fake_replicate.add_model("meta/llama", first_is_slow, official=True)
    fake_replicate.list_lag = 0.5  # the first prediction is not listed when reval looks
    fake_replicate.fail_next("POST", CREATE, 0, after=True)
    fake_replicate.stall_next("POST", CREATE, 1.0)  # the run ends after the list caught up
    run = run_config(cases(1))
    assert run.result.exit_code == 0, run.cells
    first, second = sorted(fake_replicate.predictions.values(), key=lambda p: p.created)
    assert run.cells[0]["prediction_id"] == second.id
    assert first.status() == "canceled"  # found at the end and canceled
    assert fake_replicate.received("POST", f"/v1/predictions/{first.id}/cancel")
    totals = run.json["totals"]
    assert (totals["ambiguous_creates"], totals["ambiguous_followed"]) == (1, 0)
    assert (totals["ambiguous_canceled"], totals["ambiguous_unaccounted"]) == (1, 0)
    assert "unaccounted" not in run.result.stdout
    assert fake_replicate.running() == []


def test_a_create_that_never_made_a_prediction_is_reported_unaccounted_for(
    fake_replicate: FakeReplicate, run_config: RunConfig
) -> None:
    """A reset before Replicate did the work: reval cannot know that, looks twice (now and at
    the end), finds nothing, and says so."""
    fake_replicate.add_model("meta/llama", official=True)
    fake_replicate.fail_next("POST", CREATE, 0)
    run = run_config(cases(1))
    assert run.result.exit_code == 0, run.cells
    assert len(fake_replicate.predictions) == 1
    assert len(fake_replicate.received("GET", LIST)) == 2  # at the failure, and at the end
    totals = run.json["totals"]
    assert (totals["ambiguous_creates"], totals["ambiguous_unaccounted"]) == (1, 0 + 1)
    assert "1 create request unaccounted for (may have run)" in run.result.stdout
    result = RunResult.model_validate(run.json)
    assert "1 create request unaccounted for" in summary_line(result).plain
    assert "1 create request unaccounted for" in to_markdown(result)


def test_no_clause_when_every_create_is_accounted_for(
    fake_replicate: FakeReplicate, run_config: RunConfig
) -> None:
    fake_replicate.add_model("meta/llama", official=True)
    run = run_config(cases(2))
    result = RunResult.model_validate(run.json)
    assert "unaccounted" not in summary_line(result).plain
    assert "unaccounted" not in to_markdown(result)
    assert not fake_replicate.received("GET", LIST)  # nothing to look for, no list request


def test_a_502_after_creation_is_followed(
    fake_replicate: FakeReplicate, run_config: RunConfig
) -> None:
    fake_replicate.add_model("meta/llama", slow(0.3), official=True)
    body = {"title": "Bad Gateway", "detail": "upstream hiccup", "status": 502}
    fake_replicate.fail_next("POST", CREATE, 502, body, after=True)
    run = run_config(cases(1))
    assert run.result.exit_code == 0, run.cells
    assert len(fake_replicate.predictions) == 1
    assert run.json["totals"]["ambiguous_followed"] == 1


def test_a_deployments_prediction_is_found_by_the_deployment_name(
    fake_replicate: FakeReplicate, run_config: RunConfig
) -> None:
    model = fake_replicate.add_model("acme/base", slow(0.3))
    fake_replicate.add_deployment("acme/prod", model)
    fake_replicate.fail_next("POST", "^/v1/deployments/acme/prod/predictions$", 0, after=True)
    run = run_config({"prompts": ["hi"], "providers": ["replicate:deployment:acme/prod"]})
    assert run.result.exit_code == 0, run.cells
    [prediction] = fake_replicate.predictions.values()
    assert run.cells[0]["prediction_id"] == prediction.id
    assert run.json["totals"]["ambiguous_followed"] == 1


def test_a_prediction_of_another_version_is_not_taken_for_the_lost_one(
    fake_replicate: FakeReplicate, run_config: RunConfig
) -> None:
    """While reval's create is held, someone runs the same input on another version of the
    model: newer in the list, same model, same input, unknown to reval; not its prediction."""
    fake_replicate.hold_cap = 0.6
    mine, theirs = "a" * 64, "b" * 64
    fake_replicate.add_model("acme/tool", slow(1.0), versions=[mine, theirs])
    fake_replicate.fail_next("POST", "^/v1/predictions$", 0, after=True)

    def someone_else() -> None:
        while not fake_replicate.received("POST", "/v1/predictions"):
            time.sleep(0.01)
        time.sleep(0.25)  # reval's create is still held; its prediction is older than this one
        [sent] = fake_replicate.received("POST", "/v1/predictions")
        body = {"version": theirs, "input": sent.body["input"]}
        headers = {"Authorization": f"Bearer {fake_replicate.token}"}
        httpx.post(f"{fake_replicate.url}/v1/predictions", json=body, headers=headers)

    timer = threading.Thread(target=someone_else)
    timer.start()
    run = run_config({"prompts": ["hi"], "providers": [f"replicate:acme/tool:{mine}"]})
    timer.join()
    assert run.result.exit_code == 0, run.cells
    [own] = [p for p in fake_replicate.predictions.values() if p.version == mine]
    assert len(fake_replicate.predictions) == 2
    assert run.cells[0]["prediction_id"] == own.id


def test_a_read_timeout_after_creation_follows_the_prediction(
    fake_replicate: FakeReplicate, run_config: RunConfig
) -> None:
    """The answer to the create comes later than the client waits for it: SDK 1.0.x gives a
    create with `Prefer: wait=N` a read timeout of N + 0.5 s (N is 1 with --timeout 1). The
    prediction exists, finished; it is found and used."""
    fake_replicate.add_model("meta/llama", official=True)
    fake_replicate.stall_next("POST", CREATE, 3.0, after=True)
    run = run_config(cases(1), "--timeout", "1")
    assert run.result.exit_code == 0, run.cells
    [prediction] = fake_replicate.predictions.values()
    assert run.cells[0]["prediction_id"] == prediction.id
    assert len(fake_replicate.received("POST", CREATE)) == 1
    assert run.json["totals"]["ambiguous_followed"] == 1


def test_a_create_that_times_out_before_replicate_did_the_work_is_left_to_its_deadline(
    fake_replicate: FakeReplicate, run_config: RunConfig
) -> None:
    """The slow front end makes the prediction only after reval gave up on the request, looked,
    and created again: no list can show it in time. reval says one create is unaccounted
    for, and the late prediction carries the timeout as its deadline."""
    fake_replicate.add_model("meta/llama", official=True)
    fake_replicate.stall_next("POST", CREATE, 2.5)  # read timeout: wait=1 + 0.5 s
    run = run_config(cases(1), "--timeout", "1")
    assert run.result.exit_code == 0, run.cells
    assert run.json["totals"]["ambiguous_unaccounted"] == 1
    assert "1 create request unaccounted for" in run.result.stdout
    deadline = time.monotonic() + 5
    while len(fake_replicate.predictions) < 2:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    late = max(fake_replicate.predictions.values(), key=lambda p: p.created)
    assert late.id != run.cells[0]["prediction_id"]
    assert late.cancel_after == "5s"
