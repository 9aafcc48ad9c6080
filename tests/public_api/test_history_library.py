"""The run history from Python, as the README's "Use from Python" names it."""

from __future__ import annotations

from pathlib import Path

import replicate_eval as reval
from tests.fake_replicate import FakeReplicate
from tests.history.support import MODEL, answering, config


def test_a_store_a_diff_and_a_rerun_from_python(
    fake_replicate: FakeReplicate, tmp_path: Path
) -> None:
    answering(fake_replicate, wrong={"beta"})
    loaded = reval.load(config(), base_dir=tmp_path)
    first = reval.evaluate(loaded, reval.EvalOptions(cache=False))
    with reval.RunStore(tmp_path / "store") as store:
        store.add(first)
        assert [run.id for run in store.runs()] == [first.run_id]
        assert store.load(first.run_id).totals.passed == 2
    answering(fake_replicate, wrong={"alpha"})
    fake_replicate.requests.clear()
    again = reval.evaluate(
        loaded, reval.EvalOptions(cache=False, carry_over=reval.CarryOver(first, "failing"))
    )
    assert [
        r.body["input"]["prompt"]
        for r in fake_replicate.received("POST", f"/v1/models/{MODEL}/predictions")
    ] == ["Say beta"]
    assert again.totals.carried == 2 and again.totals.passed == 3  # alpha carried as it was
    fresh = reval.evaluate(loaded, reval.EvalOptions(cache=False))
    diff = reval.diff_results(first, fresh)
    assert isinstance(diff, reval.RunDiff)
    assert [cell.test for cell in diff.regressions] == ["word=alpha"]
    assert [cell.test for cell in diff.blocking] == ["word=alpha"]
    assert [cell.change for cell in diff.changes if cell.test == "word=beta"] == ["fixed"]
