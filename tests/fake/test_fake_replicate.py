"""The fake Replicate API behaves like the real one, as seen through the official SDK.

reval's tests are only as good as this double, so its own behaviour is pinned here: auth,
``Prefer: wait`` holds, lifecycles, cancel, deadlines, problem details and the OpenAPI contract.
"""

from __future__ import annotations

import io
import time

import httpx
import pytest
import replicate
from PIL import Image
from replicate.exceptions import ReplicateError

from tests.fake_replicate import (
    FakeReplicate,
    File,
    Reply,
    image_model,
    picture,
    sdxl_schema,
    tokens,
)

GEMMA_VERSION = "2790a695e5dcae15506138cc4718d1106d0d475e6dca4b1d43f42414647993d5"


@pytest.fixture
def client(fake_replicate: FakeReplicate) -> replicate.Client:
    return replicate.Client(api_token=fake_replicate.token, base_url=fake_replicate.url)


def test_official_model_runs_by_name_and_answers_within_the_wait(
    fake_replicate: FakeReplicate, client: replicate.Client
) -> None:
    fake_replicate.add_model(
        "meta/llama-2-7b-chat", official=True, behaviour=lambda i: Reply(tokens("Paris."))
    )
    prediction = client.models.predictions.create(
        model="meta/llama-2-7b-chat", input={"prompt": "Capital of France?"}, wait=10
    )
    assert prediction.status == "succeeded"
    assert prediction.output == ["Paris."]
    assert prediction.version == "hidden"
    assert prediction.metrics["output_token_count"] == 1
    [request] = fake_replicate.received("POST", "/v1/models/meta/llama-2-7b-chat/predictions")
    assert request.headers["prefer"] == "wait=10"
    assert request.body == {"input": {"prompt": "Capital of France?"}}


def test_community_model_runs_by_version_only(
    fake_replicate: FakeReplicate, client: replicate.Client
) -> None:
    fake_replicate.add_model("google-deepmind/gemma-7b-it", versions=[GEMMA_VERSION])
    with pytest.raises(ReplicateError) as caught:
        client.models.predictions.create(model="google-deepmind/gemma-7b-it", input={"prompt": "x"})
    assert caught.value.status == 404
    prediction = client.predictions.create(version=GEMMA_VERSION, input={"prompt": "x"})
    assert prediction.status == "succeeded"
    assert prediction.version == GEMMA_VERSION
    model = client.models.get("google-deepmind/gemma-7b-it")
    assert model.latest_version is not None and model.latest_version.id == GEMMA_VERSION


def test_unknown_version_is_a_422_problem(client: replicate.Client) -> None:
    with pytest.raises(ReplicateError) as caught:
        client.predictions.create(version="0" * 64, input={"prompt": "x"})
    assert caught.value.status == 422
    assert caught.value.title == "Invalid version or not permitted"


def test_missing_or_wrong_token_is_401_problem_json(fake_replicate: FakeReplicate) -> None:
    fake_replicate.add_model("meta/llama-2-7b-chat", official=True)
    url = f"{fake_replicate.url}/v1/models/meta/llama-2-7b-chat/predictions"
    for headers in ({}, {"Authorization": "Bearer r8_wrong"}):
        response = httpx.post(url, json={"input": {"prompt": "x"}}, headers=headers)
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json() == {
            "title": "Unauthenticated",
            "detail": "You did not pass a valid authentication token",
            "status": 401,
        }


def test_a_prediction_longer_than_the_wait_is_returned_running_then_polled(
    fake_replicate: FakeReplicate, client: replicate.Client
) -> None:
    fake_replicate.add_model(
        "meta/slow", official=True, behaviour=lambda i: Reply(tokens("a b c d"), processing=0.6)
    )
    started = time.monotonic()
    prediction = client.models.predictions.create(model="meta/slow", input={"prompt": "x"}, wait=1)
    held = time.monotonic() - started
    assert prediction.status == "processing"
    assert 0.15 <= held < 0.5  # held for the fake's hold cap (0.2 s), not the full second
    while prediction.status not in ("succeeded", "failed", "canceled"):
        time.sleep(0.1)
        prediction.reload()
    assert prediction.output == ["a", " b", " c", " d"]
    assert len(fake_replicate.received("GET", f"/v1/predictions/{prediction.id}")) >= 2


def test_partial_output_grows_while_processing(fake_replicate: FakeReplicate) -> None:
    fake_replicate.add_model(
        "meta/slow",
        official=True,
        behaviour=lambda i: Reply(tokens("one two three four"), processing=1),
    )
    fake_replicate.add_model("x/y", official=True)
    prediction_json = _create_raw(fake_replicate, "meta/slow")
    prediction = fake_replicate.predictions[prediction_json["id"]]
    middle = prediction.to_json(fake_replicate.url, now=prediction.started + 0.5)
    assert middle["status"] == "processing"
    assert middle["output"] == ["one", " two"]


def test_cancel_stops_a_running_prediction(
    fake_replicate: FakeReplicate, client: replicate.Client
) -> None:
    fake_replicate.add_model(
        "meta/slow", official=True, behaviour=lambda i: Reply(tokens("x"), processing=5)
    )
    prediction = client.models.predictions.create(model="meta/slow", input={"prompt": "x"})
    assert prediction.status == "processing"
    canceled = client.predictions.cancel(prediction.id)
    assert canceled.status == "canceled"
    assert client.predictions.get(prediction.id).status == "canceled"
    assert "completed_at" in _get_raw(fake_replicate, prediction.id)


def test_failed_prediction_carries_the_model_error(
    fake_replicate: FakeReplicate, client: replicate.Client
) -> None:
    fake_replicate.add_model(
        "meta/broken", official=True, behaviour=lambda i: Reply(error="CUDA out of memory")
    )
    prediction = client.models.predictions.create(
        model="meta/broken", input={"prompt": "x"}, wait=5
    )
    assert (prediction.status, prediction.error, prediction.output) == (
        "failed",
        "CUDA out of memory",
        None,
    )


def test_deadline_before_start_aborts_and_the_sdk_cannot_parse_it(
    fake_replicate: FakeReplicate, client: replicate.Client
) -> None:
    """Reproduces the SDK 1.0.x pitfall reval must handle: `aborted` is not in its model."""
    fake_replicate.add_model(
        "meta/cold",
        official=True,
        behaviour=lambda i: Reply(tokens("x"), starting=5, deadline=0.05),
    )
    body = _create_raw(fake_replicate, "meta/cold", prefer="wait=1")
    assert body["status"] == "aborted"
    assert "started_at" not in body
    with pytest.raises(Exception, match="status"):
        client.predictions.get(body["id"])


def test_cancel_after_header_sets_the_deadline(fake_replicate: FakeReplicate) -> None:
    fake_replicate.add_model(
        "meta/cold", official=True, behaviour=lambda i: Reply(tokens("x"), starting=10)
    )
    body = _create_raw(fake_replicate, "meta/cold", cancel_after="1m30s")
    prediction = fake_replicate.predictions[body["id"]]
    assert prediction.deadline == pytest.approx(prediction.created + 90)
    assert "deadline" in body


def test_input_is_validated_against_the_model_schema(
    fake_replicate: FakeReplicate, client: replicate.Client
) -> None:
    fake_replicate.add_model("meta/llama", official=True)
    with pytest.raises(ReplicateError) as caught:
        client.models.predictions.create(
            model="meta/llama", input={"prompt": "x", "temperature": 9, "made_up": 1}
        )
    assert caught.value.status == 422
    assert "temperature" in (caught.value.detail or "")
    raw = fake_replicate.received("POST")[-1]
    assert raw.body["input"]["made_up"] == 1  # unknown inputs are not an error (Cog drops them)


def test_deployment_predictions(fake_replicate: FakeReplicate, client: replicate.Client) -> None:
    model = fake_replicate.add_model("acme/base")
    fake_replicate.add_deployment("acme/prod", model)
    prediction = client.deployments.predictions.create("acme/prod", input={"prompt": "hi"})
    assert prediction.output == ["echo:", " hi"]
    with pytest.raises(ReplicateError) as caught:
        client.deployments.predictions.create("acme/missing", input={"prompt": "hi"})
    assert caught.value.status == 404


def test_scripted_fault_answers_first_then_normal_service_resumes(
    fake_replicate: FakeReplicate, client: replicate.Client
) -> None:
    fake_replicate.add_model("meta/llama", official=True)
    throttled = {"detail": "Request was throttled.", "status": 429, "retry_after": 1}
    fake_replicate.fail_next("POST", r"/predictions$", 429, throttled, headers={"Retry-After": "1"})
    with pytest.raises(ReplicateError) as caught:  # the SDK never retries a POST
        client.models.predictions.create(model="meta/llama", input={"prompt": "x"})
    assert caught.value.status == 429
    assert client.models.predictions.create(model="meta/llama", input={"prompt": "x"}).output


def test_contract_violations_are_caught() -> None:
    with FakeReplicate() as fake:
        fake.add_model("meta/llama", official=True)
        response = httpx.post(
            f"{fake.url}/v1/models/meta/llama/predictions",
            json={"input": {"prompt": "x"}, "unexpected": True},
            headers={"Authorization": f"Bearer {fake.token}", "Prefer": "wait=99"},
        )
        assert response.status_code == 422
        assert any("unexpected" in v for v in fake.contract_violations)


def _create_raw(
    fake: FakeReplicate, slug: str, *, prefer: str | None = None, cancel_after: str | None = None
) -> dict:
    headers = {"Authorization": f"Bearer {fake.token}"}
    if prefer:
        headers["Prefer"] = prefer
    if cancel_after:
        headers["Cancel-After"] = cancel_after
    response = httpx.post(
        f"{fake.url}/v1/models/{slug}/predictions", json={"input": {"prompt": "x"}}, headers=headers
    )
    assert response.status_code in (201, 202), response.text
    return response.json()


def _get_raw(fake: FakeReplicate, prediction_id: str) -> dict:
    response = httpx.get(
        f"{fake.url}/v1/predictions/{prediction_id}",
        headers={"Authorization": f"Bearer {fake.token}"},
    )
    return response.json()


def test_image_model_outputs_delivery_urls_that_serve_real_images(
    fake_replicate: FakeReplicate, client: replicate.Client
) -> None:
    fake_replicate.add_model("stability-ai/sdxl", image_model("JPEG"), openapi_schema=sdxl_schema())
    version = fake_replicate.models["stability-ai/sdxl"].latest_version
    prediction = client.predictions.create(
        version=version, input={"prompt": "a fox", "width": 96, "height": 48, "num_outputs": 2}
    )
    assert prediction.status == "succeeded"
    first, second = prediction.output
    assert first.startswith(f"{fake_replicate.url}/files/") and first != second
    response = httpx.get(first)  # no token: delivery URLs are public
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/jpeg"
    with Image.open(io.BytesIO(response.content)) as image:
        assert (image.format, image.size) == ("JPEG", (96, 48))
    assert httpx.get(f"{fake_replicate.url}/files/nothing.png").status_code == 404


def test_enum_inputs_are_validated_like_cog(
    fake_replicate: FakeReplicate, client: replicate.Client
) -> None:
    fake_replicate.add_model("stability-ai/sdxl", image_model(), openapi_schema=sdxl_schema())
    version = fake_replicate.models["stability-ai/sdxl"].latest_version
    with pytest.raises(ReplicateError) as caught:
        client.predictions.create(version=version, input={"prompt": "x", "refine": "best"})
    assert caught.value.status == 422
    assert 'refine must be one of the following: "no_refiner"' in str(caught.value.detail)


def test_chunked_files_arrive_whole(fake_replicate: FakeReplicate) -> None:
    data = picture("big", 300, 300) + b"\0" * (3 << 20)
    fake_replicate.files["big.png"] = File(data, "image/png", chunked=True)
    response = httpx.get(f"{fake_replicate.url}/files/big.png")
    assert "content-length" not in response.headers
    assert response.headers["transfer-encoding"] == "chunked"
    assert response.content == data
