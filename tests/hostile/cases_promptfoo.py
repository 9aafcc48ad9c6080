"""Hostile promptfoo constructs: transforms that exit, loop, lie or flood; derived metrics that
try to run code or never finish; assert-sets nested without end; scenarios that multiply
without end, read a directory or a billion laughs, or name themselves."""

from __future__ import annotations

from typing import Any

from replicate_eval.usercode.limits import DEFAULT_TIME_LIMIT
from tests.fake_replicate import Reply, tokens
from tests.hostile.case import (
    CONFIG_MISTAKES,
    OUTPUT_IS_DATA,
    RIGHT_MESSAGES,
    USER_CODE,
    Case,
    Family,
    config,
    echo_model,
    model,
)

RESULTS = ("results.json",)
CHECKED = "\n  - vars: {topic: cats}\n    assert: [{type: contains, value: cats}]"

TRANSFORMS = {
    # name: a test's `options.transform` (Python), as YAML double-quoted text
    "exit-0": "exit(0)",
    "os-exit-0": "__import__('os')._exit(0)",
    "keyboard-interrupt": "(_ for _ in ()).throw(KeyboardInterrupt())",
    "loop-forever": "while True:\\n    pass\\nreturn output",
    "returns-none": "None",
    "returns-a-set": "{1, 2}",
    "returns-nan": "float('nan')",
    "returns-20-mib": "'x' * (20 * 1024 * 1024)",
    "deep-list": "eval('[' * 90 + ']' * 90)",
    "escape-output": "'\\x1b]0;pwned\\x07 cats'",
    "raises": "1 / 0",
}


def transforms() -> list[Case]:
    f = Family("transform", USER_CODE, expect=100, results=RESULTS, process=True)
    for name, code in TRANSFORMS.items():
        tests = CHECKED + f'\n    options: {{transform: "{code}"}}'
        f(
            name,
            config(tests=tests),
            # Text a transform makes is the cell's output: shown escaped, and it may pass.
            expect=(0, 100) if name in ("escape-output", "deep-list") else 100,
            waits=DEFAULT_TIME_LIMIT if name == "loop-forever" else 0.0,
            checks=("no-escapes",) if name == "escape-output" else (),
            bullet=OUTPUT_IS_DATA if name == "escape-output" else USER_CODE,
        )
    f(
        "assertion-transform-exits",
        config(tests=CHECKED.replace("value: cats}", "value: cats, transform: 'exit(3)'}")),
    )
    f("javascript", config(tests=CHECKED + "\n    options: {transform: 'output.trim()'}"), expect=2)
    f(
        "provider-transform-file-missing",
        config(providers="[{id: replicate:acme/echo, transform: 'file://nope.py'}]"),
        expect=2,
    )
    return f.cases


DERIVED = {
    "import": "__import__('os').system('touch pwned')",
    "attribute": "tp.__class__",
    "lambda": "(lambda: 1)()",
    "huge-power": "9 ** 9 ** 9 ** 9",
    "long-chain": "+".join(["tp"] * 900),
    "js-function": "function(s) { while (true) {} }",
    "comprehension": "[x for x in range(10**9)]",
}


def derived_metrics() -> list[Case]:
    f = Family("derived-metric", CONFIG_MISTAKES, expect=2, results=())
    tests = CHECKED.replace("value: cats}", "value: cats, metric: tp}")
    for name, expression in DERIVED.items():
        extra = f'derivedMetrics: [{{name: x, value: "{expression}"}}]'
        # A power too big to compute has no value; the run itself goes on.
        expect = (0, 100) if name == "huge-power" else 2
        results = RESULTS if name == "huge-power" else ()
        f(name, config(tests=tests, extra=extra), expect=expect, results=results)
    deep = "{type: contains, value: cats}"
    for _ in range(50):
        deep = f"{{type: assert-set, assert: [{deep}]}}"
    f(
        "assert-set-50-deep",
        config(tests=f"\n  - vars: {{topic: cats}}\n    assert: [{deep}]"),
        bullet=CONFIG_MISTAKES,
    )
    return f.cases


def _laughs() -> str:
    """Nine levels of ten aliases each: a billion values from a few hundred bytes."""
    lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for n in range(8):
        before, name = chr(97 + n), chr(98 + n)
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{before}"] * 10) + "]")
    return "\n".join(lines) + "\n"


def scenarios() -> list[Case]:
    f = Family("scenarios", CONFIG_MISTAKES, expect=2, results=())
    data = "[" + ", ".join(f"{{vars: {{topic: t{n}}}}}" for n in range(1000)) + "]"
    tests = "[" + ", ".join(f"{{vars: {{n: {n}}}}}" for n in range(1000)) + "]"
    f("million-tests", config(extra=f"scenarios: [{{config: {data}, tests: {tests}}}]"))
    f("not-a-list", config(extra="scenarios: {config: [{vars: {topic: cats}}]}"))
    f("file-is-a-directory", config(extra="scenarios: [file://sub]"), files={"sub/x": "x"})
    f(
        "file-billion-laughs",
        config(extra="scenarios: [file://s.yaml]"),
        files={"s.yaml": _laughs()},
    )
    f(
        "values-file-missing",
        config(extra="scenarios: [{config: [{$values: file://nope.yaml}]}]"),
    )
    f(
        "file-names-itself",
        config(extra="scenarios: [file://s.yaml]"),
        files={"s.yaml": "[file://s.yaml]"},
    )
    return f.cases


JUDGE = "replicate:acme/judge"


def _judge(steps: str, score: str, lines: str = "") -> Any:
    """A judge on the fake: g-eval's steps, then its score; `lines` for any other prompt."""

    def answer(model_input: dict[str, Any]) -> Reply:
        prompt = str(model_input.get("prompt", ""))
        if "<EvaluationSteps>" in prompt:
            return Reply(tokens(score))
        return Reply(tokens(steps if "<EvaluationCriteria>" in prompt else lines))

    return model(answer, "acme/judge")


def rag_judges() -> list[Case]:
    """Judges of g-eval and the retrieval graders that answer out of range, flood or say
    nothing: each a failed assertion with its reason, in bounded time."""
    f = Family("rag-judges", RIGHT_MESSAGES, expect=(0, 100), results=RESULTS)
    rag = "vars: {topic: cats, query: 'What about cats?', context: 'Cats purr. Dogs bark.'}"

    def one(kind: str) -> str:
        return f"\n  - {rag}\n    assert: [{{{kind}, provider: {JUDGE}}}]"

    g_eval = one("type: g-eval, value: 'names cats'")
    good_steps = '{"steps": ["look"]}'
    f(
        "g-eval-score-11",
        config(tests=g_eval),
        fake=(echo_model, _judge(good_steps, '{"score": 11}')),
    )
    f(
        "g-eval-score-text",
        config(tests=g_eval),
        fake=(echo_model, _judge(good_steps, '{"score": "ten"}')),
    )
    flood = '{"steps": [' + ", ".join(['"step"'] * 100_000) + "]}"
    f("g-eval-100k-steps", config(tests=g_eval), fake=(echo_model, _judge(flood, '{"score": 10}')))
    f("g-eval-no-json", config(tests=g_eval), fake=(echo_model, _judge("no", "no")))
    many = "\n".join(f"cats {n}. verdict: yes" for n in range(200_000))
    faithful = one("type: context-faithfulness")
    f(
        "faithfulness-200k-statements",
        config(tests=faithful),
        fake=(echo_model, _judge("", "", many)),
    )
    f("faithfulness-says-nothing", config(tests=faithful), fake=(echo_model, _judge("", "", "")))
    recall = one("type: context-recall, value: 'Cats purr.'")
    f("recall-no-markers", config(tests=recall), fake=(echo_model, _judge("", "", "I agree.")))
    relevance = one("type: context-relevance")
    f("relevance-200k-lines", config(tests=relevance), fake=(echo_model, _judge("", "", many)))
    return f.cases


ALL = [transforms, derived_metrics, scenarios, rag_judges]
