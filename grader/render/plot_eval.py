"""Evaluate a SymPy tree at many points at once in float64, for drawing curves only (pure).

Verdicts use the engine's exact evaluator (grader/evaluate.py, mpmath); a
plot needs a few hundred values at plotting accuracy, and walking the tree
once over NumPy arrays is about a hundred times faster than point by point.
The tree is walked with a whitelist of node types and functions: learner
expressions are never turned into code (no ``lambdify``/``eval``). Where a
value is not a finite real number the result holds NaN (a gap in the curve).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import sympy as sp

from ..evaluate import tree_size


class Unplottable(ValueError):
    """The tree holds something this evaluator does not know (an unknown function, I, ...)."""


def _recip(f: Callable[[np.ndarray], np.ndarray]) -> Callable[[np.ndarray], np.ndarray]:
    return lambda u: 1.0 / f(u)


def _heaviside(u: np.ndarray) -> np.ndarray:
    return np.heaviside(u, 0.5)


_FUNCS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "exp": np.exp, "log": np.log, "sin": np.sin, "cos": np.cos, "tan": np.tan,
    "cot": _recip(np.tan), "sec": _recip(np.cos), "csc": _recip(np.sin),
    "asin": np.arcsin, "acos": np.arccos, "atan": np.arctan, "acot": lambda u: np.arctan(1.0 / u),
    "sinh": np.sinh, "cosh": np.cosh, "tanh": np.tanh, "coth": _recip(np.tanh),
    "sech": _recip(np.cosh), "csch": _recip(np.sinh), "asinh": np.arcsinh, "acosh": np.arccosh,
    "atanh": np.arctanh, "Abs": np.abs, "sign": np.sign, "Heaviside": _heaviside,
    "floor": np.floor, "ceiling": np.ceil, "erf": np.vectorize(math.erf, otypes=[float]),
}


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
        elif isinstance(expr, (sp.Max, sp.Min)):
            out = (np.maximum if isinstance(expr, sp.Max) else np.minimum).reduce(args)
        elif type(expr).__name__ in _FUNCS and len(args) == 1:
            out = _FUNCS[type(expr).__name__](args[0])
        else:
            raise Unplottable(f"cannot plot {type(expr).__name__}")
    memo[expr] = out
    return out
