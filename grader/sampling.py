"""Where the equivalence engine looks: the points it evaluates both sides at (pure).

Three simple points a learner can check by hand, two far out (±1000) for
differences that only show at large magnitude, then random points spread over
each variable's domain (near zero, moderate, large; both signs unless the
domain says otherwise). Integer variables get integers.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Sequence
from typing import Any

from .spec import Variable

__all__ = ["finite_domain_size", "points", "variables_for"]


def variables_for(variables: Sequence[Variable], *exprs: Any) -> list[Variable]:
    """The item's variables plus any other free symbol (ranging over its own assumptions)."""
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
    return out


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


def _far_value(var: Variable, sign: int, i: int) -> float | None:
    if var.lo is not None and var.hi is not None:
        return None
    if var.lo is not None:
        return var.lo + 1000.0 + 37 * i if sign > 0 else None
    if var.hi is not None:
        return var.hi - 1000.0 - 37 * i if sign < 0 else None
    return sign * (1000.0 + 37 * i)


def points(variables: Sequence[Variable], seed: int) -> Iterator[dict[str, float]]:
    """A few simple points a learner can check by hand, two far out, then random ones."""
    nice = [_nice_values(v) for v in variables]
    for k in range(3):
        yield {v.name: vals[(k + i) % len(vals)] for i, (v, vals) in enumerate(zip(variables, nice))}
    for sign in (1, -1):  # differences that only show at large magnitude (a step at x = 500)
        far: dict[str, float] = {}
        for i, v in enumerate(variables):
            value = _far_value(v, sign, i)
            if value is None:  # a bounded variable has no far point
                break
            far[v.name] = value
        else:
            yield far
    rng = random.Random(seed)
    while True:
        yield {v.name: _random_value(v, rng) for v in variables}
