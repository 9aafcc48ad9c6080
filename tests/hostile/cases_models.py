"""Hostile runs on the Replicate side: models that fail or echo the token, a network that breaks."""

from __future__ import annotations

from replicate_eval.preflight import SCHEMA_READ_TIMEOUT
from tests.fake_replicate import Reply, image_file, tokens
from tests.hostile.case import (
    CREATE,
    MODEL,
    NOTHING_IS_NOT_A_PASS,
    OTHER_TOKEN,
    PAYING_ONCE,
    PROVIDER,
    RIGHT_MESSAGES,
    RUN,
    TOKEN,
    TOKEN_NEVER_LEAVES,
    VALIDATE,
    Case,
    Family,
    config,
    echo_model,
    fault,
    image_says,
    model,
    problem,
    says,
    stall,
)

RESULTS = ("results.json",)
NO_ASSERT = "\n  - vars: {topic: cats}"
MISSING_VERSION = "0" * 64


def model_errors() -> list[Case]:
    f = Family("model", NOTHING_IS_NOT_A_PASS, expect=2, results=RESULTS)
    f("404-model", config(providers="[replicate:acme/nothere]"), must_say="acme/nothere")
    f("validate-404-model", config(providers="[replicate:acme/nothere]"), args=VALIDATE)
    f("404-version", config(providers=f"['{PROVIDER}:{MISSING_VERSION}']"))
    f("validate-404-version", config(providers=f"['{PROVIDER}:{MISSING_VERSION}']"), args=VALIDATE)
    f("404-deployment", config(providers="['replicate:deployment:acme/nodeploy']"))
    f(
        "validate-404-deployment",
        config(providers="['replicate:deployment:acme/nodeploy']"),
        args=VALIDATE,
    )
    f("401-token", env={"REPLICATE_API_TOKEN": OTHER_TOKEN}, secrets=(OTHER_TOKEN,))
    f(
        "validate-401-token",
        args=VALIDATE,
        env={"REPLICATE_API_TOKEN": OTHER_TOKEN},
        secrets=(OTHER_TOKEN,),
    )
    f(
        "403-on-schema",
        fake=(
            echo_model,
            fault("GET", r"^/v1/models/", 403, problem(403, "Forbidden", "no"), times=99),
        ),
    )
    f("one-bad-of-two-providers", config(providers=f"[{PROVIDER}, replicate:acme/nothere]"))
    t = Family("leak", TOKEN_NEVER_LEAVES, expect=(2, 100), results=RESULTS)
    echoed = problem(401, "Unauthenticated", f"Invalid token: Bearer {TOKEN}")
    t("401-echo-on-create", fake=(echo_model, fault("POST", CREATE, 401, echoed, times=99)))
    t("401-echo-on-schema", fake=(echo_model, fault("GET", r"^/v1/models/", 401, echoed, times=99)))
    t(
        "401-echo-on-poll",
        fake=(
            model(lambda _: Reply(tokens("ok"), processing=3.0)),
            fault("GET", r"^/v1/predictions/", 401, echoed, times=99),
        ),
    )
    t(
        "422-detail-echo",
        fake=(
            echo_model,
            fault("POST", CREATE, 422, problem(422, "Invalid", f"token {TOKEN}"), times=99),
        ),
    )
    t(
        "500-detail-echo",
        fake=(echo_model, fault("POST", CREATE, 500, problem(500, "Oops", TOKEN), times=99)),
        args=(*RUN, "--retries", "1"),
    )
    t(
        "failed-prediction-echo",
        fake=(says("", error=f"auth header was Bearer {TOKEN}"),),
        expect=100,
    )
    t("logs-echo", fake=(says("cats", logs=f"REPLICATE_API_TOKEN={TOKEN}"),), expect=0)
    t(
        "output-echo",
        config(tests=NO_ASSERT),
        fake=(says(f"the token is {TOKEN}"),),
        expect=(0, 100),
        args=(*RUN, "-o", "r.csv", "-o", "r.html", "-o", "r.xml", "-o", "r.md"),
        results=("results.json", "r.csv", "r.html", "r.xml", "r.md"),
    )
    t(
        "apikey-echo-in-error",
        config(providers=f"[{{id: {PROVIDER}, apiKey: {OTHER_TOKEN}}}]"),
        env={"REPLICATE_API_TOKEN": None},
        secrets=(OTHER_TOKEN,),
        fake=(
            echo_model,
            fault(
                "POST", CREATE, 401, problem(401, "Unauthenticated", f"bad {OTHER_TOKEN}"), times=99
            ),
        ),
    )
    t(
        "provider-env-token-echo",
        config(providers=f"[{{id: {PROVIDER}, apiKey: {OTHER_TOKEN}}}]"),
        secrets=(OTHER_TOKEN,),
        fake=(says(f"key={OTHER_TOKEN}"),),
        expect=(0, 2, 100),  # 2: the fake does not know this token, which the preflight finds
    )
    c = Family("failure", RIGHT_MESSAGES, expect=100, results=RESULTS)
    c("failed-prediction", fake=(says("", error="CUDA out of memory"),))
    c(
        "canceled-by-someone",
        fake=(model(lambda _: Reply(tokens("x"), processing=1.0, deadline=0.5)),),
    )
    c(
        "error-with-escapes",
        fake=(says("", error="\x1b]0;pwned\x07\x1b[2Jboom"),),
        checks=("no-escapes",),
    )
    c("output-null", config(tests=NO_ASSERT), fake=(says(None),), expect=(0, 100))
    c("output-number", config(tests=NO_ASSERT), fake=(says(42),), expect=(0, 100))
    c(
        "output-mapping",
        config(tests=NO_ASSERT),
        fake=(says({"a": [1, {"b": None}]}),),
        expect=(0, 100),
    )
    c("output-nested-list", config(tests=NO_ASSERT), fake=(says([[1, 2], [3]]),), expect=(0, 100))
    c(
        "text-model-returns-image",
        config(tests=NO_ASSERT),
        fake=(model(lambda _: Reply([image_file("x", 8, 8, "PNG")])),),
        checks=("no-repr",),
    )
    c(
        "image-model-returns-text",
        config(providers=f"['replicate:image:{MODEL}']", tests=NO_ASSERT),
        fake=(image_says("not an image"),),
        checks=("no-repr",),
    )
    c(
        "image-url-unreachable",
        config(providers=f"['replicate:image:{MODEL}']", tests=NO_ASSERT),
        fake=(image_says(["http://127.0.0.1:9/x.png"]),),
        checks=("no-repr",),
    )
    c(
        "image-url-not-a-url",
        config(providers=f"['replicate:image:{MODEL}']", tests=NO_ASSERT),
        fake=(image_says(["::not a url::"]),),
        checks=("no-repr",),
    )
    judge = (
        "\n  - vars: {topic: cats}\n    assert: [{type: llm-rubric, value: 'mentions cats', "
        "provider: replicate:acme/judge}]"
    )
    c(
        "judge-5xx-is-error",
        config(tests=judge),
        args=(*RUN, "--retries", "1"),
        checks=("error-not-fail",),
        fake=(
            echo_model,
            model(lambda _: Reply(tokens("{}")), "acme/judge"),
            fault(
                "POST",
                r"/models/acme/judge/predictions$",
                500,
                problem(500, "Oops", "down"),
                times=99,
            ),
        ),
    )
    c(
        "judge-failed-prediction-is-error",
        config(tests=judge),
        checks=("error-not-fail",),
        fake=(echo_model, model(lambda _: Reply(error="judge crashed"), "acme/judge")),
    )
    c("judge-404-is-exit-2", config(tests=judge), expect=(2,))
    return f.cases + t.cases + c.cases


def network_faults() -> list[Case]:
    # In a process: these wait out backoffs and holds, side by side.
    f = Family("network", PAYING_ONCE, expect=0, results=RESULTS, process=True)
    slow = model(lambda _: Reply(tokens("cats"), processing=0.3))
    f(
        "reset-before-create",
        fake=(echo_model, fault("POST", CREATE, 0)),
        max_predictions=1,
        process=False,
    )
    f("reset-after-create", fake=(slow, fault("POST", CREATE, 0, after=True)), max_predictions=1)
    f(
        "502-after-create",
        fake=(slow, fault("POST", CREATE, 502, problem(502, "Bad gateway", "x"), after=True)),
        max_predictions=1,
    )
    f(
        "504-after-create",
        fake=(slow, fault("POST", CREATE, 504, problem(504, "Timeout", "x"), after=True)),
        max_predictions=1,
    )
    twenty = "".join(f"\n  - vars: {{topic: cats {n}}}" for n in range(20))
    f(
        "20-creates-cut-after-work",
        config(tests=twenty),
        args=(*RUN, "-j", "20"),
        max_predictions=20,
        fake=(slow, fault("POST", CREATE, 0, after=True, times=20)),
    )
    f(
        "20-creates-cut-502",
        config(tests=twenty),
        args=(*RUN, "-j", "20"),
        max_predictions=20,
        fake=(
            slow,
            fault("POST", CREATE, 502, problem(502, "Bad gateway", "x"), after=True, times=20),
        ),
    )
    f(
        "500-storm",
        args=(*RUN, "--retries", "2"),
        expect=100,
        fake=(echo_model, fault("POST", CREATE, 500, problem(500, "Oops", "x"), times=999)),
    )
    f(
        "html-502-body",
        args=(*RUN, "--retries", "2"),
        expect=(0, 100),
        fake=(
            echo_model,
            fault(
                "POST",
                CREATE,
                502,
                "<html><h1>502 Bad Gateway</h1></html>",
                times=999,
                headers={"Content-Type": "text/html"},
            ),
        ),
    )
    f(
        "503-twice-then-ok",
        process=False,  # quick: in-process in pytest
        fake=(
            echo_model,
            fault(
                "POST",
                CREATE,
                503,
                problem(503, "Busy", "x"),
                times=2,
                headers={"Retry-After": "1"},
            ),
        ),
    )
    throttled = {
        "title": "Request was throttled",
        "status": 429,
        "detail": "Request was throttled. Expected available in 1 second.",
        "retry_after": 1,
    }
    f(
        "429-storm",
        args=(*RUN, "--max-retry-wait", "3"),
        expect=100,
        fake=(
            echo_model,
            fault("POST", CREATE, 429, throttled, times=9999, headers={"Retry-After": "1"}),
        ),
    )
    huge = {**throttled, "retry_after": 10**9}
    f(
        "429-retry-after-a-billion",
        args=(*RUN, "--max-retry-wait", "2"),
        expect=100,
        fake=(
            echo_model,
            fault("POST", CREATE, 429, huge, times=9999, headers={"Retry-After": "1000000000"}),
        ),
    )
    f(
        "429-retry-after-negative",
        expect=(0, 100),
        args=(*RUN, "--max-retry-wait", "3"),
        fake=(echo_model, fault("POST", CREATE, 429, {**throttled, "retry_after": -5}, times=3)),
    )
    f(
        "429-retry-after-text",
        expect=(0, 100),
        args=(*RUN, "--max-retry-wait", "3"),
        fake=(
            echo_model,
            fault(
                "POST",
                CREATE,
                429,
                {**throttled, "retry_after": "soon"},
                times=3,
                headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"},
            ),
        ),
    )
    f(
        "429-no-body",
        expect=(0, 100),
        args=(*RUN, "--max-retry-wait", "3"),
        fake=(echo_model, fault("POST", CREATE, 429, None, times=3)),
    )
    f(
        "stalled-create-with-timeout",
        args=(*RUN, "--timeout", "2", "--retries", "0"),
        expect=100,
        fake=(echo_model, stall("POST", CREATE, 60)),
        process=True,
    )
    long = model(lambda _: Reply(tokens("cats"), processing=4.0))
    f(
        "stalled-poll-with-timeout",
        args=(*RUN, "--timeout", "3"),
        expect=100,
        fake=(long, stall("GET", r"^/v1/predictions/", 60, times=99)),
        process=True,
    )
    f(
        "reset-every-poll",
        args=(*RUN, "--retries", "1"),
        expect=100,
        fake=(long, fault("GET", r"^/v1/predictions/", 0, times=999)),
        process=True,
    )
    f(
        "create-answers-garbage",
        process=False,  # quick: in-process in pytest
        expect=(100,),
        fake=(
            echo_model,
            fault("POST", CREATE, 201, "<html>definitely not a prediction</html>", times=99),
        ),
    )
    f(
        "create-answers-empty-object",
        process=False,  # quick: in-process in pytest
        expect=(100,),
        fake=(echo_model, fault("POST", CREATE, 201, {}, times=99)),
    )
    f(
        "create-answers-null",
        process=False,  # quick: in-process in pytest
        expect=(100,),
        fake=(echo_model, fault("POST", CREATE, 201, None, times=99)),
    )
    f(
        "schema-500-is-a-warning",
        process=False,  # quick: in-process in pytest
        fake=(echo_model, fault("GET", r"^/v1/models/", 500, problem(500, "x", "y"), times=99)),
    )
    f(
        "schema-garbage",
        process=False,  # quick: in-process in pytest
        expect=(0, 2),
        fake=(echo_model, fault("GET", r"^/v1/models/", 200, {"weird": [1]}, times=99)),
    )
    f(
        "schema-stalled",
        expect=(0, 2),
        fake=(echo_model, stall("GET", r"^/v1/models/", 60, times=99)),
        process=True,
        waits=SCHEMA_READ_TIMEOUT,  # the preflight gives a schema read this long
    )
    f(
        "prediction-list-500-after-reset",
        max_predictions=2,
        fake=(
            slow,
            fault("POST", CREATE, 0, after=True),
            fault("GET", r"^/v1/predictions$", 500, problem(500, "x", "y"), times=99),
        ),
    )
    return f.cases
