"""Run history: the store every run is recorded in, what a REF names, and diffs of two runs
(regressions, fixes, flaky tests) and re-runs of part of one; the CLI is cli/runs.py,
cli/diff.py and cli/run_history.py, the reports report/diff_*.py."""
