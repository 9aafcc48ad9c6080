"""`diff_runs`: matching by identity, the verdicts, and when statistics make a regression."""

from __future__ import annotations

import pytest

from replicate_eval.history.compared import compared
from replicate_eval.history.diff import diff_runs
from replicate_eval.history.significance import PassCounts, fisher_exact
from replicate_eval.history.word_diff import word_diff
from tests.history.support import built_run, recorded_as

P, F, E = "passed", "failed", "error"


def verdicts(diff: object) -> dict[str, str]:
    return {cell.test: cell.change for cell in diff.changes}  # type: ignore[attr-defined]


def test_single_runs_flip_to_regressions_and_fixes() -> None:
    base = built_run("b", {"a": [P], "b": [P], "c": [F], "d": [F], "e": [P]})
    new = built_run("n", {"a": [P], "b": [E], "c": [P], "d": [F], "f": [P]})
    diff = diff_runs(compared(base), compared(new))
    assert verdicts(diff) == {
        "word=a": "unchanged",
        "word=b": "regression",
        "word=c": "fixed",
        "word=d": "still_failing",
        "word=e": "removed",
        "word=f": "new",
    }
    [regression] = diff.regressions
    assert regression.base.outcome == "passed" and regression.new.outcome == "error"


def test_reordered_and_inserted_tests_match_by_identity_not_position() -> None:
    base = built_run("b", {"a": [P], "b": [P], "c": [F]})
    new = built_run("n", {"z": [P], "c": [F], "a": [P], "b": [P]})
    assert verdicts(diff_runs(compared(base), compared(new))) == {
        "word=a": "unchanged",
        "word=b": "unchanged",
        "word=c": "still_failing",
        "word=z": "new",
    }


def test_a_described_test_whose_vars_changed_is_still_the_same_test() -> None:
    base = built_run("b", {"a": [P]}, descriptions={"a": "greets"})
    new = built_run("n", {"a2": [F]}, descriptions={"a2": "greets"})
    [cell] = diff_runs(compared(base), compared(new)).changes
    assert (cell.test, cell.change) == ("greets", "regression")


def test_a_renamed_prompt_and_a_swapped_model_are_paired_and_said_so() -> None:
    base = built_run("b", {"a": [P]}, prompt="Say <<word>>", provider="replicate:acme/old")
    new = built_run("n", {"a": [F]}, prompt="Please say <<word>>", provider="replicate:acme/new")
    diff = diff_runs(compared(base), compared(new))
    assert [cell.change for cell in diff.changes] == ["regression"]
    assert diff.pairings == [
        "prompt `Say <<word>>` compared with `Please say <<word>>`",
        "provider `replicate:acme/old` compared with `replicate:acme/new`",
    ]


def test_with_repeats_a_drop_is_a_regression_only_when_fisher_supports_it() -> None:
    base = built_run(
        "b",
        {
            "big": [P] * 10,  # 10/10 -> 2/10: p = 0.0004
            "small": [P] * 10,  # 10/10 -> 8/10: p = 0.24, chance may explain it
            "same": [P, F] * 5,  # 5/10 -> 5/10
            "up": [F] * 10,  # 0/10 -> 9/10: a significant fix
        },
    )
    new = built_run(
        "n",
        {
            "big": [P] * 2 + [F] * 8,
            "small": [P] * 8 + [F] * 2,
            "same": [F, P] * 5,
            "up": [P] * 9 + [F],
        },
    )
    diff = diff_runs(compared(base), compared(new))
    assert verdicts(diff) == {
        "word=big": "regression",
        "word=small": "flaky",
        "word=same": "flaky",
        "word=up": "fixed",
    }
    big = next(cell for cell in diff.changes if cell.test == "word=big")
    # [[10, 0], [2, 8]]: the one-sided p-value is C(12,10)/C(20,10) = 66/184756.
    assert big.p_value == pytest.approx(66 / 184756)
    assert big.new.outcome == "2/10 passed"
    small = next(cell for cell in diff.changes if cell.test == "word=small")
    assert small.p_value == pytest.approx(
        fisher_exact(PassCounts(10, 10), PassCounts(8, 10), "less")
    )
    assert small.p_value > 0.05


def test_pass_rate_per_prompt_and_provider_and_score_changes() -> None:
    base = built_run("b", {"a": [P], "b": [P], "c": [P]}, scores={"c": 0.9})
    new = built_run("n", {"a": [P], "b": [F], "c": [P]}, scores={"c": 0.7})
    diff = diff_runs(compared(base), compared(new))
    [rate] = diff.rates
    assert (rate.base, rate.new) == (PassCounts(3, 3), PassCounts(2, 3))
    [scored] = diff.score_changes  # b flipped: it is listed as a regression, not here
    assert scored.test == "word=c" and scored.score_delta == pytest.approx(-0.2)


def test_changed_outputs_and_the_word_diff() -> None:
    base = built_run("b", {"a": [P]}, outputs={"a": "The capital is Paris."})
    new = built_run("n", {"a": [P]}, outputs={"a": "The capital is Lyon."})
    [cell] = diff_runs(compared(base), compared(new)).changed_outputs
    pieces = [(p.operation, p.text) for p in word_diff(cell.base.output, cell.new.output)]
    assert pieces == [
        ("same", "The capital is "),
        ("removed", "Paris"),
        ("added", "Lyon"),
        ("same", "."),
    ]


def test_the_word_diff_of_long_outputs_is_bounded_and_complete() -> None:
    before = "word " * 20000
    after = "word " * 19999 + "other "
    text = "".join(p.text for p in word_diff(before, after) if p.operation != "removed")
    assert text == after


def test_warnings_for_versions_config_interruptions_and_repeats() -> None:
    base = built_run("b", {"a": [P]})
    new = built_run("n", {"a": [P, P]})
    base = recorded_as(base, config_sha256="1" * 64, version="a" * 64)
    new = recorded_as(new, config_sha256="2" * 64, version="b" * 64, complete=False)
    warnings = " | ".join(diff_runs(compared(base), compared(new)).warnings)
    assert "the config changed between the runs" in warnings
    assert f"ran a different model version: {'a' * 12} in the base run, {'b' * 12} now" in warnings
    assert "the new run was interrupted" in warnings
    assert "repeat each cell differently: 1×, 2×" in warnings


def test_added_and_removed_providers_are_named_on_the_terminal() -> None:
    from rich.console import Console

    from replicate_eval.report.diff_terminal import diff_view

    base = built_run("b", {"a": [P]}, provider="replicate:acme/old")
    both = built_run("n", {"a": [P]}, provider="replicate:acme/old")
    extra = built_run("x", {"a": [F]}, provider="replicate:acme/extra")
    new = both.model_copy(
        update={
            "providers": [*both.providers, extra.providers[0].model_copy(update={"index": 1})],
            "cells": [*both.cells, extra.cells[0].model_copy(update={"provider_index": 1})],
        }
    )
    diff = diff_runs(compared(base), compared(new))
    assert diff.added_providers == ["replicate:acme/extra"] and diff.pairings == []
    console = Console(width=120, record=True, file=None)
    with console.capture() as captured:
        console.print(diff_view(diff, plain=True))
    text = captured.get()
    assert "new provider: replicate:acme/extra" in text
    assert (
        "0 regressions, 0 fixed, 0 still failing, 0 flaky, 1 new (1 failing), 0 removed, 1" in text
    )


def test_a_change_at_the_end_of_a_long_output_is_shown_word_by_word() -> None:
    shared = " ".join(f"w{n}" for n in range(3000))
    pieces = word_diff(shared + " END-OLD", shared + " END-NEW")
    changed = [(p.operation, p.text) for p in pieces if p.operation != "same"]
    assert changed == [("removed", "OLD"), ("added", "NEW")]
    assert "".join(p.text for p in pieces if p.operation != "removed") == shared + " END-NEW"
