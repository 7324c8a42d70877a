"""Decide whether two expressions are the same real function (pure, no I/O).

``compare(reference, answer, variables)`` returns a Verdict: ``equivalent``,
``not_equivalent`` (with a counterexample) or ``undecided`` (never a guess).
This first version evaluates both sides at random points of the variables'
domains with mpmath at high precision, using its own tree walker (no
``lambdify``: learner expressions are never turned into code).
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import Any, Literal, Mapping, Sequence

import mpmath
import sympy as sp

from .spec import Variable

VerdictStatus = Literal["equivalent", "not_equivalent", "undecided"]

#: deep-learning names a learner may use as undefined functions, with their meaning
KNOWN_FUNCTIONS = {
    "sigmoid": lambda z: 1 / (1 + sp.exp(-z)),
    "σ": lambda z: 1 / (1 + sp.exp(-z)),
    "softplus": lambda z: sp.log(1 + sp.exp(z)),
    "relu": lambda z: sp.Max(0, z),
    "ln": sp.log,
}


@dataclass(frozen=True)
class Verdict:
    """The engine's answer with its evidence."""

    status: VerdictStatus
    method: str
    evidence: str
    counterexample: Mapping[str, float] = field(default_factory=dict)
    answer_value: float | None = None
    reference_value: float | None = None
    seconds: float = 0.0


class _Undefined(Exception):
    pass


_MP_FUNCS: dict[str, Any] = {
    "exp": mpmath.exp, "log": mpmath.log, "sin": mpmath.sin, "cos": mpmath.cos, "tan": mpmath.tan,
    "cot": mpmath.cot, "sec": mpmath.sec, "csc": mpmath.csc, "asin": mpmath.asin, "acos": mpmath.acos,
    "atan": mpmath.atan, "sinh": mpmath.sinh, "cosh": mpmath.cosh, "tanh": mpmath.tanh,
    "coth": mpmath.coth, "sech": mpmath.sech, "csch": mpmath.csch, "asinh": mpmath.asinh,
    "acosh": mpmath.acosh, "atanh": mpmath.atanh, "Abs": abs, "erf": mpmath.erf,
    "sign": lambda v: mpmath.sign(v), "floor": mpmath.floor, "ceiling": mpmath.ceil,
}


def expand_known_functions(expr: Any) -> Any:
    """Replace applied ``sigmoid``/``σ``/``softplus``/``relu``/``ln`` by their definitions."""
    if not isinstance(expr, sp.Basic):
        return expr
    repl = {}
    for f in expr.atoms(sp.core.function.AppliedUndef):
        name = type(f).__name__
        if name in KNOWN_FUNCTIONS and len(f.args) == 1:
            repl[f] = KNOWN_FUNCTIONS[name](f.args[0])
    return expr.xreplace(repl) if repl else expr


def evaluate(expr: Any, point: Mapping[sp.Symbol, Any]) -> Any:
    """Evaluate ``expr`` at ``point`` with mpmath; raise _Undefined where it is not real."""
    if isinstance(expr, sp.Symbol):
        return point[expr]
    if expr.is_Number or expr in (sp.pi, sp.E):
        if expr in (sp.nan, sp.zoo, sp.oo, -sp.oo):
            raise _Undefined
        return mpmath.mpf(sp.Float(expr, mpmath.mp.dps)) if not expr.is_Integer else mpmath.mpf(int(expr))
    if expr == sp.I:
        raise _Undefined
    args = [evaluate(a, point) for a in expr.args]
    try:
        if isinstance(expr, sp.Add):
            out = mpmath.fsum(args)
        elif isinstance(expr, sp.Mul):
            out = mpmath.fprod(args)
        elif isinstance(expr, sp.Pow):
            base, ex = args
            if base == 0 and ex < 0:
                raise _Undefined
            out = mpmath.power(base, ex)
        elif isinstance(expr, (sp.Max, sp.Min)):
            out = (max if isinstance(expr, sp.Max) else min)(args)
        elif type(expr).__name__ in _MP_FUNCS:
            out = _MP_FUNCS[type(expr).__name__](*args)
        else:
            raise _Undefined
    except (ValueError, ZeroDivisionError, OverflowError):
        raise _Undefined from None
    if isinstance(out, mpmath.mpc):
        if abs(out.imag) > mpmath.mpf(10) ** (-mpmath.mp.dps // 2) * max(1, abs(out.real)):
            raise _Undefined
        out = out.real
    if not mpmath.isfinite(out):
        raise _Undefined
    return out


def _sample(var: Variable, rng: random.Random) -> Any:
    lo = var.lo if var.lo is not None else -12.0
    hi = var.hi if var.hi is not None else 12.0
    if var.kind == "integer":
        return mpmath.mpf(rng.randint(int(max(lo, -8)) + 1, int(min(hi, 8)) - 1 if var.hi is not None else 8))
    scale = rng.choice([0.01, 0.3, 1.0, 3.0, 10.0])
    for _ in range(20):
        v = rng.uniform(-scale, scale) * (1 if rng.random() < 0.9 else 5)
        if var.lo is not None:
            v = var.lo + abs(v - var.lo) if v <= var.lo else v
        if var.hi is not None and v >= var.hi:
            v = var.hi - abs(v - var.hi) - 1e-3
        if lo < v < hi or var.lo is None and var.hi is None:
            return mpmath.mpf(v)
    return mpmath.mpf((lo + hi) / 2)


def compare(
    reference: Any,
    answer: Any,
    variables: Sequence[Variable],
    *,
    points: int = 24,
    budget: float = 1.0,
    seed: int = 0,
) -> Verdict:
    """Compare two scalar SymPy expressions as real functions over the variables' domains."""
    started = time.perf_counter()
    ref, ans = expand_known_functions(sp.sympify(reference)), expand_known_functions(answer)
    if ref == ans:
        return Verdict("equivalent", "identical", "the expressions are identical",
                       seconds=time.perf_counter() - started)
    symbols = {v.name: sp.Symbol(v.name, **v.assumptions()) for v in variables}
    by_name = {s.name: s for s in ref.free_symbols | ans.free_symbols}
    rng = random.Random(seed)
    agreed = 0
    with mpmath.workdps(50):
        for _ in range(points * 4):
            if agreed >= points or time.perf_counter() - started > budget:
                break
            point_by_name = {v.name: _sample(v, rng) for v in variables}
            point = {by_name[n]: val for n, val in point_by_name.items() if n in by_name}
            point.update({s: mpmath.mpf(rng.uniform(-3, 3)) for s in by_name.values() if s not in point})
            try:
                a, b = evaluate(ref, point), evaluate(ans, point)
            except _Undefined:
                continue
            scale = max(abs(a), abs(b), mpmath.mpf(1))
            if abs(a - b) > mpmath.mpf("1e-12") * scale:
                where = {n: float(v) for n, v in point_by_name.items()}
                return Verdict("not_equivalent", "numeric",
                               f"they differ at {_fmt_point(where)}: {float(b):.6g} versus {float(a):.6g}",
                               where, float(b), float(a), time.perf_counter() - started)
            agreed += 1
    seconds = time.perf_counter() - started
    if agreed >= max(points // 2, 4):
        return Verdict("equivalent", "numeric", f"they agree at {agreed} random points (50-digit arithmetic)",
                       seconds=seconds)
    _ = symbols
    return Verdict("undecided", "numeric", f"only {agreed} points could be checked", seconds=seconds)


def _fmt_point(point: Mapping[str, float]) -> str:
    return ", ".join(f"{k} = {v:.4g}" for k, v in point.items())
