"""The mpmath evaluator behind the engine: values, magnitudes, undefined points, guards."""

from __future__ import annotations

import math

import mpmath
import pytest
import sympy as sp

from grader.equivalence import compare
from grader.evaluate import Overflow, TooLarge, Undefined, Unsupported, compile_expr, tree_size
from grader.known_functions import sigmoid, softplus
from grader.spec import Variable

x, y = sp.symbols("x y", real=True)


def at(expr, dps=30, **point):
    with mpmath.workdps(dps):
        return compile_expr(expr)({k: mpmath.mpf(v) for k, v in point.items()})


def test_values_match_sympy():
    for expr in (sp.exp(-x) * sp.sin(x**2), sigmoid(x) * (1 - sigmoid(x)), softplus(-x), sp.atan(x) / x,
                 sp.Max(x, 0) + sp.Abs(x - 3), sp.log(1 + x**2) ** sp.Rational(3, 2)):
        value, _ = at(expr, x=0.7)
        assert float(value) == pytest.approx(float(expr.subs(x, sp.Rational(7, 10)).evalf(30)), rel=1e-14)


def test_magnitude_tracks_cancellation():
    value, mag = at(sp.Add(x, -x, evaluate=False), x=1e10)  # magnitudes are log2 of the error scale
    assert value == 0 and mag == pytest.approx(math.log2(2e10), abs=2)
    value, mag = at(sp.exp(x), x=3)
    assert mag >= math.log2(abs(value))
    value, mag = at(1 / (x - 1), x=1.5)
    assert mag >= math.log2(2) + 1  # division amplifies the denominator's error


@pytest.mark.parametrize("expr,point", [
    (sp.log(x), -1.0),
    (sp.sqrt(x), -2.0),
    (1 / x, 0.0),
    (sp.Pow(x, -1, evaluate=False), 0.0),
    (sp.acosh(x), 0.5),
    (x ** sp.Rational(1, 3), -8.0),
    (sp.I * x, 1.0),
    (sp.zoo * x, 1.0),
], ids=["log-neg", "sqrt-neg", "div-zero", "pow-zero", "acosh", "cube-root-neg", "imaginary", "zoo"])
def test_undefined_points(expr, point):
    with pytest.raises(Undefined):
        at(expr, x=point)


def test_overflow_is_its_own_kind_of_undefined():
    with pytest.raises(Overflow):
        at(sp.exp(sp.exp(x)), x=20)
    with pytest.raises(Overflow):
        at(sp.Pow(x, sp.Pow(10, 10**6, evaluate=False), evaluate=False), x=2)
    with pytest.raises(Overflow):
        at(sp.sin(sp.Pow(10, 100, evaluate=False) * x), x=1)


def test_complex_intermediates_only_in_trees_with_i():
    euler = -sp.I * (sp.exp(sp.I * x) - sp.exp(-sp.I * x)) / 2
    assert float(at(euler, x=1)[0]) == pytest.approx(0.8414709848078965)
    with pytest.raises(Undefined):  # a real tree stays real: no complex detour through log(-1)
        at(sp.exp(sp.log(x, evaluate=False), evaluate=False), x=-1)
    with pytest.raises(Undefined):  # a tree with I must still end real
        at(sp.I * x, x=2)


def test_opaque_functions_are_deterministic_and_distinct():
    f, g = sp.Function("f"), sp.Function("g")
    assert at(f(x), x=0.3) == at(f(x), x=0.3)
    assert at(f(x), x=0.3)[0] != at(g(x), x=0.3)[0]


def test_heaviside_and_unsupported_nodes():
    assert compare(sp.Max(x, 0), x * sp.Heaviside(x), [Variable("x")]).status == "equivalent"
    with pytest.raises(Unsupported):
        compile_expr(sp.Integral(x, (y, 0, 1)))
    v = compare(x, sp.Integral(x, (y, 0, 1)), [Variable("x")])
    assert v.status == "undecided" and v.method == "unsupported"


def test_tree_size_is_bounded_and_iterative():
    assert tree_size(x + 1) == (3, 2)
    deep = x
    for _ in range(2000):
        deep = sp.sin(deep, evaluate=False)
    with pytest.raises(TooLarge):
        tree_size(deep)


def test_undefined_functions_with_known_names_mean_those_functions():
    for name, real in (("tanh", sp.tanh), ("sqrt", sp.sqrt), ("ln", sp.log), ("relu", lambda z: sp.Max(z, 0))):
        learner = sp.Function(name)(x**2 + 1)
        assert compare(real(x**2 + 1), learner, [Variable("x")]).status == "equivalent", name
