"""Property tests: random expressions rewritten in equivalent ways are always ``equivalent``;
perturbed (a constant changed, a sign flipped, a term dropped) they are always ``not_equivalent``.

Expressions are sums of terms ``c * f1 * f2`` whose factors are never identically zero
(x, y, 1 + x², exp/cosh/σ/sin/tanh of a non-constant linear argument), so every
perturbation below really changes the function.
"""

from __future__ import annotations

import sympy as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grader.equivalence import compare
from grader.known_functions import sigmoid
from grader.spec import Variable

x, y = sp.symbols("x y", real=True)
VARS = [Variable("x"), Variable("y")]
# database=None: no .hypothesis/ folder written into the repository tree
SETTINGS = settings(max_examples=30, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])

arguments = st.sampled_from([x, y, 2 * x + 1, x - y, -x, x / 2 + y])
constants = st.sampled_from([sp.Integer(k) for k in (1, 2, 3, -1, -2, 5)] + [sp.Rational(1, 2), sp.Rational(-3, 4)])


@st.composite
def factors(draw):
    kind = draw(st.sampled_from(["x", "y", "poly", "exp", "cosh", "sigmoid", "sin", "tanh", "log"]))
    u = draw(arguments)
    return {"x": x, "y": y, "poly": 1 + x**2, "exp": sp.exp(u), "cosh": sp.cosh(u), "sigmoid": sigmoid(u),
            "sin": sp.sin(u), "tanh": sp.tanh(u), "log": sp.log(1 + u**2)}[kind] if kind != "log" or u != 0 else x


@st.composite
def terms(draw):
    c = draw(constants)
    fs = draw(st.lists(factors(), min_size=1, max_size=2))
    return c, sp.Mul(*fs)


@st.composite
def expressions(draw):
    """(list of (coefficient, monomial) with distinct monomials, their sum)."""
    ts = draw(st.lists(terms(), min_size=1, max_size=3, unique_by=lambda t: sp.srepr(t[1])))
    return ts, sp.Add(*[c * m for c, m in ts])


ZERO_IDENTITIES = [
    sp.sin(x)**2 + sp.cos(x)**2 - 1,
    sp.cosh(y)**2 - sp.sinh(y)**2 - 1,
    sp.exp(sp.log(1 + x**2)) - 1 - x**2,
    sp.tanh(x) - (sp.exp(2 * x) - 1) / (sp.exp(2 * x) + 1),
    sigmoid(x) - 1 + sigmoid(-x),
    sp.Abs(x) - sp.sqrt(x**2),
]


REWRITES = {
    "expand": lambda e: sp.expand(e),
    "together": lambda e: sp.together(e),
    "factor_terms": lambda e: sp.factor_terms(e),
    "exp": lambda e: e.rewrite(sp.exp),
    "expand_trig": lambda e: sp.expand_trig(e),
    "power_exp": lambda e: sp.expand(e, power_exp=True, mul=False),
}


@SETTINGS
@given(expressions(), st.sampled_from(sorted(REWRITES)))
def test_rewritten_expressions_are_equivalent(expr, how):
    _, e = expr
    rewritten = REWRITES[how](e)
    v = compare(e, rewritten, VARS)
    assert v.status == "equivalent", (e, rewritten, v.evidence)


@SETTINGS
@given(expressions(), st.sampled_from(ZERO_IDENTITIES), st.integers(0, 2))
def test_adding_a_disguised_zero_keeps_equivalence(expr, zero, where):
    ts, e = expr
    c, m = ts[where % len(ts)]
    assert compare(e, e + zero * m, VARS).status == "equivalent"


@SETTINGS
@given(expressions(), st.integers(0, 2), st.sampled_from(["constant", "sign", "drop", "offset"]))
def test_perturbed_expressions_are_not_equivalent(expr, which, how):
    ts, e = expr
    c, m = ts[which % len(ts)]
    changed = {
        "constant": e + m,            # coefficient c -> c + 1
        "sign": e - 2 * c * m,        # this term's sign flipped
        "drop": e - c * m,            # this term dropped
        "offset": e + sp.Rational(1, 1000),
    }[how]
    v = compare(e, changed, VARS)
    assert v.status == "not_equivalent", (e, changed, v.evidence)
    assert v.counterexample


@SETTINGS
@given(expressions(), st.floats(min_value=-5, max_value=5).filter(lambda f: abs(f) > 1e-3))
def test_float_literals_within_double_precision_are_accepted(expr, scale):
    _, e = expr
    as_float = sp.Float(scale)  # the exact binary value of this double
    assert compare(sp.Rational(as_float) * e, as_float * e, VARS).status == "equivalent"
    assert compare(sp.Rational(as_float) * e, sp.Float(scale * (1 + 1e-6)) * e, VARS).status == "not_equivalent"


polynomials = st.lists(st.tuples(st.integers(-5, 5), st.integers(0, 3), st.integers(0, 2)), min_size=1, max_size=5)


@SETTINGS
@given(polynomials, st.sampled_from(["factor", "horner", "expand_square"]))
def test_polynomial_rewrites(terms_, how):
    p = sp.Add(*[c * x**i * y**j for c, i, j in terms_])
    rewritten = {"factor": sp.factor, "horner": lambda e: sp.horner(e, x, y) if e.free_symbols else e,
                 "expand_square": lambda e: sp.expand(e**2)}[how](p)
    target = p**2 if how == "expand_square" else p
    assert compare(target, rewritten, VARS).status == "equivalent"
    if p != 0:
        assert compare(target, rewritten + x**4 * y, VARS).status == "not_equivalent"


def test_trig_and_hyperbolic_rewrites():
    for a, b in [(sp.tan(x), sp.sin(x) / sp.cos(x)), (sp.sin(2 * x), 2 * sp.sin(x) * sp.cos(x)),
                 (sp.cosh(x)**2, (sp.cosh(2 * x) + 1) / 2), (sp.sech(y), 2 / (sp.exp(y) + sp.exp(-y))),
                 (sp.atanh(x / 3), sp.log((3 + x) / (3 - x)) / 2)]:
        assert compare(a, b, VARS).status == "equivalent", (a, b)
        assert compare(a, b.rewrite(sp.exp), VARS).status == "equivalent", (a, b)
