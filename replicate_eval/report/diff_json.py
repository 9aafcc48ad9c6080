"""``-o diff.json``: a run diff for scripts, in a versioned shape.

    {
      "schema_version": 1,
      "base": RUN, "new": RUN,
      "counts": {"regression": 2, "fixed": 1, "still_failing": 0, "flaky": 0, "new": 0,
                 "removed": 0, "unchanged": 9, "score_changes": 1, "changed_outputs": 3},
      "warnings": ["the config changed between the runs ..."],
      "pairings": ["prompt `a` compared with `b`"],   # matched although renamed
      "prompts": {"added": [LABEL], "removed": [LABEL]},
      "providers": {"added": [LABEL], "removed": [LABEL]},
      "rates": [{"prompt": LABEL, "provider": LABEL,
                 "base": COUNTS | null, "new": COUNTS | null,   # null: that run lacks it
                 "delta_points": -10.0 | null, "p_value": 0.03 | null}],
      "cells": [{"test": TITLE, "prompt": LABEL, "provider": LABEL,
                 "change": "regression" | "fixed" | "still_failing" | "flaky" | "unchanged"
                           | "new" | "removed",
                 "base": SIDE | null, "new": SIDE | null,      # null: that run lacks it
                 "p_value": 0.01 | null,                       # with --repeat data
                 "score_delta": -0.25 | null, "output_changed": true}]
    }
    RUN    = {"run_id", "config_path", "description", "started_at", "commit", "passed", "cells"}
    COUNTS = {"passed": 8, "runs": 10}
    SIDE   = {"outcome": "failed" | "3/5 passed", "statuses": ["passed", "failed", ...],
              "passed": 3, "runs": 5, "score": 0.6 | null, "output": TEXT | null,
              "reason": TEXT | null}

``cells`` holds every test × prompt × provider, unchanged ones too, in the order of the diff.
Bump ``SCHEMA_VERSION`` on any change that removes or renames a field; adding one does not.
"""

from __future__ import annotations

import json
import math
from typing import Any

from replicate_eval.history.changes import CellChange, PassRate, RunDiff, RunSummary, Side
from replicate_eval.history.significance import PassCounts

SCHEMA_VERSION = 1


def diff_json(diff: RunDiff) -> str:
    """The diff as indented JSON; each cell on one line, so 10,000 of them stay readable and
    take one C-encoder call each (``json.dumps`` with ``indent`` runs in pure Python)."""
    counts: dict[str, int] = {change: count for change, count in diff.counts.items()}
    counts["score_changes"] = len(diff.score_changes)
    counts["changed_outputs"] = len(diff.changed_outputs)
    head = {
        "schema_version": SCHEMA_VERSION,
        "base": _run(diff.base),
        "new": _run(diff.new),
        "counts": counts,
        "warnings": diff.warnings,
        "pairings": diff.pairings,
        "prompts": {"added": diff.added_prompts, "removed": diff.removed_prompts},
        "providers": {"added": diff.added_providers, "removed": diff.removed_providers},
        "rates": [_rate(rate) for rate in diff.rates],
        "cells": [],
    }
    text = json.dumps(head, indent=2, ensure_ascii=False, allow_nan=False)
    if not diff.changes:
        return text + "\n"
    # "cells" is the last key, so its empty list ends the text: the cells go in its place.
    before = text.removesuffix('"cells": []\n}')
    cells = ",\n    ".join(
        json.dumps(_cell(cell), ensure_ascii=False, separators=(", ", ": "), allow_nan=False)
        for cell in diff.changes
    )
    return f'{before}"cells": [\n    {cells}\n  ]\n}}\n'


def _run(summary: RunSummary) -> dict[str, Any]:
    return {
        "run_id": summary.run_id,
        "config_path": summary.config_path,
        "description": summary.description,
        "started_at": summary.started_at,
        "commit": summary.commit,
        "passed": summary.passed,
        "cells": summary.cells,
    }


def _counts(counts: PassCounts | None) -> dict[str, int] | None:
    return None if counts is None else {"passed": counts.passed, "runs": counts.runs}


def _rate(rate: PassRate) -> dict[str, Any]:
    delta = None
    if rate.base is not None and rate.new is not None and rate.base.runs and rate.new.runs:
        points = (rate.new.passed / rate.new.runs - rate.base.passed / rate.base.runs) * 100
        delta = round(points, 2)
    return {
        "prompt": rate.prompt,
        "provider": rate.provider,
        "base": _counts(rate.base),
        "new": _counts(rate.new),
        "delta_points": delta,
        "p_value": _finite(rate.p_value),
    }


def _finite(number: float | None) -> float | None:
    """JSON has no NaN or infinity (Python writes them, strict parsers refuse them): null."""
    return number if number is not None and math.isfinite(number) else None


def _side(side: Side | None) -> dict[str, Any] | None:
    if side is None:
        return None
    return {
        "outcome": side.outcome,
        "statuses": list(side.statuses),
        "passed": side.passed,
        "runs": side.runs,
        "score": _finite(side.score),
        "output": side.output,
        "reason": side.reason,
    }


def _cell(cell: CellChange) -> dict[str, Any]:
    return {
        "test": cell.test,
        "prompt": cell.prompt,
        "provider": cell.provider,
        "change": cell.change,
        "base": _side(cell.base),
        "new": _side(cell.new),
        "p_value": _finite(cell.p_value),
        "score_delta": _finite(cell.score_delta),
        "output_changed": cell.output_changed,
    }
