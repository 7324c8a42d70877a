"""Decide whether two expressions are the same real function (pure, no I/O).

``compare(reference, answer, variables)`` returns a Verdict: ``equivalent``,
``not_equivalent`` (with a counterexample point and both values) or
``undecided`` (never a guess). Semantics: equality as real functions on the
common real domain of both sides, inside the variables' domains; removable
singularities are ignored; floating-point literals count as equal when they
agree to about double precision.

Method: both trees are compiled to mpmath evaluators (grader.evaluate, no
``lambdify``) and evaluated at the points ``grader.sampling.plan`` gives: simple
points, the trees' structure points (kinks, jumps, domain edges, exactly at and
beside each), negative bases for symbolic exponents, a far ladder (10^3..10^8),
then random points spread over the domain. Each value carries an estimate
of its rounding error, and a mismatch is re-checked at 3x the precision (10x
if the difference moved) before it counts, so cancellation never produces a
false counterexample; points where either side is undefined are skipped.
Small rational functions and small exp/log/trig expressions also get a bounded
symbolic proof, tried only after the points agreed (the evidence says proved or
sampled). Everything is
bounded by tree size and a time budget; running out gives ``undecided``.

Results are memoised in a bounded LRU keyed by the trees (structural equality)
and the domains, so identical answers across a class cost one comparison.
"""

from __future__ import annotations

import itertools
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Literal, NamedTuple

import mpmath
import sympy as sp

from . import sampling
from .evaluate import Compiled, Overflow, TooLarge, Undefined, Unsupported, compile_expr, tree_size
from .known_functions import KNOWN_FUNCTIONS, expand_known_functions
from .sampling import variables_for
from .spec import Variable

__all__ = [
    "KNOWN_FUNCTIONS",
    "Verdict",
    "cache_info",
    "clear_cache",
    "compare",
    "expand_known_functions",
    "format_number",
    "sample_values",
    "variables_for",
]

VerdictStatus = Literal["equivalent", "not_equivalent", "undecided"]

#: working precisions (decimal digits): a mismatch must survive the higher ones
PRECISIONS = (30, 90, 300)
#: relative tolerance when either side has a floating-point literal ("about double precision")
FLOAT_RTOL = mpmath.mpf("1e-13")
CACHE_SIZE = 4096


@dataclass(frozen=True)
class Verdict:
    """The engine's answer with its evidence.

    ``method`` says how it was reached: ``identical``, ``symbolic`` (a proof),
    ``numeric`` (agreement at ``points_checked`` points, or a counterexample),
    ``exhaustive`` (every point of a small integer domain), ``shape`` (lists of
    different lengths), ``domain`` (the answer is undefined where
    the reference is defined), or for ``undecided`` ``budget``/``too_large``/``unsupported``.
    """

    status: VerdictStatus
    method: str
    evidence: str
    counterexample: Mapping[str, float] = field(default_factory=dict)
    answer_value: float | None = None
    reference_value: float | None = None
    seconds: float = 0.0
    points_checked: int = 0

    def to_evidence(self) -> dict[str, Any]:
        """The verdict as plain data for ``ItemResult.evidence`` (reports draw from these keys)."""
        return {"verdict": self.status, "method": self.method, "evidence": self.evidence,
                "counterexample": dict(self.counterexample), "answer_value": self.answer_value,
                "reference_value": self.reference_value, "points_checked": self.points_checked,
                "seconds": round(self.seconds, 6)}

    def undecided_feedback(self) -> str:
        """What a learner is told when the engine could not decide (never scored as wrong)."""
        return f"the grader could not decide whether this is right ({self.evidence}); flagged for your instructor"


class CacheInfo(NamedTuple):
    hits: int
    misses: int
    size: int
    maxsize: int


class _LRU:
    """A small thread-safe LRU for verdicts (and the diagnoses built on them)."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self.data: OrderedDict[Any, Any] = OrderedDict()
        self.hits = self.misses = 0
        self.lock = threading.Lock()

    def get(self, key: Any) -> Any:
        with self.lock:
            if key in self.data:
                self.hits += 1
                self.data.move_to_end(key)
                return self.data[key]
            self.misses += 1
            return None

    def put(self, key: Any, value: Any) -> None:
        with self.lock:
            self.data[key] = value
            self.data.move_to_end(key)
            while len(self.data) > self.maxsize:
                self.data.popitem(last=False)

    def clear(self) -> None:
        with self.lock:
            self.data.clear()
            self.hits = self.misses = 0


_CACHE = _LRU(CACHE_SIZE)
_MP_LOCK = threading.RLock()


def cache_info() -> CacheInfo:
    """Hits, misses and size of the in-process verdict cache."""
    return CacheInfo(_CACHE.hits, _CACHE.misses, len(_CACHE.data), _CACHE.maxsize)


def clear_cache() -> None:
    """Empty the verdict cache and reset its counters."""
    _CACHE.clear()


def cache_key(*parts: Any) -> Any:
    """A key for SymPy trees and plain values (used by diagnosis too).

    SymPy trees are their own keys: their hash is structural and cached, and ``==``
    is exact structural equality (symbols' assumptions included; since SymPy 1.13 a
    Float never equals an Integer), so equal keys mean the same trees. ``srepr``
    would do too but costs ~0.2 ms per node.
    """
    return tuple(_freeze(p) for p in parts)


def _freeze(p: Any) -> Any:
    if isinstance(p, (list, tuple)):
        return tuple(_freeze(q) for q in p)
    try:
        hash(p)
    except TypeError:
        return repr(p)
    return p


def format_number(v: Any) -> str:
    """A value as a learner reads it: up to 6 significant digits."""
    return mpmath.nstr(v, 6, min_fixed=-4, max_fixed=7) if not isinstance(v, float) else f"{v:.6g}"


def _as_expr(value: Any, names: Sequence[Any] = ()) -> Any:
    if isinstance(value, sp.Basic):
        return value
    if isinstance(value, bool):
        raise TypeError("a boolean is not an expression")
    if isinstance(value, int):
        return sp.Integer(value)
    if isinstance(value, float):
        return sp.Float(value)
    if isinstance(value, str):
        from .parsing import parse_expression
        return parse_expression(value, names)
    raise TypeError(f"cannot compare a {type(value).__name__}")


def _components(value: Any) -> tuple[list[Any], tuple[int, ...]] | None:
    if isinstance(value, sp.MatrixBase):
        return list(value), tuple(value.shape)
    if isinstance(value, (list, tuple)):
        return list(value), (len(value),)
    return None


def compare(
    reference: Any,
    answer: Any,
    variables: Sequence[Variable],
    *,
    points: int = 16,
    budget: float = 1.0,
    seed: int = 0,
) -> Verdict:
    """Compare two expressions (or same-shaped lists/matrices of them) as real
    functions over the variables' domains. Strings are read with the safe parser."""
    started = time.perf_counter()
    names = [v.name for v in variables]
    ref_parts, ans_parts = _components(reference), _components(answer)
    if ref_parts is not None or ans_parts is not None:
        return _compare_components(reference, answer, ref_parts, ans_parts, variables,
                                   points=points, budget=budget, seed=seed, started=started)
    ref, ans = _as_expr(reference, names), _as_expr(answer, names)
    try:
        tree_size(ref)
        tree_size(ans)
    except TooLarge as exc:
        return Verdict("undecided", "too_large", str(exc), seconds=time.perf_counter() - started)
    key = cache_key(ref, ans, tuple(variables), points, seed)
    hit = _CACHE.get(key)
    if hit is not None:
        return hit
    verdict = _compare_scalar(ref, ans, variables, points=points, budget=budget, seed=seed, started=started)
    if verdict.method != "budget":  # a timeout may not repeat on a quieter machine
        _CACHE.put(key, verdict)
    return verdict


def _compare_components(reference: Any, answer: Any, ref_parts: Any, ans_parts: Any,
                        variables: Sequence[Variable], *, started: float, **kw: Any) -> Verdict:
    if ref_parts is None or ans_parts is None:
        want = "a list of expressions" if ref_parts is not None else "a single expression"
        return Verdict("not_equivalent", "shape", f"expected {want}, got "
                       f"{'a list' if ans_parts is not None else 'a single expression'}",
                       seconds=time.perf_counter() - started)
    (refs, rshape), (anss, ashape) = ref_parts, ans_parts
    if len(refs) != len(anss) or (len(rshape) == 2 == len(ashape) and rshape != ashape):
        what = "x".join(map(str, rshape)) if len(rshape) == 2 else f"{len(refs)} components"
        got = "x".join(map(str, ashape)) if len(ashape) == 2 else f"{len(anss)} components"
        return Verdict("not_equivalent", "shape", f"expected {what}, got {got}",
                       seconds=time.perf_counter() - started)
    undecided: Verdict | None = None
    budget = kw.pop("budget")
    for i, (r, a) in enumerate(zip(refs, anss)):
        left = budget - (time.perf_counter() - started)  # the components share one budget
        if left <= 0:
            return Verdict("undecided", "budget", f"ran out of time after {i} of {len(refs)} components",
                           seconds=time.perf_counter() - started)
        v = compare(r, a, variables, budget=left, **kw)
        if v.status == "not_equivalent":
            return Verdict(v.status, v.method, f"component {i + 1}: {v.evidence}", v.counterexample,
                           v.answer_value, v.reference_value, time.perf_counter() - started, v.points_checked)
        if v.status == "undecided" and undecided is None:
            undecided = Verdict(v.status, v.method, f"component {i + 1}: {v.evidence}",
                                seconds=time.perf_counter() - started)
    if undecided is not None:
        return undecided
    return Verdict("equivalent", "components", f"all {len(refs)} components are equivalent",
                   seconds=time.perf_counter() - started)


def _has_float(expr: Any) -> bool:
    return bool(expr.atoms(sp.Float))


def _eval_pair(fa: Compiled, fb: Compiled, point: Mapping[str, Any], dps: int) -> tuple[Any, Any]:
    """Each side's (value, magnitude) at ``point`` with ``dps`` digits, or the
    Undefined exception saying why it has no value there."""
    with _MP_LOCK, mpmath.workdps(dps):  # mpmath's precision is process-global: one thread at a time
        p = {k: _mp(v) for k, v in point.items()}
        out: list[Any] = []
        for f in (fa, fb):
            try:
                out.append(f(p))
            except Undefined as exc:
                out.append(exc)
            except (ArithmeticError, TypeError, ValueError) as exc:  # an mpmath corner: no value here
                out.append(Undefined(f"{type(exc).__name__}: {exc}"))
        return out[0], out[1]


def _mp(v: Any) -> Any:
    """A coordinate at the working precision: a Fraction (an exact structure point) exactly rounded."""
    if isinstance(v, Fraction):
        return mpmath.mpf(v.numerator) / v.denominator
    return mpmath.mpf(v)


def _ok(v: Any) -> bool:
    return isinstance(v, tuple)


#: log2 of the relative tolerance for exact expressions at each precision (8 digits of headroom)
_EXACT_RTOL = {dps: (8 - dps) * math.log2(10) for dps in PRECISIONS}
_FLOAT_RTOL = math.log2(float(FLOAT_RTOL))


def _differ(a: Any, b: Any, dps: int, floats: bool) -> bool:
    """Whether two (value, log2 error scale) pairs differ beyond rounding (and float literals)."""
    (va, ma), (vb, mb) = a, b
    diff = va - vb
    if not diff:
        return False
    rtol = max(_FLOAT_RTOL, _EXACT_RTOL[dps]) if floats else _EXACT_RTOL[dps]
    return bool(mpmath.mag(diff) > rtol + max(ma, mb))


def _confirm(fa: Compiled, fb: Compiled, point: Mapping[str, Any], floats: bool,
             first: tuple[Any, Any]) -> tuple[bool, Any, Any]:
    """Re-check a mismatch at higher precision: (really differs, a, b). A difference
    that stays put from 30 to 90 digits is real; one that moves is checked at 300."""
    a, b = _eval_pair(fa, fb, point, PRECISIONS[1])
    if not (_ok(a) and _ok(b)) or not _differ(a, b, PRECISIONS[1], floats):
        return False, a, b
    d1, d2 = first[0][0] - first[1][0], a[0] - b[0]
    if abs(d2 - d1) <= abs(d2) / 1000:
        return True, a, b
    a3, b3 = _eval_pair(fa, fb, point, PRECISIONS[2])
    if not (_ok(a3) and _ok(b3)):
        return False, a3, b3
    return _differ(a3, b3, PRECISIONS[2], floats), a3, b3


def _distinct(a: Any, b: Any) -> tuple[str, str]:
    """Both values with just enough digits to tell them apart (6 to 20)."""
    for digits in (6, 10, 15, 20):
        sa, sb = (mpmath.nstr(v, digits, min_fixed=-4, max_fixed=digits + 1) for v in (a, b))
        if sa != sb:
            return sa, sb
    return sa, sb


def _fmt_point(point: Mapping[str, Any]) -> str:
    return ", ".join(f"{k} = {_show_coordinate(v)}" for k, v in point.items())


def _show_coordinate(v: Any) -> str:
    if isinstance(v, Fraction) and v.denominator != 1:
        shown = f"{float(v):.6g}"
        return shown if float(shown) == v else f"{v.numerator}/{v.denominator}"
    return f"{float(v):.6g}"


def _compare_scalar(ref: Any, ans: Any, variables: Sequence[Variable], *, points: int, budget: float,
                    seed: int, started: float) -> Verdict:
    def done(status: VerdictStatus, method: str, evidence: str, **kw: Any) -> Verdict:
        return Verdict(status, method, evidence, seconds=time.perf_counter() - started, **kw)

    ref, ans = expand_known_functions(ref), expand_known_functions(ans)
    if ref == ans:
        return done("equivalent", "identical", "the expressions are identical")
    try:
        fa, fb = compile_expr(ref), compile_expr(ans)
    except TooLarge as exc:
        return done("undecided", "unsupported" if isinstance(exc, Unsupported) else "too_large", str(exc))
    floats = _has_float(ref) or _has_float(ans)
    domain = variables_for(variables, ref, ans)
    required, randoms = sampling.plan(domain, (ref, ans), seed)
    agreed, only_ref, overflow = 0, None, 0
    tried_random = agreed_random = 0
    seen: set[tuple[Any, ...]] = set()
    stream = itertools.chain(((p, True) for p in required), ((p, False) for p in randoms))
    for point, must in stream:
        if not must and (agreed_random >= points or tried_random >= points * 8):
            break
        if time.perf_counter() - started > budget:
            break
        tried_random += not must
        marker = tuple(point.values())
        if marker in seen:
            continue
        seen.add(marker)
        a, b = _eval_pair(fa, fb, point, PRECISIONS[0])
        if not (_ok(a) and _ok(b)):
            if _ok(a) and not isinstance(b, Overflow) and only_ref is None:
                only_ref = (point, a)
            overflow += isinstance(a, Overflow) or isinstance(b, Overflow)
            continue
        if _differ(a, b, PRECISIONS[0], floats):
            real, a2, b2 = _confirm(fa, fb, point, floats, (a, b))
            if real:
                shown_b, shown_a = _distinct(b2[0], a2[0])
                return done("not_equivalent", "numeric",
                            f"at {_fmt_point(point)} the answer is {shown_b} "
                            f"but the expected value is {shown_a}",
                            counterexample={k: float(v) for k, v in point.items()},
                            answer_value=float(b2[0]), reference_value=float(a2[0]), points_checked=agreed + 1)
        agreed += 1
        agreed_random += not must
    size = sampling.finite_domain_size(domain)
    if size is not None and len(seen) >= size and agreed:
        return done("equivalent", "exhaustive", f"they agree at every point of the domain where both are "
                    f"defined ({agreed} of {size})", points_checked=agreed)
    proof = _symbolic_proof(ref, ans, normalise=budget - (time.perf_counter() - started) > _NORMALISE_RESERVE)
    if proof:
        return done("equivalent", "symbolic", f"{proof}; they also agree at {agreed} points",
                    points_checked=agreed)
    if agreed >= min(points, max(4, len(seen) // 2)) and agreed_random >= min(points, 8):
        digits = "; floating-point literals accepted to about double precision" if floats else ""
        return done("equivalent", "numeric",
                    f"they agree at {agreed} points spread over the domain ({PRECISIONS[0]}-digit "
                    f"arithmetic, differences re-checked at {PRECISIONS[1]}-{PRECISIONS[2]} digits{digits})",
                    points_checked=agreed)
    if agreed == 0 and only_ref is not None:
        point, a = only_ref
        return done("not_equivalent", "domain",
                    f"at {_fmt_point(point)} the answer is not a real number but the expected value is "
                    f"{format_number(a[0])}", counterexample={k: float(v) for k, v in point.items()},
                    reference_value=float(a[0]))
    if time.perf_counter() - started > budget:
        return done("undecided", "budget", f"ran out of time after checking {agreed} points",
                    points_checked=agreed)
    if agreed == 0 and overflow:
        return done("undecided", "numeric", "the values are too large to evaluate at the points tried")
    if agreed == 0:
        return done("undecided", "numeric", "neither expression is a real number at the points tried")
    return done("undecided", "numeric", f"only {agreed} points lie in the common domain of both "
                "expressions; too few to decide", points_checked=agreed)


#: bounds for the symbolic stage: small rational functions, and small elementary expressions
_PROOF_NODES = 120
_PROOF_EXP = 12
#: the normalising proof (exp/log/trig rewritten, then cancelled) is tried on trees up to this size
#: only: SymPy cannot be interrupted, so its cost is bounded by what it is given
_NORMALISE_NODES = 24
#: the normalising proof starts only with this much of the time budget left (seconds)
_NORMALISE_RESERVE = 0.5
_TRIG = (sp.sin, sp.cos, sp.tan, sp.cot, sp.sec, sp.csc, sp.sinh, sp.cosh, sp.tanh, sp.coth, sp.sech, sp.csch)
_ELEMENTARY = frozenset({"exp", "log", *(f.__name__ for f in _TRIG)})


def _rational(expr: Any) -> bool:
    if isinstance(expr, (sp.Symbol, sp.Rational)):
        return isinstance(expr, sp.Symbol) or (abs(expr.p) < 10**12 and expr.q < 10**12)
    if isinstance(expr, (sp.Add, sp.Mul)):
        return all(_rational(a) for a in expr.args)
    if isinstance(expr, sp.Pow):
        ex = expr.args[1]
        return isinstance(ex, sp.Integer) and abs(ex) <= _PROOF_EXP and _rational(expr.args[0])
    return False


def _elementary(expr: Any) -> bool:
    """Only +, ×, small rational powers, exp, log and trig/hyperbolic functions, exact numbers."""
    if isinstance(expr, sp.Symbol) or expr in (sp.E, sp.pi):
        return True
    if isinstance(expr, sp.Rational):
        return abs(expr.p) < 10**12 and expr.q < 10**12
    if isinstance(expr, (sp.Add, sp.Mul)):
        return all(_elementary(a) for a in expr.args)
    if isinstance(expr, sp.Pow):
        ex = expr.args[1]
        small = isinstance(ex, sp.Rational) and abs(ex.p) <= _PROOF_EXP and ex.q <= _PROOF_EXP
        return (small or (ex.free_symbols and expr.args[0] == sp.E)) and all(_elementary(a) for a in expr.args)
    return type(expr).__name__ in _ELEMENTARY and len(expr.args) == 1 and _elementary(expr.args[0])


def _symbolic_proof(ref: Any, ans: Any, normalise: bool = True) -> str | None:
    """A proof that the difference is 0, or None. Small rational functions: cancel(a - b) == 0.
    Small elementary expressions: trig and hyperbolic functions rewritten to exp, logs expanded
    where the variables' assumptions allow, then cancelled as a rational function of the
    exponentials, logs and roots that remain (an identity of those is an identity of the functions
    wherever both sides are defined)."""
    nodes = tree_size(ref)[0] + tree_size(ans)[0]
    if nodes > _PROOF_NODES:
        return None
    diff = sp.Add(ref, sp.Mul(-1, ans, evaluate=False), evaluate=False)
    if _rational(ref) and _rational(ans):
        if sp.cancel(diff) == 0:
            return "proved symbolically: the difference cancels to 0 as a rational function"
        return None
    if not normalise or nodes > _NORMALISE_NODES or not (_elementary(ref) and _elementary(ans)):
        return None
    try:
        d = sp.Add(ref, sp.Mul(-1, ans))
        if d.has(*_TRIG):
            d = d.rewrite(sp.exp)
        if d.has(sp.log):
            d = sp.expand_log(d, force=False)
        zero = d == 0 or sp.cancel(d) == 0
    except (TypeError, ValueError, ArithmeticError, RecursionError, sp.PolynomialError):
        return None
    if zero:
        return ("proved symbolically: with exp, log and trig forms rewritten to exponentials, the "
                "difference cancels to 0")
    return None


def sample_values(reference: Any, answer: Any, variables: Sequence[Variable], n: int = 6,
                  seed: int = 1, budget: float = 0.5) -> list[tuple[dict[str, float], Any, Any]]:
    """Up to ``n`` (point, reference value, answer value) triples where both are defined,
    at working precision, within ``budget`` seconds; for diagnosis (ratios, differences).
    Empty if too large."""
    started = time.perf_counter()
    try:
        ref, ans = expand_known_functions(_as_expr(reference)), expand_known_functions(_as_expr(answer))
        fa, fb = compile_expr(ref), compile_expr(ans)
    except (TooLarge, TypeError):
        return []
    out: list[tuple[dict[str, float], Any, Any]] = []
    domain = variables_for(variables, ref, ans)
    for k, point in enumerate(sampling.points(domain, seed, ladder=(1000.0,))):
        if len(out) >= n or k >= n * 8 or time.perf_counter() - started > budget:
            break
        a, b = _eval_pair(fa, fb, point, PRECISIONS[1])
        if _ok(a) and _ok(b):
            out.append(({k: float(v) for k, v in point.items()}, a[0], b[0]))
    return out
