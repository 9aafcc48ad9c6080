"""The hostile-input corpus (tests/hostile/) as tests: every case must be clean.

A case that may exit, hang, need a signal or a closed stdout, or eat memory runs as a real
`reval` process with a time limit (several at once, all submitted when the first case runs, so
that the cases that wait do it side by side); the others run in-process through typer's
CliRunner. `make hostile` runs every case as a process and prints the counts.

Cases that fail on today's code are in KNOWN_FAILING: they are strict xfails, so a fix makes
its case fail loudly until its name is taken out of the set.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor

import pytest

from tests.hostile.case import Case
from tests.hostile.cases import BY_NAME, CASES
from tests.hostile.execute import observe
from tests.hostile.verdict import Verdict, classify

# Cases slower than this in a process are hangs here (the corpus runner allows case.timeout).
PROCESS_TIMEOUT = 8.0
PROCESS_WORKERS = 4  # most of these cases wait (on a sleep, a stall, a signal), not compute

KNOWN_FAILING: set[str] = {
    "yaml/nul-byte-in-middle",
    "yaml/nul-bytes-only",
    "yaml/lone-surrogate-escape",
    "yaml/config-dev-zero",
    "typo/many-typos-at-once",
    "types/validate-many-type-errors",
    "token/env-space-inside",
    "token/env-trailing-newline",
    "token/env-newline-inside",
    "token/env-non-ascii",
    "token/env-emoji",
    "token/env-nul-free-control",
    "token/api-key-newline",
    "token/apikey-in-config-newline",
    "token/apikey-in-config-non-ascii",
    "token/dotenv-line-without-equals",
    "token/dotenv-unterminated-quote",
    "token/env-file-dev-zero",
    "base-url/not-a-url",
    "base-url/validate-not-a-url",
    "base-url/unreachable",
    "base-url/bad-port",
    "base-url/validate-bad-port",
    "base-url/validate-no-preflight-offline",
    "terminal/ascii-locale-unicode-output",
    "terminal/xdg-cache-is-a-file",
    "empty/prompts-empty-list",
    "empty/providers-empty-list",
    "empty/tests-csv-header-only",
    "empty/tests-csv-empty",
    "empty/tests-jsonl-empty",
    "empty/tests-json-empty-list",
    "empty/prompts-file-empty",
    "empty/validate-providers-empty",
    "empty/validate-prompts-empty",
    "model/404-model",
    "model/validate-404-model",
    "model/404-version",
    "model/validate-404-version",
    "model/404-deployment",
    "model/validate-404-deployment",
    "model/401-token",
    "model/validate-401-token",
    "model/403-on-schema",
    "model/one-bad-of-two-providers",
    "leak/401-echo-on-create",
    "leak/401-echo-on-schema",
    "leak/401-echo-on-poll",
    "leak/422-detail-echo",
    "leak/500-detail-echo",
    "leak/failed-prediction-echo",
    "leak/output-echo",
    "leak/apikey-echo-in-error",
    "failure/error-with-escapes",
    "failure/judge-5xx-is-error",
    "failure/judge-failed-prediction-is-error",
    "failure/judge-404-is-exit-2",
    "network/reset-after-create",
    "network/502-after-create",
    "network/504-after-create",
    "network/20-creates-cut-after-work",
    "network/20-creates-cut-502",
    "network/html-502-body",
    "network/stalled-poll-with-timeout",
    "network/create-answers-garbage",
    "network/create-answers-null",
    "network/schema-stalled",
    "output/clear-screen",
    "output/osc-window-title",
    "output/osc8-link",
    "output/osc52-clipboard",
    "output/cursor-query",
    "output/dcs-query",
    "output/c1-csi",
    "output/hyperlink-formula",
    "output/plus-formula",
    "output/at-formula",
    "output/tab-formula",
    "output/lone-surrogate",
    "output/description-with-escapes",
    "python/expression-exit-0",
    "python/body-exit-0",
    "python/module-exit-0",
    "python/body-sys-exit-0",
    "python/expression-sys-exit-3",
    "python/module-sys-exit-3",
    "python/body-raise-systemexit",
    "python/module-raise-systemexit",
    "python/expression-raise-keyboardinterrupt",
    "python/module-raise-keyboardinterrupt",
    "python/body-raise-baseexception",
    "python/expression-raise-generatorexit",
    "python/expression-loop-forever",
    "python/module-loop-forever",
    "python/expression-sleep-60",
    "python/body-sleep-60",
    "python/module-sleep-60",
    "python/expression-os-exit-0",
    "python/module-os-exit-0",
    "python/expression-close-stdout",
    "python/body-chdir-root",
    "python/module-chdir-root",
    "python-import/exit-0",
    "python-import/sys-exit-0",
    "python-import/raise-systemexit",
    "python-import/raise-keyboardinterrupt",
    "python-import/loop-forever",
    "python-import/sleep-60",
    "python-import/os-exit-0",
    "python-returns/escape-reason",
    "python-returns/huge-int",
    "regex/assert-nested-plus",
    "regex/not-regex-nested-plus",
    "regex/assert-alternation",
    "regex/filter-pattern-nested-plus",
    "regex/filter-pattern-alternation",
    "regex/csv-expected-redos",
    "template/divide-by-zero",
    "template/validate-divide-by-zero",
    "template/assert-value-divide-by-zero",
    "template/str-plus-int",
    "template/validate-str-plus-int",
    "template/assert-value-str-plus-int",
    "template/huge-range-list",
    "template/validate-huge-range-list",
    "template/assert-value-huge-range-list",
    "template/nested-loops",
    "template/recursive-macro",
    "template/ten-gb-string",
    "template/hundred-mb-string",
    "template/var-times-billion",
    "template/power-tower",
    "template/int-to-str-limit",
    "template/lipsum-million",
    "template/include-dotenv",
    "template/include-config",
    "template/extends-missing",
    "template/format-huge-width",
    "template/curly-divide-by-zero",
    "template/rubric-prompt-divide-by-zero",
    "bomb/billion-laughs-top",
    "bomb/billion-laughs-in-var",
    "bomb/cyclic-anchor-var",
    "bomb/cyclic-list",
    "bomb/self-referencing-test",
    "bomb/cyclic-in-provider-config",
    "bomb/vars-nested-300",
    "bomb/vars-nested-5000",
    "bomb/list-nested-300",
    "bomb/int-5000-digits-var",
    "bomb/int-5000-digits-weight",
    "bomb/int-5000-digits-temperature",
    "bomb/weight-inf",
    "bomb/latency-inf",
    "bomb/temperature-nan",
    "files/var-dev-zero",
    "files/var-dev-urandom",
    "files/var-link-to-dev-zero",
    "files/var-sparse-5gb",
    "files/prompt-glob-whole-fs",
    "files/prompt-file-dev-zero",
    "files/prompt-file-sparse-5gb",
    "files/tests-file-missing",
    "files/tests-json-deeply-nested",
    "files/tests-json-vars-nested",
    "files/tests-jsonl-deeply-nested",
    "files/tests-yaml-cyclic",
    "files/csv-icontain-prefix",
    "files/csv-python-prefix-typo",
    "cache/garbage-file",
    "cache/info-garbage-file",
    "cache/clear-garbage-file",
    "cache/text-file",
    "cache/info-text-file",
    "cache/clear-text-file",
    "cache/truncated-sqlite",
    "cache/info-truncated-sqlite",
    "cache/clear-truncated-sqlite",
    "cache/nul-file",
    "cache/info-nul-file",
    "cache/clear-nul-file",
    "cache/validate-garbage",
    "outputs/name-too-long",
    "signal/sigint-startup-0.05s",
    "signal/sigint-startup-0.25s",
    "signal/sigint-during-sleeping-check",
    "signal/sigterm-startup-0.05s",
    "signal/sigterm-startup-0.25s",
    "signal/sigterm-during-preflight",
    "signal/sigterm-during-looping-check",
    "stdout/closed-from-start",
    "stdout/closed-from-start-failing",
    "stdout/head-1-big-table",
    "stdout/closed-version",
    "stdout/closed-schema",
    "stdout/closed-models-list",
    "command/merge-deep",
    "command/merge-dev-zero",
    "command/models-sort-runs-top-5",
    "command/validate-counts-warnings",
    "interrupted/pass-rate-over-cells-that-ran",
}


def needs_process(case: Case) -> bool:
    return case.process or case.action is not None


def _param(case: Case) -> object:
    marks = []
    if case.name in KNOWN_FAILING:
        marks.append(pytest.mark.xfail(strict=True, reason=f"issue 13: {case.bullet}"))
    return pytest.param(case.name, marks=marks, id=case.name)


@pytest.fixture(scope="session")
def process_verdicts(request: pytest.FixtureRequest) -> Iterator[dict[str, Future[Verdict]]]:
    """The selected process cases, all submitted at once, in test order."""
    selected = [
        item.callspec.params["name"]
        for item in request.session.items
        if getattr(item, "originalname", "") == "test_hostile_case" and hasattr(item, "callspec")
    ]
    cases = [BY_NAME[name] for name in selected if needs_process(BY_NAME[name])]
    timeout = {c.name: min(c.timeout, PROCESS_TIMEOUT) for c in cases}

    def judge(case: Case) -> Verdict:
        return classify(case, observe(case, timeout=timeout[case.name]))

    with ThreadPoolExecutor(max_workers=PROCESS_WORKERS) as pool:
        futures = {case.name: pool.submit(judge, case) for case in cases}
        yield futures
        for future in futures.values():
            future.cancel()


# A process case's test waits for the pool to reach it: that wait is not the case's own time
# (each case is bounded by its limit), so the suite's 60 s per test does not fit here.
@pytest.mark.timeout(300)
@pytest.mark.parametrize("name", [_param(case) for case in CASES])
def test_hostile_case(name: str, process_verdicts: dict[str, Future[Verdict]]) -> None:
    case = BY_NAME[name]
    if needs_process(case):
        verdict = process_verdicts[name].result()
    else:
        verdict = classify(case, observe(case, in_process=True))
    assert verdict.clean, f"{verdict.line()}\n" + "\n".join(verdict.problems)


def test_the_corpus_is_a_few_hundred_cases_of_every_kind() -> None:
    families = {case.family for case in CASES}
    assert len(CASES) >= 250
    assert {
        "yaml",
        "typo",
        "types",
        "env",
        "token",
        "empty",
        "model",
        "network",
        "output",
    } <= families
    assert {
        "python",
        "regex",
        "template",
        "bomb",
        "files",
        "cache",
        "outputs",
        "signal",
        "stdout",
    } <= families
    assert set(BY_NAME) >= KNOWN_FAILING, sorted(KNOWN_FAILING - set(BY_NAME))


def test_the_verdict_catches_what_it_is_for() -> None:
    """The classifier itself: a leaked token, a traceback, a false green are never clean."""
    from tests.hostile.case import TOKEN, Family
    from tests.hostile.execute import Observed

    case = Family("self", "x", expect=2, results=("results.json",))("check")
    bad = {
        "token-leak": Observed(2, f"Bearer {TOKEN}", "", 0.1, {}, 0),
        "traceback": Observed(
            2, "", "Traceback (most recent call last):\n  x\nValueError", 0.1, {}, 0
        ),
        "internal-error": Observed(2, "", "internal error: KeyError", 0.1, {}, 0),
        "false-green": Observed(0, "", "", 0.1, {"work/results.json": b"{}"}, 0),
        "wrong-exit": Observed(100, "", "", 0.1, {"work/results.json": b"{}"}, 0),
        "hang": Observed(None, "", "", 20.0, {}, 0),
    }
    for klass, seen in bad.items():
        assert classify(case, seen).klass == klass
    interrupted = Family("self", "x", expect=130, results=("results.json",))("interrupted")
    assert classify(interrupted, Observed(130, "", "", 0.1, {}, 0)).klass == "lost-results"
    leak_in_file = Observed(2, "", "", 0.1, {"home/.cache/x": TOKEN.encode()}, 0)
    assert classify(case, leak_in_file).klass == "token-leak"
    assert classify(case, Observed(2, "", "error: bad", 0.1, {}, 0)).clean
