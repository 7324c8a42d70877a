"""What the report shows of a symbolic item besides the verdict, computed from the item's plain evidence.

The checkers store both sides as trees in the wire format of grader/encoding.py
(``evidence["answer_tree"]``, ``evidence["expected_tree"]``) and, for a wrong
single expression, the variables to draw it over (``evidence["plot_variables"]``).
:func:`from_evidence` decodes them strictly and returns MathML of both sides
and, for a function of one variable (others held fixed), samples of both
curves as plain lists::

    {"variable": "x", "fixed": {"a": 1.5}, "x": [...], "answer": [...], "reference": [...]}

where an entry is None where that side is undefined (or not real). Samples
come from grader/render/plot_eval.py, a whitelisted tree walker over NumPy arrays:
learner expressions are never turned into code (no ``lambdify``/``eval``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp

from ..encoding import decode_value
from ..errors import DecodeError
from ..evaluate import TooLarge, tree_size
from ..known_functions import expand_known_functions
from ..spec import Variable
from .mathml import to_mathml
from .plot_eval import Unplottable, evaluate_many

#: samples per curve; enough for a smooth 640-pixel-wide plot
SAMPLES = 161
#: a counterexample farther out than this does not stretch the plot's window
MAX_REACH = 50.0


@dataclass(frozen=True)
class Illustration:
    """MathML of the learner's answer and of the reference, and the curve samples (or None)."""

    answer_mathml: str | None = None
    expected_mathml: str | None = None
    plot: Mapping[str, Any] | None = None


def _window(var: Variable, point: float | None) -> tuple[float, float]:
    """The stretch of the variable's domain to draw: around 0, inside open bounds, including ``point``."""
    if var.lo is not None and var.hi is not None:
        pad = (var.hi - var.lo) * 0.01
        lo, hi = var.lo + pad, var.hi - pad
        if point is not None and var.lo < point < var.hi:
            lo, hi = min(lo, (var.lo + point) / 2), max(hi, (var.hi + point) / 2)
        return lo, hi
    if var.lo is not None:
        lo, hi = var.lo + 0.02, var.lo + 5.0
    elif var.hi is not None:
        lo, hi = var.hi - 5.0, var.hi - 0.02
    else:
        lo, hi = -4.0, 4.0
    if point is not None and abs(point) <= MAX_REACH:
        span = hi - lo
        if point > hi - 0.05 * span and (var.hi is None or point < var.hi):
            hi = point + 0.1 * (point - lo)
            if var.hi is not None:
                hi = min(hi, var.hi - 0.5 * (var.hi - point))
        if point < lo + 0.05 * span and (var.lo is None or point > var.lo):
            lo = point - 0.1 * (hi - point)
            if var.lo is not None:
                lo = max(lo, var.lo + 0.5 * (point - var.lo))
    return lo, hi


def _typical(var: Variable) -> float:
    """A value to hold a second variable at when none is given: inside its domain, away from 0."""
    if var.lo is not None and var.hi is not None:
        return (var.lo + var.hi) / 2
    if var.hi is not None:
        return var.hi - 1.5
    return (var.lo or 0.0) + 1.5 if var.kind == "real" else (var.lo or 0.0) + 2.0


def _curve(expr: Any, values: Mapping[str, Any]) -> list[float | None]:
    ys = evaluate_many(expr, values)
    return [None if v != v else float(f"{v:.7g}") for v in ys.tolist()]


def sample_curves(reference: Any, answer: Any, variables: Sequence[Variable],
                  counterexample: Mapping[str, float] | None = None,
                  samples: int = SAMPLES) -> dict[str, Any] | None:
    """Both functions sampled along the first variable, the others held at the counterexample
    (or a typical value); None when nothing real can be drawn."""
    if not variables or not isinstance(answer, sp.Basic) or not isinstance(reference, sp.Basic):
        return None
    try:  # refuse oversized trees before walking them at all (the engine's limits)
        tree_size(reference)
        tree_size(answer)
    except TooLarge:
        return None
    ref, ans = expand_known_functions(reference), expand_known_functions(answer)
    names = {v.name for v in variables}
    if any(s.name not in names for s in ref.free_symbols | ans.free_symbols):
        return None
    counterexample = counterexample or {}
    main, others = variables[0], variables[1:]
    fixed = {v.name: float(counterexample.get(v.name, _typical(v))) for v in others}
    lo, hi = _window(main, counterexample.get(main.name))
    xs = np.linspace(lo, hi, samples)
    if main.kind == "integer":
        xs = np.unique(np.round(xs))
    values = {**fixed, main.name: xs}
    try:
        ys_ans, ys_ref = _curve(ans, values), _curve(ref, values)
    except (Unplottable, TooLarge, RecursionError):
        return None
    if all(v is None for v in (*ys_ans, *ys_ref)):
        return None
    return {"variable": main.name, "fixed": fixed, "x": [float(f"{x:.7g}") for x in xs.tolist()],
            "answer": ys_ans, "reference": ys_ref}


def illustrate(variables: Sequence[Variable], reference: Any, answer: Any,
               counterexample: Mapping[str, float] | None = None, plot: bool = True) -> Illustration:
    """MathML of both sides and, when ``plot`` and both are single expressions, the curve samples.

    Never raises: a failure here costs the picture, not the grade.
    """
    try:
        curves = sample_curves(reference, answer, variables, counterexample) if plot else None
    except Exception:
        curves = None
    return Illustration(to_mathml(answer), to_mathml(reference), curves)


def _variables(records: Any) -> tuple[Variable, ...]:
    """The plot's variables from their plain records; () when absent or malformed."""
    if not isinstance(records, list):
        return ()
    out = []
    for rec in records:
        if not isinstance(rec, Mapping) or not isinstance(rec.get("name"), str) \
                or rec.get("kind", "real") not in ("real", "integer") \
                or not all(b is None or isinstance(b, (int, float)) for b in (rec.get("lo"), rec.get("hi"))):
            return ()
        out.append(Variable(rec["name"], rec.get("kind", "real"), rec.get("lo"), rec.get("hi")))
    return tuple(out)


def _decoded(tree: Any, symbols: Mapping[str, sp.Symbol]) -> Any:
    """The value an encoded tree stands for; None when there is none or it does not decode."""
    if tree is None:
        return None
    try:
        return decode_value(tree, symbols)
    except (DecodeError, RecursionError):
        return None


def from_evidence(evidence: Mapping[str, Any]) -> Illustration:
    """MathML of both sides and the curve samples, from an item's plain evidence (see the module doc)."""
    variables = _variables(evidence.get("plot_variables"))
    symbols = {v.name: sp.Symbol(v.name, **v.assumptions()) for v in variables}
    point = evidence.get("counterexample")
    point = {k: float(v) for k, v in point.items() if isinstance(v, (int, float))} \
        if isinstance(point, Mapping) else None
    return illustrate(variables, _decoded(evidence.get("expected_tree"), symbols),
                      _decoded(evidence.get("answer_tree"), symbols), point, plot=bool(variables))
