"""Structure-aware points: kinks, jumps and domain edges are evaluated exactly at and beside
themselves, far points climb a geometric ladder, symbolic exponents meet negative bases; and
property tests that pairs differing only there are never called equivalent."""

from __future__ import annotations

from fractions import Fraction

import sympy as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grader.equivalence import compare
from grader.sampling import LADDER, plan, structure_edges
from grader.spec import Variable

x, y, c = sp.symbols("x y c", real=True)
X, XY = [Variable("x")], [Variable("x"), Variable("y")]
SETTINGS = settings(max_examples=25, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


def required(variables, *exprs):
    return plan(variables, exprs, 0)[0]


def test_ladder_reaches_1e8_both_signs_and_respects_domains():
    xs = [p["x"] for p in required(X)]
    assert all(r in xs and -r in xs for r in LADDER) and max(LADDER) == 1e8
    pos = [p["x"] for p in required([Variable("x", lo=0.0)])]
    assert all(v > 0 for v in pos) and 1e8 in pos
    assert all(0 < p["t"] < 1 for p in required([Variable("t", lo=0.0, hi=1.0)]))


def test_ladder_moves_one_variable_at_a_time_and_all_together():
    pts = required(XY)
    assert {"x": 1e6, "y": 2} in pts and {"x": 1, "y": -1e6} in pts and {"x": 1e6, "y": 1e6} in pts


def test_structure_edges_cover_kinks_jumps_and_domain_edges():
    e = (sp.Abs(x - 1) + sp.sign(x - 2) + sp.Heaviside(x - 3) + sp.floor(x / 4) + sp.Max(x, 5)
         + 1 / (x - 6) + sp.sqrt(x - 7) + sp.log(x - 8) + sp.asin(x / 9))
    edges = structure_edges(e)
    for g in (x - 1, x - 2, x - 3, x / 4, x - 5, x - 6, x - 7, x - 8, x / 9 - 1, x / 9 + 1):
        assert any(sp.simplify(g - h) == 0 or sp.simplify(g + h) == 0 for h in edges), g


def test_rational_roots_are_exact_and_flanked():
    xs = [p["x"] for p in required(X, sp.sign(3 * x - 1))]
    assert Fraction(1, 3) in xs
    assert any(1 / 3 - 0.01 < v < 1 / 3 for v in xs) and any(1 / 3 < v < 1 / 3 + 0.01 for v in xs)


def test_non_polynomial_edges_are_solved_numerically():
    xs = [float(p["x"]) for p in required(X, sp.Abs(sp.exp(x) - 10**5))]
    assert any(abs(v - float(sp.log(10**5))) < 1e-9 for v in xs)


def test_negative_bases_meet_simple_exponents():
    pts = required([Variable("x"), Variable("c")], (x**2)**c)
    assert any(p["x"] < 0 and p["c"] == Fraction(1, 2) for p in pts)
    assert not any(p["x"] < 0 for p in required([Variable("x", lo=0.0), Variable("c")], (x**2)**c)
                   if p["c"] == Fraction(1, 2))


def test_single_point_difference_at_an_irrational_root_is_not_hidden_by_sampling():
    v = compare(sp.sign(x**2 - 9)**2, sp.Integer(1), X)
    assert v.status == "not_equivalent" and abs(v.counterexample["x"]) == 3


def test_piecewise_is_evaluated_and_its_conditions_are_structure_points():
    v = compare(sp.Piecewise((x**2, x < 10**6), (0, True)), x**2, X)
    assert v.status == "not_equivalent" and v.counterexample["x"] >= 10**6
    assert compare(sp.Abs(x), sp.Abs(x).rewrite(sp.Piecewise), X).status == "equivalent"


# ---------------------------------------------------------------- properties

smooth = st.sampled_from([x, x**2 + 1, sp.exp(x / 3), sp.sin(x) + y, sp.tanh(x - y), x * y + 2, sp.cosh(y) - x])
rationals = st.builds(Fraction, st.integers(-50, 50), st.integers(1, 9))
bumps = st.sampled_from([sp.Integer(1), sp.Integer(-2), sp.Rational(1, 2), sp.Integer(7)])


@SETTINGS
@given(smooth, rationals, bumps)
def test_pairs_that_differ_at_one_point_are_not_equivalent(e, at, k):
    r = sp.Rational(at.numerator, at.denominator)
    other = e + k * (1 - sp.sign(x - r)**2)  # equals e except at x = r
    v = compare(e, other, XY)
    assert v.status == "not_equivalent", (e, other, v.evidence)
    assert v.counterexample["x"] == float(r)


# no exponential growth here: a difference of 1 beside e^(x/3) at x = 2000 (10^289) is below
# the engine's 30-digit resolution (see the README: differences are relative to the values)
tame = st.sampled_from([x, x**2 + 1, sp.sin(x) + y, sp.tanh(x - y), x * y + 2, sp.atan(x) * y])


@SETTINGS
@given(tame, st.integers(2000, 10**9), bumps, st.sampled_from(["Max", "Heaviside", "Abs"]))
def test_pairs_that_differ_only_far_out_are_not_equivalent(e, far, k, how):
    u = x - far
    extra = {"Max": sp.Max(0, u), "Heaviside": sp.Heaviside(u), "Abs": sp.Abs(u) + u}[how]
    v = compare(e, e + k * extra, XY)
    assert v.status == "not_equivalent", (e, extra, v.evidence)
    assert v.counterexample["x"] >= far


@SETTINGS
@given(smooth, st.sampled_from([2, 4, 6]), st.sampled_from([(x**2 + 1), sp.Integer(3), sp.exp(y)]))
def test_pairs_that_differ_only_for_negative_bases_are_not_equivalent(e, p, factor):
    left, right = factor * (x**p)**c + e, factor * x**(p * c) + e
    v = compare(left, right, [Variable("x"), Variable("y"), Variable("c")])
    assert v.status == "not_equivalent", (left, right, v.evidence)
    assert v.counterexample["x"] < 0


@settings(SETTINGS, max_examples=12)  # simplify is slow
@given(smooth, st.sampled_from(["simplify", "expand", "exp", "Piecewise", "powsimp"]))
def test_sympy_rewrites_of_kinked_expressions_stay_equivalent(e, how):
    original = e * sp.Abs(x - 3) + sp.Max(y, x) + sp.sign(x + 2) * e
    rewritten = {"simplify": sp.simplify, "expand": sp.expand, "exp": lambda t: t.rewrite(sp.exp),
                 "Piecewise": lambda t: t.rewrite(sp.Piecewise), "powsimp": sp.powsimp}[how](original)
    v = compare(original, rewritten, XY)
    assert v.status == "equivalent", (original, rewritten, v.evidence)


# ---------------------------------------------------------------- proofs beyond rational functions


def test_elementary_identities_are_proved_not_only_sampled():
    for a, b in [(sp.sinh(x), (sp.exp(x) - sp.exp(-x)) / 2), (sp.cosh(x)**2 - sp.sinh(x)**2, sp.Integer(1)),
                 (sp.exp(x + y), sp.exp(x) * sp.exp(y)), (sp.sin(2 * x), 2 * sp.sin(x) * sp.cos(x))]:
        v = compare(a, b, XY)
        assert v.status == "equivalent" and v.method == "symbolic", (a, b, v.evidence)
        assert "proved" in v.evidence


def test_a_sampled_verdict_says_so_and_a_proof_never_overrides_a_structure_point():
    v = compare(sp.Abs(x - 2) + sp.Abs(x + 2), sp.Max(4, 2 * sp.Abs(x)), X)
    assert v.status == "equivalent" and v.method == "numeric" and "agree at" in v.evidence
    assert compare(sp.sign(x)**2, sp.Integer(1), X).status == "not_equivalent"


def test_what_cannot_be_evaluated_stays_undecided():
    v = compare(sp.Integral(x, (y, 0, 1)), x, X)
    assert v.status == "undecided"
