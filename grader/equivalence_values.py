"""Compare an expression with a reference known only by its values at points (pure, no I/O).

The learner kit (:mod:`grader.kit`) holds no reference expression: at release the
reference is evaluated at seeded sample points (:func:`sample_reference`) and only
the points and the values, as high-precision decimal strings, are stored. Here a
learner's expression is evaluated at the same points with the same evaluator and
precision rules as :mod:`grader.equivalence` (mpmath via :mod:`grader.evaluate`,
30 digits, a difference re-checked at 60 before it counts), and the answer is
``equivalent`` (agreement at the stored points), ``not_equivalent`` (a
counterexample) or ``undecided``. What values alone can diagnose is diagnosed
here: the sign, a constant factor, an additive constant, the function instead of
its derivative and a missing chain-rule factor (from stored values of the
function and of the inner derivative), and authored mistakes by a fingerprint of
their values. The wording of each diagnosis is :mod:`grader.diagnosis`'s own.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import mpmath
import sympy as sp

from . import diagnosis, sampling
from .equivalence import _MP_LOCK, Verdict  # one lock: mpmath's working precision is process-global
from .evaluate import TooLarge, Undefined, Unsupported, compile_expr, tree_size
from .known_functions import expand_known_functions
from .spec import Variable

__all__ = ["STORED_DIGITS", "Sample", "ValueCheck", "check_values", "constant_wording", "evaluate_at",
           "fingerprint", "sample_reference"]

#: significant digits of a stored value; the check works at 30 and confirms at 60 like the engine
STORED_DIGITS = 60
_FIRST, _CONFIRM = 30, 60
_RTOL = {_FIRST: (8 - _FIRST) * math.log2(10), _CONFIRM: (8 - 55) * math.log2(10)}
_FLOAT_RTOL = math.log2(1e-13)
#: digits a fingerprint keeps: far below any real difference, far above rounding
FINGERPRINT_DIGITS = 9


@dataclass(frozen=True)
class Sample:
    """One stored point: coordinates as exact strings (``"0.5"``, ``"1/3"``), the value and its error scale."""

    point: Mapping[str, str]
    value: str
    scale: float


def _coordinate(v: Any) -> str:
    if isinstance(v, Fraction):
        return f"{v.numerator}/{v.denominator}" if v.denominator != 1 else str(v.numerator)
    return repr(float(v))


def _mp(text: str) -> Any:
    if "/" in text:
        num, den = text.split("/")
        return mpmath.mpf(int(num)) / int(den)
    return mpmath.mpf(text)


def _eval(compiled: Any, point: Mapping[str, str], dps: int) -> tuple[Any, float] | None:
    """(value, log2 error scale) of a compiled tree at ``point``, or None where it has no real value."""
    with _MP_LOCK, mpmath.workdps(dps):
        try:
            value, scale = compiled({k: _mp(v) for k, v in point.items()})
        except (Undefined, ArithmeticError, TypeError, ValueError):
            return None
        return value, float(scale)


def _as_expr(value: Any) -> Any:
    return expand_known_functions(sp.sympify(value))


def sample_reference(reference: Any, variables: Sequence[Variable], seed: int, n: int = 24,
                     budget: float = 2.0) -> list[Sample]:
    """The reference's values at up to ``n`` points where it is defined: the sampling plan's required
    points (simple values, structure points) and seeded random points over the domain."""
    started = time.perf_counter()
    ref = _as_expr(reference)
    compiled = compile_expr(ref)
    domain = sampling.variables_for(variables, ref)
    required, randoms = sampling.plan(domain, (ref,), seed)
    out: list[Sample] = []
    seen: set[tuple[str, ...]] = set()
    n_random = max(n // 2, 8)
    for k, raw in enumerate(itertools.chain(list(required)[: n - n_random], randoms)):
        if len(out) >= n or k > n * 10 or time.perf_counter() - started > budget:
            break
        point = {name: _coordinate(v) for name, v in raw.items()}
        marker = tuple(point.values())
        if marker in seen:
            continue
        seen.add(marker)
        got = _eval(compiled, point, STORED_DIGITS + 10)
        if got is not None:
            out.append(Sample(point, mpmath.nstr(got[0], STORED_DIGITS, strip_zeros=False), got[1]))
    return out


def evaluate_at(expr: Any, samples: Sequence[Sample], dps: int = STORED_DIGITS + 10) -> list[str | None]:
    """``expr``'s values at the samples' points as decimal strings (None where undefined); [] if too large."""
    try:
        compiled = compile_expr(_as_expr(expr))
    except (TooLarge, TypeError, sp.SympifyError):
        return []
    out: list[str | None] = []
    for s in samples:
        got = _eval(compiled, s.point, dps)
        out.append(None if got is None else mpmath.nstr(got[0], STORED_DIGITS, strip_zeros=False))
    return out


def fingerprint(values: Sequence[Any]) -> str:
    """A hash of values rounded to FINGERPRINT_DIGITS (None for undefined): what keys an authored mistake."""
    parts = []
    with _MP_LOCK, mpmath.workdps(_CONFIRM):
        for v in values:
            if v is None:
                parts.append("U")
                continue
            x = mpmath.mpf(v) if isinstance(v, str) else v
            parts.append("0" if abs(x) < mpmath.mpf(10) ** -30 else mpmath.nstr(x, FINGERPRINT_DIGITS))
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]


@dataclass(frozen=True)
class ValueCheck:
    """The verdict, and the learner's values (mpf or None per sample) for fingerprints and diagnoses."""

    verdict: Verdict
    values: tuple[Any, ...] = ()


def _differ(a: Any, b: tuple[Any, float], scale: float, dps: int, floats: bool) -> bool:
    diff = a - b[0]
    if not diff:
        return False
    rtol = max(_FLOAT_RTOL, _RTOL[dps]) if floats else _RTOL[dps]
    return bool(mpmath.mag(diff) > rtol + max(scale, b[1]))


def check_values(answer: Any, samples: Sequence[Sample], *, floats: bool = False, budget: float = 1.0) -> ValueCheck:
    """Compare ``answer`` with the stored reference values (see the module docstring)."""
    started = time.perf_counter()

    def done(status: Any, method: str, evidence: str, values: Sequence[Any] = (), **kw: Any) -> ValueCheck:
        return ValueCheck(Verdict(status, method, evidence, seconds=time.perf_counter() - started, **kw),
                          tuple(values))

    try:
        ans = _as_expr(answer)
        tree_size(ans)
        compiled = compile_expr(ans)
    except TooLarge as exc:
        return done("undecided", "unsupported" if isinstance(exc, Unsupported) else "too_large", str(exc))
    floats = floats or bool(ans.atoms(sp.Float))
    values: list[Any] = []
    agreed = undefined = 0
    for s in samples:
        if time.perf_counter() - started > budget:
            return done("undecided", "budget", f"ran out of time after checking {agreed} points",
                        points_checked=agreed)
        got = _eval(compiled, s.point, _FIRST)
        if got is None:
            undefined += 1
            values.append(None)
            continue
        with _MP_LOCK, mpmath.workdps(_CONFIRM):
            ref = mpmath.mpf(s.value)
            if _differ(ref, got, s.scale, _FIRST, floats):
                again = _eval(compiled, s.point, _CONFIRM)
                if again is not None and _differ(ref, again, s.scale, _CONFIRM, floats):
                    rest = _values_after(compiled, samples[len(values) + 1:])
                    shown = ", ".join(f"{k} = {_show(v)}" for k, v in s.point.items())
                    return done("not_equivalent", "values",
                                f"at {shown} the answer is {mpmath.nstr(again[0], 10)} but the expected value "
                                f"is {mpmath.nstr(ref, 10)}", [*values, again[0], *rest],
                                counterexample={k: float(_mp(v)) for k, v in s.point.items()},
                                answer_value=float(again[0]), reference_value=float(ref),
                                points_checked=agreed + 1)
                got = again or got
        values.append(got[0])
        agreed += 1
    total = len(samples)
    if agreed and agreed >= max(4, total // 2):
        return done("equivalent", "values", f"they agree at {agreed} points (checked against the reference's "
                    f"values at {total} points; {_FIRST}-digit arithmetic, differences re-checked at {_CONFIRM})",
                    values, points_checked=agreed)
    if agreed == 0 and undefined:
        first = samples[0]
        shown = ", ".join(f"{k} = {_show(v)}" for k, v in first.point.items())
        return done("not_equivalent", "domain", f"at {shown} the answer is not a real number but the reference "
                    f"has a value", values, counterexample={k: float(_mp(v)) for k, v in first.point.items()})
    return done("undecided", "values", f"only {agreed} of the {total} stored points lie in the domain of your "
                "answer; too few to decide", values, points_checked=agreed)


def _values_after(compiled: Any, samples: Sequence[Sample]) -> list[Any]:
    out = []
    for s in samples:
        got = _eval(compiled, s.point, _FIRST)
        out.append(None if got is None else got[0])
    return out


def _show(coordinate: str) -> str:
    v = float(_mp(coordinate))
    return f"{v:.6g}"


def _all_close(a: Sequence[Any], b: Sequence[Any]) -> bool:
    """Every defined pair agrees to about 20 digits, and at least three pairs are defined."""
    pairs = [(x, y) for x, y in zip(a, b) if x is not None and y is not None]
    if len(pairs) < 3:
        return False
    with _MP_LOCK, mpmath.workdps(_CONFIRM):
        return all(abs(x - y) <= mpmath.mpf("1e-20") * max(1, abs(x), abs(y)) for x, y in pairs)


def _constant(values: Sequence[Any]) -> Any | None:
    defined = [v for v in values if v is not None]
    if len(defined) < 3:
        return None
    first = defined[0]
    with _MP_LOCK, mpmath.workdps(_CONFIRM):
        if all(abs(v - first) <= mpmath.mpf("1e-20") * max(1, abs(first)) for v in defined[1:]):
            return first
    return None


def constant_wording(tag: str, constant: Any) -> str | None:
    """:mod:`grader.diagnosis`'s own feedback for a constant factor or additive constant ``constant``
    (asked of a stand-in function, so the words stay in one place)."""
    t = sp.Symbol("t", real=True)
    stand_in = sp.exp(t)
    k = diagnosis._nice(constant)  # the same rounding to a fraction (or a multiple of π, e) as a grade
    wrong = sp.Mul(k, stand_in) if tag == "constant_factor" else sp.Add(stand_in, k)
    found = diagnosis.diagnose(stand_in, wrong, [Variable("t")])
    return found.feedback if found is not None and found.tag == tag else None


def diagnose_values(answer: Sequence[Any], reference: Sequence[Sample], stored: Mapping[str, Any]
                    ) -> tuple[str, str] | None:
    """(tag, feedback) for a wrong answer's values, or None. ``stored`` holds what the kit keeps for this:
    ``mistakes`` {fingerprint: [feedback, tag]}, ``wording`` {tag: feedback} (sign, function, chain) and the
    values ``function`` (the antiderivative) and ``chain`` (reference / inner derivative) at the points."""
    mistakes = stored.get("mistakes") or {}
    found = mistakes.get(fingerprint(answer))
    if found:
        return str(found[1]), str(found[0])
    wording = stored.get("wording") or {}
    with _MP_LOCK, mpmath.workdps(_CONFIRM):
        ref = [mpmath.mpf(s.value) for s in reference]
        if "sign_error" in wording and _all_close([-r for r in ref], answer):
            return "sign_error", wording["sign_error"]
        function = [None if v is None else mpmath.mpf(v) for v in stored.get("function") or []]
        if function and "function_not_derivative" in wording and _all_close(function, answer):
            return "function_not_derivative", wording["function_not_derivative"]
        chain = [None if v is None else mpmath.mpf(v) for v in stored.get("chain") or []]
        if chain and "missing_chain_factor" in wording and _all_close(chain, answer):
            return "missing_chain_factor", wording["missing_chain_factor"]
        if all(a is not None and a == 0 for a in answer) and any(r != 0 for r in ref):
            return "zero", "your answer is 0 everywhere, but the right answer is not"
        ratio = _constant([None if a is None or r == 0 else a / r for a, r in zip(answer, ref)])
        diff = _constant([None if a is None else a - r for a, r in zip(answer, ref)])
    for tag, constant in (("constant_factor", ratio), ("additive_constant", diff)):
        if constant is not None and constant not in (0, 1, -1):
            text = constant_wording(tag, constant)
            if text is not None:
                return tag, text
    return None
