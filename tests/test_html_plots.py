"""Plot geometry (grader/render/plots.py) and curve sampling (grader/render/illustrate.py)."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import sympy as sp

from grader.render.illustrate import illustrate, sample_curves
from grader.render.plot_eval import Unplottable, evaluate_many
from grader.render.plots import MAX_CELLS_PER_SIDE, heatmap, line_plot, nice_ticks
from grader.spec import Variable

x = sp.Symbol("x", real=True)
xp = sp.Symbol("x", positive=True)
REAL = (Variable("x"),)
POSITIVE = (Variable("x", lo=0.0),)


def moves(path: str) -> int:
    return path.count("M")


@pytest.mark.parametrize("lo,hi,expected", [
    (-4, 4, [-4, -2, 0, 2, 4]), (0.02, 5.02, [1, 2, 3, 4, 5]), (0, 0.9, [0, 0.2, 0.4, 0.6, 0.8]),
], ids=["symmetric", "positive", "small"])
def test_nice_ticks(lo, hi, expected):
    assert nice_ticks(lo, hi) == pytest.approx(expected)


def test_bands_cover_only_where_the_curves_differ():
    xs = [i / 10 for i in range(-20, 21)]
    ref = [v * v for v in xs]
    ans = [v * v if v < 1 else v * v + 1 for v in xs]
    p = line_plot({"variable": "x", "x": xs, "answer": ans, "reference": ref})
    assert p is not None and len(p.bands) == 1
    (a, b), = p.bands
    x_of = lambda px: -2 + (px - p.left) / p.plot_w * 4  # noqa: E731
    assert x_of(a) == pytest.approx(0.95, abs=0.02) and x_of(b) == pytest.approx(2.0, abs=0.01)
    assert "They differ for x from 1 to 2 (shaded)." in p.summary


def test_identical_curves_have_no_band():
    xs = [0.0, 1.0, 2.0]
    p = line_plot({"variable": "x", "x": xs, "answer": xs, "reference": xs})
    assert p is not None and p.bands == () and "agree" in p.summary


def test_gaps_break_the_path():
    p = line_plot({"variable": "x", "x": [0.0, 1, 2, 3, 4], "answer": [1.0, None, 1, 1, 1],
                   "reference": [1.0, 1, 1, 1, 1]})
    assert p is not None and moves(p.answer_path) == 2 and moves(p.reference_path) == 1


def test_a_pole_is_not_joined_across():
    xs = [-4 + 8 * i / 160 + 0.025 for i in range(160)]
    ys = [1 / v for v in xs]
    p = line_plot({"variable": "x", "x": xs, "answer": ys, "reference": ys})
    assert p is not None and moves(p.reference_path) == 2


def test_outliers_do_not_flatten_the_plot():
    xs = [float(i) for i in range(100)]
    ref = [1.0 + 0.01 * i for i in range(100)]
    ans = ref[:-1] + [1e9]
    p = line_plot({"variable": "x", "x": xs, "answer": ans, "reference": ref})
    labels = [float(t.label.replace("−", "-")) for t in p.y_ticks]  # type: ignore[union-attr]
    assert max(labels) < 10


def test_counterexample_is_marked():
    xs = [0.0, 1.0, 2.0]
    p = line_plot({"variable": "x", "x": xs, "answer": [0, 2, 4], "reference": [0, 1, 2]}, {"x": 1.0}, 2.0, 1.0)
    assert p is not None and p.marker_x is not None and {c for _, _, c in p.marker_points} == {"ans", "ref"}
    assert "At x = 1 your answer gives 2 and the reference 1" in p.summary


@pytest.mark.parametrize("bad", [{}, {"x": [1], "answer": [1], "reference": [1], "variable": "x"},
                                 {"x": [0, 1], "answer": [None, None], "reference": [None, None], "variable": "x"},
                                 {"x": [0, 1], "answer": [1], "reference": [1, 2], "variable": "x"}],
                         ids=["empty", "one-point", "nothing-finite", "ragged"])
def test_unusable_plot_data_gives_none(bad):
    assert line_plot(bad) is None


def test_heatmap_cells_and_worst_entry():
    h = heatmap("dW1", [[0.0, 0.5], [1e-7, None]])
    assert h is not None and len(h.cells) == 4 and not h.pooled
    assert "2 of 4 entries" in h.summary and "(1, 1), relative error not finite" in h.summary
    assert h.cells[0].fill != h.cells[1].fill


def test_large_heatmaps_are_pooled_keeping_the_worst():
    data = [[0.0] * 100 for _ in range(60)]
    data[59][99] = 3.0
    h = heatmap("dW2", data)
    assert h is not None and h.pooled and h.rows <= MAX_CELLS_PER_SIDE and h.cols <= MAX_CELLS_PER_SIDE
    assert h.cells[-1].fill == "#440154" and h.cells[0].fill == "#fde725"
    assert "1 of 6000 entries" in h.summary


@pytest.mark.parametrize("bad", ["text", [], [[1, 2], [3]], {"a": 1}], ids=["str", "empty", "ragged", "dict"])
def test_heatmap_refuses_non_matrices(bad):
    assert heatmap("p", bad) is None


def test_samples_follow_both_functions():
    s = sample_curves(sp.exp(-x), -sp.exp(-x), REAL)
    assert s is not None and s["variable"] == "x" and len(s["x"]) == len(s["answer"]) == len(s["reference"])
    assert s["x"][0] == -4 and s["x"][-1] == 4
    assert all(a == pytest.approx(-r) for a, r in zip(s["answer"], s["reference"]))


def test_undefined_points_are_gaps_and_positive_domains_start_above_zero():
    s = sample_curves(1 / xp, sp.log(xp), POSITIVE)
    assert s is not None and s["x"][0] > 0
    s2 = sample_curves(1 / x, sp.log(x), REAL)
    assert s2 is not None and s2["answer"][0] is None and s2["answer"][-1] is not None


def test_second_variable_is_held_at_the_counterexample():
    a = sp.Symbol("a", positive=True)
    s = sample_curves(a**x * sp.log(a), a**x, (Variable("x"), Variable("a", lo=0.0)), {"x": 1.5, "a": 0.93})
    assert s is not None and s["fixed"] == {"a": 0.93}


def test_far_counterexample_stretches_the_window():
    s = sample_curves(x, x + sp.Max(0, x - 9), REAL, {"x": 9.5})
    assert s is not None and s["x"][-1] > 9.5


def test_stray_symbols_and_non_expressions_give_no_plot():
    assert sample_curves(x, x + sp.Symbol("y"), REAL) is None
    assert sample_curves(x, "x", REAL) is None


def test_learner_functions_are_never_called_only_walked():
    called = []

    class Sneaky(sp.Function):
        @classmethod
        def eval(cls, arg):  # runs only on construction, which happens here in the test
            return None

        def _eval_evalf(self, prec):
            called.append(prec)
            return sp.Float(1)

    s = sample_curves(x, Sneaky(x), REAL)
    assert called == [] and (s is None or all(v is None for v in s["answer"]))


def test_oversized_trees_give_no_plot():
    deep = x
    for _ in range(400):
        deep = sp.sin(deep, evaluate=False)
    assert sample_curves(x, deep, REAL) is None
    wide = sp.Add(*(sp.sin(sp.Mul(k, x, evaluate=False), evaluate=False) for k in range(1, 6000)), evaluate=False)
    assert sample_curves(x, wide, REAL) is None


@pytest.mark.parametrize("expr", [
    sp.exp(-x) / (1 + sp.exp(-x)) ** 2, sp.tanh(x) ** 2 - 1, 2 * x * sp.cos(x**2), sp.Abs(x) * sp.sech(x),
    (1 - x**2) / (1 + x**2) ** 2, sp.Max(0, x) + sp.atan(x) * sp.pi,
], ids=["sigmoid'", "tanh", "chain", "abs-sech", "quotient", "max-atan"])
def test_plot_values_agree_with_the_exact_evaluator(expr):
    import mpmath
    from grader.evaluate import compile_expr

    xs = np.linspace(-3, 3, 13)
    fast = evaluate_many(expr, {"x": xs})
    exact = compile_expr(expr)
    with mpmath.workdps(30):
        want = [float(exact({"x": mpmath.mpf(float(v))})[0]) for v in xs]
    assert fast == pytest.approx(want, rel=1e-12, abs=1e-12)


def test_undefined_values_are_nan_and_unknown_nodes_refused():
    out = evaluate_many(sp.log(x) + sp.sqrt(x), {"x": np.array([-1.0, 0.0, 4.0])})
    assert np.isnan(out[0]) and np.isnan(out[1]) and out[2] == pytest.approx(math.log(4) + 2)
    with pytest.raises(Unplottable):
        evaluate_many(sp.Function("mystery")(x), {"x": np.array([1.0])})
    with pytest.raises(Unplottable):
        evaluate_many(sp.I * x, {"x": np.array([1.0])})


def test_illustrate_never_raises_and_skips_plots_when_asked():
    ill = illustrate(REAL, sp.exp(x), sp.exp(2 * x), plot=False)
    assert ill.plot is None and ill.answer_mathml and ill.expected_mathml
    assert re.search(r"<mn>2</mn>", ill.answer_mathml)
    broken = illustrate((), object(), object())
    assert broken.plot is None and broken.answer_mathml is None


def test_differences_almost_everywhere_are_said_not_shaded():
    xs = [float(i) for i in range(20)]
    ref = [1.0] * 20
    ans = [1.0 if i in (5, 12) else 2.0 for i in range(20)]
    p = line_plot({"variable": "x", "x": xs, "answer": ans, "reference": ref})
    assert p is not None and p.bands == () and "almost everywhere" in p.summary


@pytest.mark.parametrize("var,point", [
    (Variable("x", lo=0.0), 0.001), (Variable("x", hi=0.0), -0.001), (Variable("x", lo=0.0), 30.0),
    (Variable("x", hi=0.0), -30.0), (Variable("x", lo=-1.0, hi=1.0), 0.999),
], ids=["near-lower-bound", "near-upper-bound", "far-right", "far-left", "interval"])
def test_window_stays_inside_the_domain_and_shows_the_counterexample(var, point):
    from grader.render.illustrate import _window

    lo, hi = _window(var, point)
    assert (var.lo is None or lo > var.lo) and (var.hi is None or hi < var.hi)
    assert lo <= point <= hi
