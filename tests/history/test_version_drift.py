"""An unversioned model is resolved once per run; the cache and `reval diff` follow its version."""

from __future__ import annotations

from tests.conftest import RunCli, RunConfig
from tests.fake_replicate import FakeReplicate
from tests.history.support import MODEL, answering, config

PATH = f"/v1/models/{MODEL}/predictions"


def test_a_new_model_version_is_not_answered_from_the_old_ones_cache(
    fake_replicate: FakeReplicate, run_config: RunConfig, run_cli: RunCli
) -> None:
    model = answering(fake_replicate)
    first = run_config(config())
    fake_replicate._faults.clear()  # the look-up answers again
    again = run_config(config())
    assert again.json["totals"]["cached"] == 3  # same version: every answer from the cache
    assert len(fake_replicate.received("POST", PATH)) == 3
    old = model.latest_version
    model.versions.append("f" * 64)  # the owner publishes a new version
    updated = run_config(config())
    assert updated.json["totals"]["cached"] == 0
    assert len(fake_replicate.received("POST", PATH)) == 6
    assert [p["version"] for p in updated.json["providers"]] == ["f" * 64]
    assert [p["version"] for p in first.json["providers"]] == [old]
    shown = run_cli("diff", first.json["run_id"], "latest")
    assert shown.exit_code == 0
    assert (
        f"provider `replicate:{MODEL}` ran a different model version: {old[:12]} in the base "
        f"run, {'f' * 12} now" in " ".join(shown.stdout.split())
    )


def test_the_lookup_is_made_once_per_run(
    fake_replicate: FakeReplicate, run_config: RunConfig
) -> None:
    answering(fake_replicate)
    run_config(config(), "--no-preflight", "--no-cache")
    assert len(fake_replicate.received("GET", f"/v1/models/{MODEL}")) == 1
    # With the preflight: its read of the model names the version; the run does not ask again.
    checked = run_config(config(), "--no-cache")
    assert len(fake_replicate.received("GET", f"/v1/models/{MODEL}")) == 2
    assert [p["version"] for p in checked.json["providers"]] == [
        fake_replicate.models[MODEL].latest_version
    ]


def test_a_failed_lookup_leaves_the_version_unknown_and_the_cache_unused(
    fake_replicate: FakeReplicate, run_config: RunConfig
) -> None:
    answering(fake_replicate)
    run_config(config())  # every answer cached, under the version it ran
    fake_replicate.fail_next("GET", f"/v1/models/{MODEL}", 500, times=10)
    run = run_config(config(), "--no-preflight")
    assert run.result.exit_code == 0
    assert [p["version"] for p in run.json["providers"]] == [None]
    # Its answers may be an older version's: asked again, and not kept under "latest".
    assert run.json["totals"]["cached"] == 0
    assert len(fake_replicate.received("POST", PATH)) == 6
    assert f"could not find out which model version `replicate:{MODEL}` runs now" in " ".join(
        run.result.stderr.split()
    )
    fake_replicate._faults.clear()  # the look-up answers again
    again = run_config(config())
    assert again.json["totals"]["cached"] == 3


def test_a_pinned_version_is_recorded_without_a_lookup(
    fake_replicate: FakeReplicate, run_config: RunConfig
) -> None:
    model = answering(fake_replicate)
    version = model.latest_version
    pinned = config()
    pinned["providers"] = [f"replicate:{MODEL}:{version}"]
    run = run_config(pinned, "--no-preflight")
    assert run.result.exit_code == 0
    assert [p["version"] for p in run.json["providers"]] == [version]
    assert fake_replicate.received("GET", f"/v1/models/{MODEL}") == []


def test_changed_config_is_warned_about(
    fake_replicate: FakeReplicate, run_config: RunConfig, run_cli: RunCli
) -> None:
    answering(fake_replicate)
    run_config(config())
    run_config(config(("alpha", "beta", "gamma", "delta")))
    shown = run_cli("diff")
    text = " ".join(shown.stdout.split())
    assert "the config changed between the runs" in text
    assert "0 regressions, 0 fixed, 0 still failing, 0 flaky, 1 new, 0 removed, 3 unchanged" in text
