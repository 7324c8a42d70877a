"""Where the engine evaluates: points respect each variable's domain and kind."""

from __future__ import annotations

from itertools import islice

import sympy as sp

from grader.sampling import finite_domain_size, points, variables_for
from grader.spec import Variable


def take(variables, n=300, seed=0):
    return list(islice(points(variables, seed), n))


def test_points_stay_inside_domains_and_integers_are_integers():
    vs = [Variable("x", lo=0.0), Variable("y", hi=-1.0), Variable("t", lo=0.0, hi=1.0),
          Variable("n", kind="integer", lo=0.0)]
    for p in take(vs):
        assert p["x"] > 0 and p["y"] < -1 and 0 < p["t"] < 1
        assert p["n"] >= 1 and float(p["n"]).is_integer()


def test_points_cover_signs_scales_and_far_out():
    xs = [p["x"] for p in take([Variable("x")])]
    assert xs[:3] == [1, 2, -1]  # simple points first, for a readable counterexample
    assert 1000.0 in xs and -1000.0 in xs
    assert min(xs) < -100 and max(xs) > 100 and any(0 < abs(v) < 0.05 for v in xs)


def test_points_are_deterministic_per_seed():
    vs = [Variable("x"), Variable("y")]
    assert take(vs, 50, seed=3) == take(vs, 50, seed=3)
    assert take(vs, 50, seed=3) != take(vs, 50, seed=4)


def test_extra_symbols_get_their_assumptions_as_domains():
    a, k = sp.Symbol("a", positive=True), sp.Symbol("k", integer=True)
    extra = variables_for([Variable("x")], a + k)
    assert [(v.name, v.kind, v.lo) for v in extra] == [("x", "real", None), ("a", "real", 0.0), ("k", "integer", None)]


def test_finite_domain_size():
    assert finite_domain_size([Variable("n", "integer", -0.5, 3.5), Variable("m", "integer", 0.0, 3.0)]) == 8
    assert finite_domain_size([Variable("n", "integer", 0.0)]) is None
    assert finite_domain_size([Variable("x", "real", 0.0, 1.0)]) is None
