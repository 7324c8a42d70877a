"""Evaluate a SymPy tree at many points at once in float64, for drawing curves only (pure).

Verdicts use the engine's exact evaluator (grader/evaluate.py, mpmath); a
plot needs a few hundred values at plotting accuracy, and walking the tree
once over NumPy arrays is about a hundred times faster than point by point.
The tree is walked with a whitelist of node types and functions: learner
expressions are never turned into code (no ``lambdify``/``eval``). Where a
value is not a finite real number the result holds NaN (a gap in the curve).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import sympy as sp

from ..evaluate import tree_size
from ..known_functions import FUNCTION_TABLE, KnownFunction


class Unplottable(ValueError):
    """The tree holds something this evaluator does not know (an unknown function, I, ...)."""


#: SymPy function name -> its table entry, for those the table gives a float64 evaluation
_FUNCS: dict[str, KnownFunction] = {f.name: f for f in FUNCTION_TABLE if f.np is not None}


def evaluate_many(expr: Any, values: Mapping[str, np.ndarray | float]) -> np.ndarray:
    """``expr`` at every point (``values`` maps symbol names to equal-length arrays or scalars).

    Raises Unplottable for trees it cannot evaluate, and the engine's TooLarge
    for trees over its size limits.
    """
    tree_size(expr)
    n = max((np.size(v) for v in values.values()), default=1)
    memo: dict[Any, np.ndarray] = {}
    with np.errstate(all="ignore"):
        out = _walk(sp.sympify(expr), values, n, memo)
        return np.where(np.isfinite(out), out, np.nan)


def _walk(expr: Any, values: Mapping[str, Any], n: int, memo: dict[Any, np.ndarray]) -> np.ndarray:
    if expr in memo:
        return memo[expr]
    if isinstance(expr, sp.Symbol):
        if expr.name not in values:
            raise Unplottable(f"no value for {expr.name}")
        out = np.broadcast_to(np.asarray(values[expr.name], dtype=float), (n,))
    elif expr.is_Number or isinstance(expr, sp.NumberSymbol):
        if expr in (sp.nan, sp.zoo, sp.oo, -sp.oo):
            out = np.full(n, np.nan)
        else:
            try:
                out = np.full(n, float(expr))
            except (OverflowError, TypeError):
                out = np.full(n, np.nan)
    else:
        args = [_walk(a, values, n, memo) for a in expr.args]
        if isinstance(expr, sp.Add):
            out = np.sum(args, axis=0)
        elif isinstance(expr, sp.Mul):
            out = np.prod(args, axis=0)
        elif isinstance(expr, sp.Pow):
            out = np.power(args[0], args[1])
        elif (f := _FUNCS.get(type(expr).__name__)) is not None and f.np is not None and f.takes(len(args)):
            out = f.np(*args)
        else:
            raise Unplottable(f"cannot plot {type(expr).__name__}")
    memo[expr] = out
    return out
