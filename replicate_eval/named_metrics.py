"""promptfoo's named and derived metrics, per prompt x provider.

An assertion's ``metric`` tags its score; each cell keeps the weighted mean per metric
(``CellResult.named_scores``). Per prompt x provider, promptfoo adds the cells' named scores up
and shows their mean; its ``derivedMetrics`` are expressions over those sums, ``__count`` (the
cells counted) and the derived metrics before them (site/docs/configuration/expected-outputs/
index.md, "Creating derived metrics"): ``2 * tp / (2 * tp + fp + fn)``, ``APE / __count``. A
metric no cell has is 0, as promptfoo's. promptfoo evaluates them with mathjs; reval with a small
evaluator of arithmetic only (``^`` is a power, as in mathjs), so a config's expression can run
nothing else. A division by zero gives no value (null), where mathjs would give Infinity or NaN.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from replicate_eval.errors import ConfigError
from replicate_eval.results import CellResult, DerivedMetricInfo, MetricTotals

COUNT = "__count"
MAX_EXPRESSION = 2000  # characters: a formula, not a program
MAX_DEPTH = 100  # the evaluator recurses: a formula is never this deep

_BINARY: dict[type[ast.operator], Callable[[float, float], float]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
    ast.BitXor: operator.pow,  # mathjs writes a power `x ^ 2`
}
_FUNCTIONS: dict[str, Callable[..., float]] = {
    "min": min,
    "max": max,
    "abs": abs,
    "sqrt": math.sqrt,
    "log": math.log,
    "exp": math.exp,
    "pow": math.pow,
    "round": round,
    "floor": math.floor,
    "ceil": math.ceil,
}


@dataclass(frozen=True)
class DerivedMetric:
    name: str
    expression: str
    tree: ast.Expression

    def names(self) -> set[str]:
        return {
            node.id
            for node in ast.walk(self.tree)
            if isinstance(node, ast.Name) and node.id not in _FUNCTIONS
        }


def compile_derived(name: str, expression: str) -> DerivedMetric:
    """A derived metric checked to be arithmetic. Raises ConfigError saying what is not."""
    text = expression.strip()
    if "=>" in text or text.startswith("function") or "return" in text.split():
        raise ConfigError(
            "this derived metric is a JavaScript function; reval computes arithmetic "
            "expressions of the named metrics, e.g. `2 * tp / (2 * tp + fp + fn)`"
        )
    if len(text) > MAX_EXPRESSION:
        raise ConfigError(f"the expression is over {MAX_EXPRESSION} characters")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise ConfigError(f"the expression does not parse: {exc.msg}") from None
    except (RecursionError, MemoryError):
        raise ConfigError("the expression nests too deeply") from None
    for node in ast.walk(tree):
        _check_node(node)
    if _depth(tree.body) > MAX_DEPTH:
        raise ConfigError(f"the expression nests more than {MAX_DEPTH} deep")
    return DerivedMetric(name, text, tree)


def _depth(node: ast.AST) -> int:
    """How deep ``node``'s tree goes, without recursing (a long `a+a+...` is a deep tree)."""
    deepest, pending = 0, [(node, 1)]
    while pending:
        current, depth = pending.pop()
        deepest = max(deepest, depth)
        pending.extend((child, depth + 1) for child in ast.iter_child_nodes(current))
    return deepest


def _check_node(node: ast.AST) -> None:
    allowed = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Name, ast.Load, ast.Call)
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
            raise ConfigError(f"`{node.value!r}` is not a number")
        return
    if isinstance(node, ast.operator | ast.unaryop):
        if type(node) not in _BINARY and not isinstance(node, ast.UAdd | ast.USub):
            raise ConfigError(f"the operator {type(node).__name__} is not arithmetic")
        return
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name) or node.func.id not in _FUNCTIONS or node.keywords:
            raise ConfigError(
                f"only these functions may be called: {', '.join(sorted(_FUNCTIONS))}"
            )
        return
    if not isinstance(node, allowed):
        raise ConfigError(f"`{ast.unparse(node)}` is not arithmetic on named metrics")


def evaluate_derived(metric: DerivedMetric, names: Mapping[str, float]) -> float | None:
    """The metric's value; None when it has none (a division by zero, a domain error)."""
    try:
        value = _value(metric.tree.body, names)
    except (ZeroDivisionError, ValueError, OverflowError, TypeError):
        return None
    return value if math.isfinite(value) else None


_NO_VALUE = math.nan


def _value(node: ast.expr, names: Mapping[str, float]) -> float:
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return float(node.value)
    if isinstance(node, ast.Name):
        return names.get(node.id, 0.0)  # promptfoo: a metric no cell has is 0
    if isinstance(node, ast.UnaryOp):
        operand = _value(node.operand, names)
        return -operand if isinstance(node.op, ast.USub) else operand
    if isinstance(node, ast.BinOp):
        left, right = _value(node.left, names), _value(node.right, names)
        if isinstance(node.op, ast.Pow | ast.BitXor) and abs(right) > 1000:
            return _NO_VALUE  # 10 ** 10 ** 10 would never finish
        return float(_BINARY[type(node.op)](left, right))
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        arguments = [_value(argument, names) for argument in node.args]
        return float(_FUNCTIONS[node.func.id](*arguments))
    return _NO_VALUE  # compile_derived lets nothing else through


def metric_totals(
    cells: Sequence[CellResult], derived: Sequence[DerivedMetric]
) -> list[MetricTotals]:
    """Per prompt x provider (in the order cells came), the named metrics' sums and means over
    the graded cells, and the derived metrics computed from them. Empty when there are none."""
    if not derived and not any(cell.named_scores for cell in cells):
        return []
    groups: dict[tuple[int, int], list[CellResult]] = {}
    for cell in cells:
        if cell.status != "error":
            groups.setdefault((cell.prompt_index, cell.provider_index), [])
            groups[(cell.prompt_index, cell.provider_index)].append(cell)
    totals = []
    for (prompt, provider), graded in sorted(groups.items()):
        sums: dict[str, float] = {}
        counts: dict[str, int] = {}
        for cell in graded:
            for name, score in cell.named_scores.items():
                sums[name] = sums.get(name, 0.0) + score
                counts[name] = counts.get(name, 0) + 1
        names: dict[str, float] = {**sums, COUNT: float(len(graded))}
        values: dict[str, float | None] = {}
        for metric in derived:  # in order: a later one may use an earlier one
            values[metric.name] = evaluate_derived(metric, names)
            names[metric.name] = values[metric.name] or 0.0
        totals.append(
            MetricTotals(
                prompt_index=prompt,
                provider_index=provider,
                cells=len(graded),
                sums={name: round(value, 6) for name, value in sums.items()},
                means={name: round(sums[name] / counts[name], 6) for name in sums},
                derived={k: None if v is None else round(v, 6) for k, v in values.items()},
            )
        )
    return totals


def derived_from_results(infos: Sequence[DerivedMetricInfo]) -> list[DerivedMetric]:
    """The derived metrics a results file recorded, compiled again (for `reval merge`)."""
    return [compile_derived(info.name, info.value) for info in infos]


def unknown_names(derived: Sequence[DerivedMetric], metrics: set[str]) -> list[str]:
    """Names the expressions use that no assertion's `metric` or earlier derived metric has."""
    known = set(metrics) | {COUNT}
    unknown: list[str] = []
    for metric in derived:
        unknown.extend(name for name in sorted(metric.names()) if name not in known)
        known.add(metric.name)
    return list(dict.fromkeys(unknown))


def as_info(derived: Sequence[DerivedMetric]) -> list[DerivedMetricInfo]:
    return [DerivedMetricInfo(name=m.name, value=m.expression) for m in derived]
