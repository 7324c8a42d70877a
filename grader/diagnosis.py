"""Name the mistake behind a wrong answer, in the learner's terms (pure).

``diagnose`` runs after the engine said ``not_equivalent``. Authored mistakes
(from the item's spec) come first, then the automatic ones, each confirmed by
a full ``equivalence.compare`` so a diagnosis is never a guess:

- ``sign_error``: the answer is the reference times -1;
- ``function_not_derivative``: the answer is the function itself (``antiderivative``), maybe plus a constant;
- ``wrong_variable``: the derivative of the function with respect to another variable;
- ``missing_chain_factor``: the reference divided by the inner function's derivative (``inner``);
- ``constant_factor``: the reference times a constant k (k is said);
- ``additive_constant``: the reference plus a constant c (c is said);
- ``zero``: the answer is 0 everywhere;
- ``missing_factor``/``extra_factor``: the answer times (or divided by) a short non-constant
  expression (a few nodes) is the reference: "your answer lacks a factor e^(-x)";
- ``missing_term``/``extra_term``: the same for a short non-constant term.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import mpmath
import sympy as sp

from . import equivalence
from .evaluate import TooLarge, tree_size
from .known_functions import expand_known_functions
from .parsing import ParseError, describe_reading, parse_expression
from .spec import Mistake, Variable


@dataclass(frozen=True)
class Diagnosis:
    """What went wrong: a stable ``tag``, the learner-facing ``feedback`` and
    machine-readable ``detail`` (the factor, the constant, the variable)."""

    tag: str
    feedback: str
    detail: Mapping[str, str] = field(default_factory=dict)


def mistake_expression(m: Mistake, symbols: Mapping[str, sp.Symbol]) -> Any:
    """The wrong answer a Mistake declares: its callable applied to the item's symbols,
    or its string read with the safe parser. None if it cannot be built."""
    try:
        if callable(m.answer):
            return m.answer(*symbols.values())
        return parse_expression(m.answer, list(symbols.values()))
    except ParseError:
        return None


#: total seconds one diagnosis may spend; each confirming comparison gets what is left
BUDGET = 1.0
_CLOCK = threading.local()


def _same(a: Any, b: Any, variables: Sequence[Variable]) -> bool:
    left = getattr(_CLOCK, "deadline", time.perf_counter() + BUDGET) - time.perf_counter()
    if left <= 0:
        raise _OutOfTime
    verdict = equivalence.compare(a, b, variables, points=12, budget=min(left, 0.5))
    if verdict.method == "budget":  # out of time, not a "no": the result must not be cached as one
        raise _OutOfTime
    return verdict.status == "equivalent"


class _OutOfTime(Exception):
    pass


def _samples(reference: Any, answer: Any, variables: Sequence[Variable]) -> list[tuple[Any, Any, Any]]:
    left = getattr(_CLOCK, "deadline", time.perf_counter() + BUDGET) - time.perf_counter()
    if left <= 0:
        raise _OutOfTime
    return equivalence.sample_values(reference, answer, variables, budget=min(left, 0.5))


def _nice(value: Any) -> Any:
    """A constant as a small fraction when it is one, else a 6-digit float."""
    f = float(value)
    frac = Fraction(f).limit_denominator(1000)
    if abs(f - frac.numerator / frac.denominator) <= 1e-9 * max(1.0, abs(f)):
        return sp.Rational(frac.numerator, frac.denominator)
    for name, c in (("π", mpmath.pi), ("e", mpmath.e)):
        for op, g in (("*", f / float(c)), ("/", f * float(c))):
            frac = Fraction(g).limit_denominator(100)
            if abs(g - frac.numerator / frac.denominator) <= 1e-9 * max(1.0, abs(g)):
                k = sp.Rational(frac.numerator, frac.denominator)
                const = sp.pi if name == "π" else sp.E
                return k * const if op == "*" else k / const
    return sp.Float(f, 6)


def _constant(values: list[Any]) -> Any | None:
    if len(values) < 3:
        return None
    first = values[0]
    if all(abs(v - first) <= mpmath.mpf("1e-9") * max(1, abs(first)) for v in values[1:]):
        return first
    return None


def _show(expr: Any) -> str:
    return describe_reading(expr)


def diagnose(
    reference: Any,
    answer: Any,
    variables: Sequence[Variable],
    *,
    antiderivative: Any = None,
    inner: Any = None,
    mistakes: Sequence[tuple[Any, str, str]] = (),
) -> Diagnosis | None:
    """The first mistake that explains ``answer`` (a wrong answer to ``reference``), or None.

    ``antiderivative`` is the function the item differentiates and ``inner`` the
    inner function of a chain-rule item (expressions in the same symbols);
    ``mistakes`` are authored (expression, feedback, tag) triples, checked first.
    """
    key = ("diagnosis",) + equivalence.cache_key(reference, answer, tuple(variables), antiderivative, inner,
                                                 tuple((e, f, t) for e, f, t in mistakes))
    hit = equivalence._CACHE.get(key)
    if hit is not None:
        return hit[0]
    _CLOCK.deadline = time.perf_counter() + BUDGET
    try:
        found = _diagnose(reference, answer, variables, antiderivative, inner, mistakes)
    except _OutOfTime:
        return None  # no diagnosis rather than a late one; not cached, a quieter run may find it
    finally:
        del _CLOCK.deadline
    equivalence._CACHE.put(key, (found,))
    return found


def _diagnose(reference: Any, answer: Any, variables: Sequence[Variable], antiderivative: Any, inner: Any,
              mistakes: Sequence[tuple[Any, str, str]]) -> Diagnosis | None:
    for expr, feedback, tag in mistakes:
        if expr is not None and _same(expr, answer, variables):
            return Diagnosis(tag, feedback)
    checks: list[Callable[[], Diagnosis | None]] = [
        lambda: _sign(reference, answer, variables, antiderivative, inner),
        lambda: _function_itself(answer, variables, antiderivative),
        lambda: _wrong_variable(reference, answer, variables, antiderivative),
        lambda: _missing_chain(reference, answer, variables, antiderivative, inner),
        lambda: _factor_or_constant(reference, answer, variables),
        lambda: _short_factor_or_term(reference, answer, variables),
    ]
    for check in checks:
        try:
            found = check()
        except (TypeError, ValueError, ZeroDivisionError, RecursionError):
            found = None
        if found is not None:
            return found
    return None


def _sign(reference: Any, answer: Any, variables: Sequence[Variable], antiderivative: Any,
          inner: Any) -> Diagnosis | None:
    if not _same(sp.Mul(-1, reference, evaluate=False), answer, variables):
        return None
    where = (f" from the chain rule on {_show(antiderivative)}" if antiderivative is not None and inner is not None
             else "")
    return Diagnosis("sign_error", f"your answer is −1 times the right answer: check the sign{where}",
                     {"factor": "-1"})


def _function_itself(answer: Any, variables: Sequence[Variable], antiderivative: Any) -> Diagnosis | None:
    if antiderivative is None:
        return None
    shown = _show(antiderivative)
    if _same(antiderivative, answer, variables):
        return Diagnosis("function_not_derivative",
                         f"your answer is the function {shown} itself, not its derivative: differentiate it")
    diffs = _constant([b - a for _, a, b in _samples(antiderivative, answer, variables)])
    if diffs is not None and _same(sp.Add(antiderivative, _nice(diffs), evaluate=False), answer, variables):
        return Diagnosis("function_not_derivative",
                         f"your answer is the function {shown} plus a constant, not its derivative: "
                         "differentiate it", {"constant": str(_nice(diffs))})
    return None


def _wrt(reference: Any, variables: Sequence[Variable], antiderivative: Any) -> Variable | None:
    """The variable the reference differentiates with respect to."""
    if len(variables) == 1:
        return variables[0]
    if antiderivative is None:
        return None
    for v in variables:
        if _same(sp.diff(antiderivative, _symbol(antiderivative, v)), reference, variables):
            return v
    return None


def _symbol(expr: Any, v: Variable) -> sp.Symbol:
    for s in getattr(expr, "free_symbols", ()):
        if s.name == v.name:
            return s
    return sp.Symbol(v.name, **v.assumptions())


def _wrong_variable(reference: Any, answer: Any, variables: Sequence[Variable],
                    antiderivative: Any) -> Diagnosis | None:
    if antiderivative is None or len(variables) < 2:
        return None
    wrt = _wrt(reference, variables, antiderivative)
    if wrt is None:
        return None
    for v in variables:
        if v.name != wrt.name and _same(sp.diff(antiderivative, _symbol(antiderivative, v)), answer, variables):
            return Diagnosis("wrong_variable",
                             f"your answer is the derivative with respect to {v.name}; this asks for the "
                             f"derivative with respect to {wrt.name} (treat {v.name} as a constant)",
                             {"variable": v.name, "expected_variable": wrt.name})
    return None


def _missing_chain(reference: Any, answer: Any, variables: Sequence[Variable], antiderivative: Any,
                   inner: Any) -> Diagnosis | None:
    if inner is None:
        return None
    wrt = _wrt(reference, variables, antiderivative)
    if wrt is None:
        return None
    du = sp.diff(inner, _symbol(inner, wrt))
    if du == 1 or du == 0:
        return None
    if _same(sp.Mul(reference, sp.Pow(du, -1, evaluate=False), evaluate=False), answer, variables):
        return Diagnosis("missing_chain_factor",
                         f"your answer is missing the chain-rule factor: the inner function {_show(inner)} "
                         f"has derivative {_show(du)}, and the chain rule multiplies by it",
                         {"factor": str(du)})
    return None


def _factor_or_constant(reference: Any, answer: Any, variables: Sequence[Variable]) -> Diagnosis | None:
    samples = _samples(reference, answer, variables)
    if samples and all(b == 0 for _, _, b in samples) and _same(sp.Integer(0), answer, variables):
        return Diagnosis("zero", "your answer is 0 everywhere, but the right answer is not")
    ratio = _constant([b / a for _, a, b in samples if a != 0])
    if ratio is not None:
        k = _nice(ratio)
        if k not in (0, 1, -1) and _same(sp.Mul(k, reference, evaluate=False), answer, variables):
            return Diagnosis("constant_factor",
                             f"your answer is {_show(k)} times the right answer: check the constant factors "
                             "(a coefficient, the exponent the power rule brings down, a chain-rule factor)",
                             {"factor": str(k)})
    diff = _constant([b - a for _, a, b in samples])
    if diff is not None:
        c = _nice(diff)
        if c != 0 and _same(sp.Add(reference, c, evaluate=False), answer, variables):
            return Diagnosis("additive_constant",
                             f"your answer differs from the right answer by the constant {_show(c)}: "
                             "check for a term that should have vanished or a constant left in",
                             {"constant": str(c)})
    return None


#: a factor or term is named only when it is this short (nodes), so the message stays readable
SHORT = 8
#: and only for trees this small, so the symbolic step stays cheap
_SHORT_INPUT = 80


def _short(expr: Any) -> bool:
    try:
        return bool(expr.free_symbols) and tree_size(expr)[0] <= SHORT
    except TooLarge:
        return False


def _short_factor_or_term(reference: Any, answer: Any, variables: Sequence[Variable]) -> Diagnosis | None:
    """Name a short non-constant factor or term by which the answer differs from the reference
    (found by cancelling their quotient and difference, confirmed by a full comparison)."""
    ref, ans = expand_known_functions(reference), expand_known_functions(answer)
    if tree_size(ref)[0] + tree_size(ans)[0] > _SHORT_INPUT:
        return None
    candidates = [
        (lambda: sp.cancel(ref / ans), "missing_factor",
         "your answer lacks a factor {f}: the derivative of an inner function (chain rule)?"),
        (lambda: sp.cancel(ans / ref), "extra_factor",
         "your answer has an extra factor {f}: check which factors belong to the derivative"),
        (lambda: sp.cancel(ref - ans), "missing_term",
         "your answer lacks a term {f}: check each term of the sum (sum rule, product rule)"),
        (lambda: sp.cancel(ans - ref), "extra_term",
         "your answer has an extra term {f}: check for a term that should have vanished"),
    ]
    # shorter than either side (cos against sin is not "a factor cot(x) missing")
    limit = min(tree_size(ref)[0], tree_size(ans)[0])
    found = [(f, tag, text) for f, tag, text in ((build(), tag, text) for build, tag, text in candidates)
             if _short(f) and tree_size(f)[0] < limit]
    found.sort(key=lambda c: _cost(*c[:2]))  # the simplest explanation first (x^2 + x has a term x)
    for f, tag, text in found:
        if _confirm_short(tag, f, reference, answer, variables):
            return Diagnosis(tag, text.format(f=_show(f)), {"factor" if "factor" in tag else "term": str(f)})
    return None


def _cost(f: Any, tag: str) -> float:
    """How plain an explanation is: operations, a reciprocal counts extra, "lacks" is preferred."""
    reciprocal = any(isinstance(a, sp.Pow) and a.exp.is_negative for a in sp.Mul.make_args(f))
    return float(sp.count_ops(f)) + reciprocal - tag.startswith("missing")


def _confirm_short(tag: str, f: Any, reference: Any, answer: Any, variables: Sequence[Variable]) -> bool:
    if tag == "missing_factor":
        return _same(reference, sp.Mul(answer, f, evaluate=False), variables)
    if tag == "extra_factor":
        return _same(sp.Mul(reference, f, evaluate=False), answer, variables)
    if tag == "missing_term":
        return _same(reference, sp.Add(answer, f, evaluate=False), variables)
    return _same(sp.Add(reference, f, evaluate=False), answer, variables)
