"""Finite differences: Richardson accuracy, the complex step, precision detection, per-entry comparison;
and the reference backward checked against both."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grader import gradcheck
from grader.checks.stage_cases import item_cases as make_cases


def _quartic(p):
    a, b = p["a"], p["b"]
    return float(np.sum(np.sin(a) * a ** 2) + np.sum(np.exp(0.3 * b)) * np.sum(a))


def _quartic_grad(p):
    a, b = p["a"], p["b"]
    return {"a": np.cos(a) * a ** 2 + 2 * a * np.sin(a) + np.sum(np.exp(0.3 * b)),
            "b": 0.3 * np.exp(0.3 * b) * np.sum(a)}


PARAMS = {"a": np.array([[0.3, -1.2, 2.0], [0.7, 1.5, -0.4]]), "b": np.array([0.5, -2.0])}


def test_plan_has_four_points_per_entry_in_a_fixed_order():
    points = gradcheck.plan(PARAMS)
    assert len(points) == 4 * (6 + 2)
    assert [p.offset for p in points[:4]] == [gradcheck.STEP, -gradcheck.STEP, 2 * gradcheck.STEP,
                                              -2 * gradcheck.STEP]
    assert (points[0].key, points[0].index, points[4].index, points[-1].key) == ("a", (0, 0), (0, 1), "b")
    assert gradcheck.plan(PARAMS, ["b"]) == points[-8:]


def test_perturbed_copies_only_the_moved_array():
    p = gradcheck.Perturbation("a", (1, 2), 0.5)
    moved = gradcheck.perturbed(PARAMS, p)
    assert moved["a"][1, 2] == PARAMS["a"][1, 2] + 0.5 and PARAMS["a"][1, 2] == -0.4
    assert moved["b"] is PARAMS["b"]


def test_richardson_is_far_more_accurate_than_a_plain_central_difference():
    exact = _quartic_grad(PARAMS)
    fd = gradcheck.numerical_gradient(_quartic, PARAMS)
    err_rich = max(float(np.abs(fd[k].value - exact[k]).max()) for k in exact)
    h = gradcheck.STEP
    central = {k: np.zeros_like(v) for k, v in PARAMS.items()}
    for k, v in PARAMS.items():
        for idx in np.ndindex(*v.shape):
            up = gradcheck.perturbed(PARAMS, gradcheck.Perturbation(k, idx, h))
            down = gradcheck.perturbed(PARAMS, gradcheck.Perturbation(k, idx, -h))
            central[k][idx] = (_quartic(up) - _quartic(down)) / (2 * h)
    err_central = max(float(np.abs(central[k] - exact[k]).max()) for k in exact)
    assert err_rich < 1e-8
    assert err_rich < err_central / 1000


def test_complex_step_is_exact_to_rounding():
    def f(p):
        return np.sum(np.sin(p["a"]) * p["a"] ** 2) + np.sum(np.exp(0.3 * p["b"])) * np.sum(p["a"])

    cs = gradcheck.complex_step_gradient(f, PARAMS)
    exact = _quartic_grad(PARAMS)
    for k in exact:
        np.testing.assert_allclose(cs[k], exact[k], rtol=1e-14, atol=1e-14)


def test_assemble_refuses_a_wrong_number_of_values():
    with pytest.raises(ValueError, match="3 values for 32 perturbations"):
        gradcheck.assemble(PARAMS, gradcheck.plan(PARAMS), [0.0, 1.0, 2.0])


def test_precision_is_read_from_the_values():
    assert gradcheck.precision([1.5, float(np.float32(0.1))]) == np.finfo(np.float32).eps
    assert gradcheck.precision([0.1, 1.5]) == np.finfo(np.float64).eps


def test_float32_function_gets_a_tolerance_that_fits_it():
    def f32(p):
        return float(np.float32(_quartic({k: v.astype(np.float32) for k, v in p.items()})))

    fd = gradcheck.numerical_gradient(f32, PARAMS)
    exact = _quartic_grad(PARAMS)
    for k in exact:
        assert gradcheck.compare_with_fd(exact[k], fd[k]).ok
        assert fd[k].error.max() > 1e-5  # float32 noise is acknowledged ...
    fd64 = gradcheck.numerical_gradient(_quartic, PARAMS)
    assert fd64["a"].error.max() < 1e-11  # ... and float64 gets no such slack


def test_compare_with_fd_flags_exactly_the_wrong_entries():
    fd = gradcheck.numerical_gradient(_quartic, PARAMS)
    analytic = _quartic_grad(PARAMS)["a"].copy()
    analytic[1, 0] *= 1.01
    cmp = gradcheck.compare_with_fd(analytic, fd["a"])
    assert not cmp.ok
    assert np.argwhere(cmp.bad).tolist() == [[1, 0]]
    assert cmp.max_rel_error == pytest.approx(0.01, rel=1e-3)


def test_compare_with_fd_floor_keeps_near_zero_entries_fair():
    fd = gradcheck.FDGradient(np.array([1.0, 1e-9]), np.zeros(2))
    assert not gradcheck.compare_with_fd(np.array([1.0, 2e-9]), fd).ok
    assert gradcheck.compare_with_fd(np.array([1.0, 2e-9]), fd, floor=1e-3).ok


# ---------------------------------------------------------------- the reference backward, checked twice


def _complex_loss(X, Y, params, lam):
    """The course's loss in a form that accepts complex parameters (for the complex step)."""
    def sig(z):
        return 1 / (1 + np.exp(-z))

    m = X.shape[1]
    A2 = sig(params["W2"] @ sig(params["W1"] @ X + params["b1"]) + params["b2"])
    cross = -np.sum(Y * np.log(A2) + (1 - Y) * np.log(1 - A2)) / m
    return cross + lam / (2 * m) * (np.sum(params["W1"] ** 2) + np.sum(params["W2"] ** 2))


@pytest.fixture(scope="module")
def references(catalogue):
    ex = catalogue["backprop"]
    return ex.item("backward"), ex.item("loss").reference, ex.item("backward").reference


def test_reference_backward_matches_the_complex_step_of_the_loss(references):
    item, _, backward = references
    for case in make_cases(item)[:3]:
        grads = backward(case.X, case.Y, case.params, case.lam)
        cs = gradcheck.complex_step_gradient(lambda p: _complex_loss(case.X, case.Y, p, case.lam), case.params)
        for k, v in cs.items():
            np.testing.assert_allclose(grads["d" + k], v, rtol=1e-10, atol=1e-13)


def test_reference_backward_matches_richardson_of_the_reference_loss(references):
    item, loss, backward = references
    for case in make_cases(item):
        grads = backward(case.X, case.Y, case.params, case.lam)
        fd = gradcheck.numerical_gradient(lambda p: loss(case.X, case.Y, p, case.lam), case.params)
        scale = max(float(np.abs(g.value).max()) for g in fd.values())
        for k, g in fd.items():
            assert gradcheck.compare_with_fd(grads["d" + k], g, 1e-6, 1e-3 * scale).ok, (case.describe(), k)


@settings(max_examples=15, deadline=None)
@given(n_in=st.integers(1, 4), n_h=st.integers(1, 4), n_out=st.integers(1, 3), m=st.integers(1, 4),
       seed=st.integers(0, 2**32 - 1), lam=st.floats(0.0, 3.0))
def test_backward_and_finite_differences_agree_on_any_small_network(catalogue, n_in, n_h, n_out, m, seed, lam):
    """The comparison never rejects a right gradient, whatever the layer widths and batch size."""
    ex = catalogue["backprop"]
    loss, backward = ex.item("loss").reference, ex.item("backward").reference
    rng = np.random.default_rng(seed)
    X, Y = rng.normal(size=(n_in, m)), (rng.random((n_out, m)) < 0.5).astype(float)
    params = {"W1": rng.normal(size=(n_h, n_in)), "b1": rng.normal(size=(n_h, 1)),
              "W2": rng.normal(size=(n_out, n_h)), "b2": rng.normal(size=(n_out, 1))}
    grads = backward(X, Y, params, lam)
    fd = gradcheck.numerical_gradient(lambda p: loss(X, Y, p, lam), params)
    scale = max(float(np.abs(g.value).max()) for g in fd.values())
    for k, g in fd.items():
        assert gradcheck.compare_with_fd(grads["d" + k], g, 1e-4, 1e-3 * scale).ok
