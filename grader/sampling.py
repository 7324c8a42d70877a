"""Where the equivalence engine looks: the points it evaluates both sides at (pure).

Two kinds of points. *Required* points are all checked, whatever the outcome
of the others: three simple points a learner can check by hand; the
*structure* points of the two trees (where their behaviour changes: the zeros
of the arguments of ``Abs``, ``sign``, ``Heaviside``, ``floor``/``ceiling``,
the crossings of ``Max``/``Min`` arguments and ``Piecewise`` conditions, the
zeros of denominators, of even-root, power and log arguments, the ends of
``asin``/``acos``/``atanh`` domains), each exactly at and on both sides of
it; *negative-base* points for powers with a symbolic exponent (the exponent
at small whole numbers and simple fractions, the base negative, so ``(a^b)^c``
is told from ``a^(bc)``); and a *far ladder* (10³, 10⁴ ... 10⁸ and their
negatives, within the domain) for differences that only live far out. Then
*random* points spread over each variable's domain (near zero, moderate,
large; both signs unless the domain says otherwise). Integer variables get
integers, and a variable under ``factorial``/``binomial`` is sampled as one.

Structure points are found by solving each edge expression for one variable
with the others at the first simple point: exactly when it is a polynomial of
degree at most two (a rational root is used exactly, as a Fraction), else
numerically (sign changes on a grid from -10⁹ to 10⁹, then bisection).
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Iterator, Sequence
from dataclasses import replace
from fractions import Fraction
from typing import Any

import mpmath
import sympy as sp

from .spec import Variable

__all__ = ["Point", "finite_domain_size", "plan", "points", "structure_edges", "variables_for"]

#: a coordinate: a float, or an exact Fraction where a structure point is rational
Coordinate = float | Fraction
Point = dict[str, Coordinate]

#: the far ladder's rungs: 10^3 ... 10^8
LADDER = tuple(10.0 ** k for k in range(3, 9))
#: exponent values tried with negative bases: whole numbers and simple fractions
EXPONENTS: tuple[Coordinate, ...] = (2.0, Fraction(1, 2), 3.0, -1.0, Fraction(1, 3), Fraction(3, 2), -2.0,
                                     Fraction(2, 3), 1.0, Fraction(-1, 2))
#: bounds that keep the structure stage cheap on large trees
MAX_EDGES = 16
MAX_STRUCTURE_POINTS = 60
MAX_NEGATIVE_BASE_POINTS = 30
#: functions whose argument must be a whole number (the variable under them is sampled as one)
INTEGER_ARGUMENT = ("factorial", "binomial")


def variables_for(variables: Sequence[Variable], *exprs: Any) -> list[Variable]:
    """The item's variables plus any other free symbol (ranging over its own assumptions);
    a variable that appears bare under ``factorial``/``binomial`` is sampled as an integer."""
    out = list(variables)
    known = {v.name for v in out}
    extra: dict[str, Any] = {}
    for e in exprs:
        for s in getattr(e, "free_symbols", ()):
            if s.name not in known:
                extra.setdefault(s.name, s)
    for name in sorted(extra):
        s = extra[name]
        lo = 0.0 if s.is_positive or s.is_nonnegative else None
        hi = 0.0 if s.is_negative else None
        out.append(Variable(name, "integer" if s.is_integer else "real", lo, hi))
    whole = _integer_argument_names(exprs)
    return [replace(v, kind="integer") if v.name in whole and v.kind != "integer" else v for v in out]


def _integer_argument_names(exprs: Sequence[Any]) -> set[str]:
    names: set[str] = set()
    for e in exprs:
        if not isinstance(e, sp.Basic):
            continue
        for node in sp.preorder_traversal(e):
            if type(node).__name__ in INTEGER_ARGUMENT:
                for a in node.args:
                    names |= {s.name for s in a.free_symbols}
    return names


def _nice_values(var: Variable) -> list[float]:
    if var.kind == "integer":
        base = [1, 2, 3, -1, -2, 4]
        vals = [float(v) for v in base if (var.lo is None or v > var.lo) and (var.hi is None or v < var.hi)]
        return vals or [_random_value(var, random.Random(0))]
    if var.lo is not None and var.hi is not None:
        span = var.hi - var.lo
        return [var.lo + span * f for f in (0.5, 0.25, 0.75, 0.1, 0.9)]
    if var.lo is not None:
        return [var.lo + d for d in (1, 2, 0.5, 3, 5)]
    if var.hi is not None:
        return [var.hi - d for d in (1, 2, 0.5, 3, 5)]
    return [1, 2, -1, 0.5, -2, 3]


def _random_value(var: Variable, rng: random.Random) -> float:
    if var.kind == "integer":
        lo = math.floor(var.lo) + 1 if var.lo is not None else (-6 if rng.random() < 0.8 else -40)
        hi = math.ceil(var.hi) - 1 if var.hi is not None else (6 if rng.random() < 0.8 else 40)
        return float(rng.randint(lo, max(lo, hi)))
    if var.lo is not None and var.hi is not None:
        return rng.uniform(var.lo, var.hi)
    scale = rng.choice((0.05, 0.5, 1.5, 4.0, 10.0, 40.0, 300.0, 3000.0))
    magnitude = rng.uniform(0.02, 1.0) * scale
    if var.lo is not None:
        return var.lo + magnitude
    if var.hi is not None:
        return var.hi - magnitude
    return magnitude if rng.random() < 0.5 else -magnitude


def finite_domain_size(variables: Sequence[Variable]) -> int | None:
    """How many points a domain of bounded integer variables has (None if not such a domain)."""
    size = 1
    for v in variables:
        if v.kind != "integer" or v.lo is None or v.hi is None:
            return None
        size *= max(0, math.ceil(v.hi) - 1 - math.floor(v.lo))
    return size


def _inside(var: Variable, value: Coordinate) -> bool:
    if var.lo is not None and not value > var.lo:
        return False
    if var.hi is not None and not value < var.hi:
        return False
    return var.kind != "integer" or float(value).is_integer()


def _far_value(var: Variable, sign: int, rung: float) -> float | None:
    if var.lo is not None and var.hi is not None:
        return None
    if var.lo is not None:
        return var.lo + rung if sign > 0 else None
    if var.hi is not None:
        return var.hi - rung if sign < 0 else None
    return sign * rung


def _far_points(variables: Sequence[Variable], base: Point, ladder: Sequence[float] = LADDER) -> list[Point]:
    """The geometric ladder: each variable alone far out (the others at the first simple point),
    then all of them together."""
    out: list[Point] = []
    for rung in ladder:
        for sign in (1, -1):
            together = dict(base)
            for v in variables:
                value = _far_value(v, sign, rung)
                if value is None:
                    continue
                together[v.name] = value
                if len(variables) > 1:
                    out.append({**base, v.name: value})
            if together != base:
                out.append(together)
    return out


def points(variables: Sequence[Variable], seed: int, ladder: Sequence[float] = LADDER) -> Iterator[Point]:
    """Simple points, the far ladder, then random ones (the points of ``plan`` without trees)."""
    required, rest = plan(variables, (), seed, ladder)
    yield from required
    yield from rest


def plan(variables: Sequence[Variable], exprs: Sequence[Any], seed: int,
         ladder: Sequence[float] = LADDER) -> tuple[list[Point], Iterator[Point]]:
    """(points that must all be checked, an endless stream of random points) for these trees."""
    nice = [_nice_values(v) for v in variables]
    simple: list[Point] = [{v.name: vals[(k + i) % len(vals)] for i, (v, vals) in enumerate(zip(variables, nice))}
                           for k in range(3)]
    base = simple[0] if simple else {}
    anchors: dict[str, list[float]] = {}
    required = simple + _structure_points(variables, exprs, base, anchors)
    required += _negative_base_points(variables, exprs, base) + _far_points(variables, base, ladder)
    rng = random.Random(seed)

    def value(v: Variable) -> float:
        near = anchors.get(v.name)
        if near and rng.random() < 0.5:  # half the random values spread around a structure point
            c = rng.choice(near)
            x = c + rng.choice((-1, 1)) * rng.uniform(0.02, 1.0) * rng.choice((0.05, 1.0, 30.0)) * max(1.0, abs(c))
            x = float(round(x)) if v.kind == "integer" else x
            if _inside(v, x):
                return x
        return _random_value(v, rng)

    def rest() -> Iterator[Point]:
        while True:
            yield {v.name: value(v) for v in variables}

    return required, rest()


# ---------------------------------------------------------------- structure points


def structure_edges(expr: Any) -> list[Any]:
    """Expressions whose zeros are where ``expr`` changes behaviour (kinks, jumps, domain edges)."""
    edges: list[Any] = []
    if not isinstance(expr, sp.Basic):
        return edges
    for node in sp.preorder_traversal(expr):
        name = type(node).__name__
        args = node.args
        if name in ("Abs", "sign", "floor", "ceiling", "log", "Heaviside", "factorial", "gamma") and args:
            edges.append(args[0])
        elif name in ("Max", "Min"):
            edges.extend(a - b for a, b in itertools.combinations(args, 2))
        elif name in ("asin", "acos", "atanh") and args:
            edges.extend((args[0] - 1, args[0] + 1))
        elif name == "acosh" and args:
            edges.append(args[0] - 1)
        elif name == "Piecewise":
            for _, cond in args:
                for rel in sp.preorder_traversal(cond):
                    if isinstance(rel, sp.core.relational.Relational):
                        edges.append(rel.lhs - rel.rhs)
        elif isinstance(node, sp.Pow):
            b, e = args
            if b.free_symbols and not (e.is_Integer and e > 0):  # a denominator, a root, a real power
                edges.append(b)
    out: list[Any] = []
    for g in edges:
        if g.free_symbols and g not in out:
            out.append(g)
    return out


def _structure_points(variables: Sequence[Variable], exprs: Sequence[Any], base: Point,
                      anchors: dict[str, list[float]]) -> list[Point]:
    """Points at and beside each structure edge's roots; the roots are added to ``anchors``."""
    edges: list[Any] = []
    for e in exprs:
        for g in structure_edges(e):
            if g not in edges:
                edges.append(g)
    by_name = {v.name: v for v in variables}
    out: list[Point] = []
    for g in edges[:MAX_EDGES]:
        for s in sorted(g.free_symbols, key=lambda s: s.name):
            var = by_name.get(s.name)
            if var is None:
                continue
            others = {t: _exact(base[t.name]) for t in g.free_symbols if t is not s and t.name in base}
            if len(others) + 1 != len(g.free_symbols):
                continue
            try:
                h = g.xreplace(others) if others else g
                roots = _roots(h, s)
            except (TypeError, ValueError, ArithmeticError, sp.PolynomialError, RecursionError):
                continue
            for c in roots:
                anchors.setdefault(var.name, []).append(float(c))
                for value in _around(var, c):
                    p = {**base, var.name: value}
                    if p not in out:
                        out.append(p)
            if len(out) >= MAX_STRUCTURE_POINTS:
                return out[:MAX_STRUCTURE_POINTS]
    return out


def _exact(v: Coordinate) -> Any:
    if isinstance(v, Fraction):
        return sp.Rational(v.numerator, v.denominator)
    return sp.Rational(v) if float(v).is_integer() or v * 4 == int(v * 4) else sp.Float(v)


def _around(var: Variable, c: Coordinate) -> list[Coordinate]:
    """The root itself and a point on each side of it, those inside the variable's domain."""
    if var.kind == "integer":
        f = math.floor(c)
        cands: list[Coordinate] = [float(f - 1), float(f), float(f + 1), float(f + 2)]
    else:
        h = 2.0 ** round(math.log2(max(1.0, abs(float(c))))) / 1024
        cands = [c, float(c) - h, float(c) + h]
    return [v for v in cands if _inside(var, v)]


def _roots(h: Any, s: Any) -> list[Coordinate]:
    """Real roots of h(s) = 0: exact for polynomials of degree at most two, else numeric."""
    if h.is_polynomial(s):
        poly = sp.Poly(h, s)
        if poly.degree() <= 0:
            return []
        if poly.degree() <= 2 and all(c.is_Rational for c in poly.all_coeffs()):
            out: list[Coordinate] = []
            for r in sp.roots(poly, filter="R"):
                if r.is_Rational:
                    out.append(Fraction(int(r.p), int(r.q)))
                elif r.is_real:
                    out.append(float(r))
            return out
    return _numeric_roots(h, s)


#: the grid the numeric root finder scans for sign changes
_GRID = sorted({sign * m * 10.0 ** k for k in range(-2, 10) for m in (1.0, 3.0) for sign in (1, -1)} | {0.0})


def _numeric_roots(h: Any, s: Any) -> list[Coordinate]:
    from .evaluate import TooLarge, Undefined, compile_expr  # the evaluator, for cheap values of h

    try:
        f = compile_expr(h)
    except TooLarge:
        return []
    name = s.name

    def value(x: float) -> Any:
        try:
            return f({name: mpmath.mpf(x)})[0]
        except (Undefined, ArithmeticError, TypeError, ValueError):
            return None

    out: list[Coordinate] = []
    with mpmath.workdps(30):
        prev_x, prev = _GRID[0], value(_GRID[0])
        for x in _GRID[1:]:
            cur = value(x)
            if cur == 0:
                out.append(x)
            elif prev is not None and cur is not None and prev != 0 and (prev < 0) != (cur < 0):
                lo, hi, flo = prev_x, x, prev
                for _ in range(60):
                    mid = (lo + hi) / 2
                    fm = value(mid)
                    if fm is None or fm == 0 or mid in (lo, hi):
                        break
                    if (fm < 0) == (flo < 0):
                        lo, flo = mid, fm
                    else:
                        hi = mid
                out.append((lo + hi) / 2)
            prev_x, prev = x, cur
            if len(out) >= 4:
                break
    return out


# ---------------------------------------------------------------- negative bases


def _negative_base_points(variables: Sequence[Variable], exprs: Sequence[Any], base: Point) -> list[Point]:
    """Powers with a symbolic exponent, sampled with the base negative and the exponent at whole
    numbers (solved for each exponent variable: |x|^(4c) meets x^(4c) at c = 1/4) and simple fractions."""
    pows: list[Any] = []
    for e in exprs:
        if isinstance(e, sp.Basic):
            pows += [n for n in sp.preorder_traversal(e)
                     if isinstance(n, sp.Pow) and n.exp.free_symbols and n.base.free_symbols]
    if not pows:
        return []
    exp_names = {s.name for n in pows for s in n.exp.free_symbols}
    base_names = {s.name for n in pows for s in n.base.free_symbols}
    by_name = {v.name: v for v in variables}
    ex_vars = [by_name[n] for n in sorted(exp_names) if n in by_name]
    neg_vars = [by_name[n] for n in sorted(base_names - exp_names) if n in by_name and _inside_neg(by_name[n])]
    if not ex_vars or not neg_vars:
        return []
    wanted: dict[str, list[Coordinate]] = {v.name: [] for v in ex_vars}
    for n in pows[:8]:
        for s in sorted(n.exp.free_symbols, key=lambda t: t.name):
            if s.name not in wanted:
                continue
            others = {t: _exact(base[t.name]) for t in n.exp.free_symbols if t is not s and t.name in base}
            for k in (1, 2, 3, -1):
                try:
                    wanted[s.name] += [r for r in _roots(n.exp.xreplace(others) - k, s) if r not in wanted[s.name]]
                except (TypeError, ValueError, ArithmeticError, sp.PolynomialError, RecursionError):
                    continue
    choices = [[c for c in [*wanted[v.name], *EXPONENTS] if _inside(v, c)] or [base[v.name]] for v in ex_vars]
    negatives = [[c for c in (-2.0, -3.0, -0.5, -1.5) if _inside(v, c)] or [-2.0] for v in neg_vars]
    out: list[Point] = []
    for k, combo in enumerate(itertools.product(*choices)):
        if len(out) >= MAX_NEGATIVE_BASE_POINTS:
            break
        p = dict(base)
        p.update({v.name: c for v, c in zip(ex_vars, combo)})
        p.update({v.name: vals[(k + i) % len(vals)] for i, (v, vals) in enumerate(zip(neg_vars, negatives))})
        if all(_inside(by_name[n], val) for n, val in p.items() if n in by_name) and p not in out:
            out.append(p)
    return out


def _inside_neg(var: Variable) -> bool:
    return var.lo is None or var.lo < -0.5
