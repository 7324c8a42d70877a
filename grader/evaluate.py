"""Evaluate SymPy trees at a point with mpmath, at a chosen precision (pure).

``compile_expr`` turns a tree into nested Python closures once (no code
generation, no ``exec``: learner trees are only walked), so evaluating at many
points is cheap. Each evaluation returns the value and a *magnitude*, the log2
of an upper estimate of the size its rounding errors scale with (the largest
added term, amplified through products and functions; a plain float, cheap to
carry), so that cancellation is told apart from a real difference.

Anything that is not a finite real number at the point (log of a negative,
division by zero, a complex result, overflow beyond ~2^(10^6)) raises
``Undefined``; the caller skips the point.
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections.abc import Callable, Mapping
from typing import Any

import mpmath
import sympy as sp
from sympy.core.function import AppliedUndef

from .known_functions import BY_NAME, FUNCTION_TABLE, resolve

MAX_NODES = 5_000
MAX_DEPTH = 150
#: values beyond 2^MAX_BITS (or below 2^-MAX_BITS) count as overflow at that point
MAX_BITS = 1 << 20
#: periodic functions need the argument to about its size in digits; beyond this, skip the point
MAX_TRIG_ARG = mpmath.mpf(10) ** 12

Value = tuple[Any, float]  # (value, log2 of its error scale)
NEG_INF = float("-inf")
Compiled = Callable[[Mapping[str, Any]], Value]


class Undefined(Exception):
    """The expression has no finite real value at this point."""


class Overflow(Undefined):
    """A value too large (or an argument too large) to evaluate at this point."""


class TooLarge(Exception):
    """The tree is too big or too deep to evaluate within the time budget."""


class Unsupported(TooLarge):
    """The tree contains something the evaluator does not know (an integral, a Piecewise...)."""


def tree_size(expr: Any) -> tuple[int, int]:
    """(nodes, depth) of a tree, walked iteratively and bounded so hostile trees stay cheap."""
    if not isinstance(expr, sp.Basic):
        return 1, 1
    nodes, depth = 0, 0
    stack: list[tuple[Any, int]] = [(expr, 1)]
    while stack:
        node, d = stack.pop()
        nodes += 1
        depth = max(depth, d)
        if nodes > MAX_NODES or depth > MAX_DEPTH:
            raise TooLarge(f"the expression is too large to check (over {MAX_NODES} nodes "
                           f"or {MAX_DEPTH} levels deep)")
        stack.extend((a, d + 1) for a in node.args)
    return nodes, depth


#: per-thread evaluation mode: complex intermediates are allowed only in trees that contain I
_MODE = threading.local()


def _complex_ok() -> bool:
    return getattr(_MODE, "complex", False)


def _real(v: Any) -> Any:
    """Check an intermediate value: finite, not overflowing, and real (unless in complex mode)."""
    if isinstance(v, mpmath.mpc):
        if _complex_ok():
            if not mpmath.isfinite(v):
                raise Undefined("not finite")
            if v != 0 and abs(mpmath.mag(abs(v))) > MAX_BITS:
                raise Overflow("overflow")
            return v
        if v.imag != 0:
            raise Undefined("not real")
        v = v.real
    if not mpmath.isfinite(v):
        raise Undefined("not finite")
    if v != 0 and abs(mpmath.mag(v)) > MAX_BITS:
        raise Overflow("overflow")
    return v


def _strict_real(v: Any) -> Any:
    if isinstance(v, mpmath.mpc):
        if v.imag != 0:
            raise Undefined("not real")
        return v.real
    return v


def _lg(v: Any) -> float:
    """log2 |v| (to within one), -inf for zero."""
    return float(mpmath.mag(v)) if v else NEG_INF


def _bounded(f: Callable[[Any], Any], periodic: bool = False) -> Callable[[Any, Any], Value]:
    """Functions whose derivative is of order one (sin, tanh, atan, erf, ...)."""

    def run(u: Any, mu: Any) -> Value:
        if periodic and abs(u) > MAX_TRIG_ARG:
            raise Overflow("argument too large")
        v = _real(f(u))
        return v, max(_lg(v), mu) + 1

    return run


def _grows(f: Callable[[Any], Any], periodic: bool = False) -> Callable[[Any, Any], Value]:
    """exp, sinh, cosh: relative error is the argument's absolute error."""

    def run(u: Any, mu: Any) -> Value:
        if abs(u) > MAX_BITS:
            raise Overflow("overflow")
        v = _real(f(u))
        return v, _lg(v) + max(0.0, mu) + 1

    return run


def _singular(f: Callable[[Any], Any], periodic: bool = False) -> Callable[[Any, Any], Value]:
    """log, tan, sec, ...: error amplified by 1/|u| (or worse near poles)."""

    def run(u: Any, mu: Any) -> Value:
        if periodic and abs(u) > MAX_TRIG_ARG:
            raise Overflow("argument too large")
        v = _real(f(u))
        lv = _lg(v)
        return v, max(lv, mu + 2 * max(0.0, lv) + max(0.0, -_lg(u))) + 2

    return run


def _exact(f: Callable[[Any], Any], periodic: bool = False) -> Callable[[Any, Any], Value]:
    """|u|: the argument's error, unchanged."""
    return lambda u, mu: (f(u), mu)


def _rounding_zero(u: Any, mu: float) -> bool:
    """Whether ``u`` is zero to within its own rounding error (8 digits of headroom): at an exact
    structure point such as x = 1/3, 3x - 1 is 1e-31 only because 1/3 was rounded."""
    return bool(u == 0 or mpmath.mag(u) < mu + (8 - mpmath.mp.dps) * 3.33)


def _snap(u: Any, mu: float) -> Any:
    """``u`` with a rounding-error distance to zero (or, for floor/ceiling, to a whole number) removed."""
    u = _strict_real(u)
    if _rounding_zero(u, mu):
        return mpmath.mpf(0)
    n = mpmath.nint(u)
    return n if n != 0 and _rounding_zero(u - n, mu) else u


def _step(f: Callable[[Any], Any], periodic: bool = False) -> Callable[[Any, Any], Value]:
    """sign, Heaviside: piecewise constant, no rounding error of their own."""
    return lambda u, mu: (f(_snap(u, mu) if _rounding_zero(u, mu) else u), 0.0)


def _integer(f: Callable[[Any], Any], periodic: bool = False) -> Callable[[Any, Any], Value]:
    """floor, ceiling: an integer, as large as itself."""

    def run(u: Any, mu: Any) -> Value:
        v = _real(f(_snap(u, mu)))
        return v, max(_lg(v), mu)

    return run


_GROWTH: dict[str, Callable[..., Callable[[Any, Any], Value]]] = {
    "bounded": _bounded, "grows": _grows, "singular": _singular, "exact": _exact, "step": _step,
    "integer": _integer,
}

#: SymPy function name -> evaluation of one argument, derived from the function table
#: (Max/Min, whose growth is "extreme", take several arguments and are compiled apart)
UNARY: dict[str, Callable[[Any, Any], Value]] = {
    f.name: _GROWTH[f.growth](f.mp, f.periodic)
    for f in FUNCTION_TABLE if f.mp is not None and f.growth in _GROWTH
}


def _opaque(name: str, n_args: int) -> Callable[[list[Value]], Value]:
    """A function the grader does not know: a fixed pseudo-random smooth function of its
    arguments, so f(x) equals f(x) but matches nothing else."""
    seed = hashlib.sha256(f"{name}/{n_args}".encode()).digest()
    ks = [1 + b / 64 for b in seed[:n_args]] or [1.0]
    cs = [b / 40 for b in seed[8:8 + n_args]] or [0.0]

    def run(args: list[Value]) -> Value:
        v = mpmath.mpf(seed[20]) / 16 + mpmath.fsum(
            mpmath.sin(k * a + c) for k, c, (a, _) in zip(ks, cs, args))
        return v, max([_lg(v)] + [m for _, m in args]) + 1

    return run


def _number(expr: Any) -> Value:
    if isinstance(expr, sp.Integer):
        v = mpmath.mpf(int(expr))
    elif isinstance(expr, sp.Rational):
        v = mpmath.mpf(int(expr.p)) / int(expr.q)
    elif isinstance(expr, sp.Float):
        v = mpmath.mpf(expr._mpf_)
    elif expr == sp.pi:
        v = +mpmath.pi
    elif expr == sp.E:
        v = +mpmath.e
    elif expr in (sp.nan, sp.zoo, sp.oo, -sp.oo) or expr.is_real is False:
        raise Undefined("not a real number")
    else:
        v = mpmath.mpf(sp.Float(expr.evalf(mpmath.mp.dps + 5), mpmath.mp.dps + 5)._mpf_)
    return v, _lg(v)


def compile_expr(expr: Any) -> Compiled:
    """Turn a SymPy tree into a callable ``point -> (value, magnitude)``.

    ``point`` maps symbol names to mpmath numbers; raise TooLarge for hostile
    trees before anything else is done with them.
    """
    tree_size(expr)
    expr = sp.sympify(expr) if not isinstance(expr, sp.Basic) else expr
    inner = _compile(expr)
    if not expr.has(sp.I):
        return inner

    def complex_root(p: Mapping[str, Any]) -> Value:
        # a tree with I (such as -I(e^(ix) - e^(-ix))/2) may pass through complex values;
        # only its final value must be real
        _MODE.complex = True
        try:
            v, m = inner(p)
        finally:
            _MODE.complex = False
        if isinstance(v, mpmath.mpc):
            if v.imag and _lg(v.imag) > m + (8 - mpmath.mp.dps) * 3.33:
                raise Undefined("not real")
            v = v.real
        return v, m

    return complex_root


def _compile(expr: Any) -> Compiled:
    if isinstance(expr, sp.Symbol):
        name = expr.name
        return lambda p: (p[name], _lg(p[name]))
    if expr.is_Number or isinstance(expr, sp.NumberSymbol) or expr is sp.I or expr in (sp.zoo, sp.nan):
        if expr is sp.I:
            def imaginary(p: Mapping[str, Any]) -> Value:
                if not _complex_ok():
                    raise Undefined("not a real number")
                return mpmath.mpc(0, 1), 0.0
            return imaginary
        if expr in (sp.zoo, sp.nan, sp.oo, -sp.oo):
            def bad(p: Mapping[str, Any]) -> Value:
                raise Undefined("not a real number")
            return bad
        cache: dict[int, Value] = {}

        def const(p: Mapping[str, Any]) -> Value:
            dps = mpmath.mp.dps
            if dps not in cache:
                cache[dps] = _number(expr)
            return cache[dps]
        return const
    name = type(expr).__name__
    if isinstance(expr, sp.Piecewise):
        return _piecewise(expr)
    if isinstance(expr, AppliedUndef):
        known = resolve(name, len(expr.args))
        if known is not None:  # a learner's Function('σ')(x) or Function('arctan')(x) is that function
            return _compile(known.build(*expr.args))
    kids = [_compile(a) for a in expr.args]
    if isinstance(expr, sp.Add):
        spread = math.log2(len(kids))

        def add(p: Mapping[str, Any]) -> Value:
            vals = [k(p) for k in kids]
            return mpmath.fsum([v for v, _ in vals]), max([m for _, m in vals]) + spread
        return add
    if isinstance(expr, sp.Mul):
        def mul(p: Mapping[str, Any]) -> Value:
            vals = [k(p) for k in kids]
            return mpmath.fprod([v for v, _ in vals]), sum([m for _, m in vals])
        return mul
    if isinstance(expr, sp.Pow):
        kb, ke = kids
        return lambda p: _power(kb(p), ke(p))
    entry = BY_NAME.get(name)
    if entry is not None and entry.growth == "extreme" and entry.mp is not None and isinstance(expr, entry.sympy):
        pick = entry.mp  # Max, Min

        def extreme(p: Mapping[str, Any]) -> Value:
            vals = [k(p) for k in kids]
            return pick(_strict_real(v) for v, _ in vals), max(m for _, m in vals)
        return extreme
    if entry is not None and entry.growth == "integer" and entry.mp is not None and len(kids) > 1 \
            and isinstance(expr, entry.sympy):  # binomial(n, k)
        whole = entry.mp

        def several(p: Mapping[str, Any]) -> Value:
            vals = [k(p) for k in kids]
            try:
                v = _real(whole(*(_snap(u, mu) for u, mu in vals)))
            except (ValueError, ZeroDivisionError, OverflowError, TypeError):
                raise Undefined("outside the function's domain") from None
            return v, max([_lg(v)] + [m for _, m in vals])
        return several
    if name in UNARY and len(kids) == 1:
        f, (k,) = UNARY[name], kids
        return lambda p: _call(f, k(p))
    if name == "Heaviside" and len(kids) == 2:  # Heaviside(x, value at 0)
        kx, k0 = kids

        def step(p: Mapping[str, Any]) -> Value:
            u, mu = kx(p)
            u = _strict_real(u)
            u = mpmath.mpf(0) if _rounding_zero(u, mu) else u
            return (k0(p)[0] if u == 0 else mpmath.mpf(u > 0)), 0.0
        return step
    if name == "log" and len(kids) == 2:  # log(x, b)
        kx, kb2 = kids
        return lambda p: _divide(_call(UNARY["log"], kx(p)), _call(UNARY["log"], kb2(p)))
    if isinstance(expr, AppliedUndef):
        f_opaque = _opaque(name, len(kids))
        return lambda p: f_opaque([k(p) for k in kids])
    raise Unsupported(f"the grader cannot evaluate {name}")


Test = Callable[[Mapping[str, Any]], bool]

_RELATIONS: dict[str, Callable[[Any], bool]] = {
    "<": lambda d: d < 0, "<=": lambda d: d <= 0, ">": lambda d: d > 0, ">=": lambda d: d >= 0,
    "==": lambda d: d == 0, "!=": lambda d: d != 0,
}


def _condition(cond: Any) -> Test:
    """A Piecewise condition as a test at a point; the sides' difference is zero when it is
    zero to within rounding (so the branch taken at an exact structure point is the exact one)."""
    if cond is sp.true or cond == sp.true:
        return lambda p: True
    if cond is sp.false or cond == sp.false:
        return lambda p: False
    if isinstance(cond, sp.core.relational.Relational) and cond.rel_op in _RELATIONS:
        kd, holds = _compile(sp.Add(cond.lhs, sp.Mul(-1, cond.rhs, evaluate=False), evaluate=False)), \
            _RELATIONS[cond.rel_op]

        def rel(p: Mapping[str, Any]) -> bool:
            d, md = kd(p)
            d = _strict_real(d)
            return holds(mpmath.mpf(0) if _rounding_zero(d, md) else d)
        return rel
    parts = [_condition(c) for c in cond.args]
    if isinstance(cond, sp.And):
        return lambda p: all(t(p) for t in parts)
    if isinstance(cond, sp.Or):
        return lambda p: any(t(p) for t in parts)
    if isinstance(cond, sp.Not):
        return lambda p: not parts[0](p)
    raise Unsupported(f"the grader cannot evaluate the condition {type(cond).__name__}")


def _piecewise(expr: Any) -> Compiled:
    branches = [(_compile(e), _condition(c)) for e, c in expr.args]

    def run(p: Mapping[str, Any]) -> Value:
        for value, test in branches:
            if test(p):
                return value(p)
        raise Undefined("no branch of the Piecewise holds")
    return run


def _call(f: Callable[[Any, Any], Value], arg: Value) -> Value:
    try:
        return f(*arg)
    except (ValueError, ZeroDivisionError, OverflowError, TypeError):
        raise Undefined("outside the function's domain") from None


def _divide(a: Value, b: Value) -> Value:
    if b[0] == 0:
        raise Undefined("division by zero")
    v = _real(a[0] / b[0])
    lb = _lg(b[0])  # absolute error of a/b: err_a/|b| + |a| err_b/b^2
    return v, max(_lg(v), a[1] - lb, _lg(a[0]) + b[1] - 2 * lb) + 1


def _log2(b: Any) -> float:
    """log2 |b| for a nonzero b, cheaply (a double where it fits, else the binary exponent)."""
    f = abs(float(b.real if isinstance(b, mpmath.mpc) else b)) if _lg(b) < 1000 and _lg(b) > -1000 else 0.0
    return math.log2(f) if f else _lg(b)


def _power(base: Value, ex: Value) -> Value:
    (b, mb), (e, me) = base, ex
    if b == 0:
        if e > 0:
            return mpmath.mpf(0), mb
        raise Undefined("zero to a non-positive power")
    if not _complex_ok() and b < 0 and e != mpmath.floor(e):
        raise Undefined("negative base, fractional exponent")
    lb = _log2(b)
    if abs(e) * abs(lb) > MAX_BITS:
        raise Overflow("overflow")
    try:
        v = _real(mpmath.power(b, e))
    except (ValueError, ZeroDivisionError, OverflowError):
        raise Undefined("power not defined") from None
    lv = _lg(v)  # absolute error: |v| (|e| err_b/|b| + |ln b| err_e)
    spread = max(math.log2(1 + min(float(abs(e)), 1e300)) + mb - lb, math.log2(1 + abs(lb) * 0.7) + me)
    return v, lv + max(0.0, spread) + 1
