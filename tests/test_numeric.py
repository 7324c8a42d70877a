"""Array comparison: shape and dtype first, NaN/inf, relative error with an absolute floor, float32."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grader.encoding import Unsupported
from grader.numeric import (FLOAT32_RTOL, Tolerance, agrees, compare_arrays, compare_values, relative_errors,
                            shape_hint, tolerance_for)

W = np.arange(1.0, 13.0).reshape(4, 3)


@pytest.mark.parametrize("got_shape,fragment", [
    ((3, 4), "dW1 has shape (3, 4), expected (4, 3): is it transposed?"),
    ((12,), "dW1 has shape (12,), expected (4, 3): same number of entries; reshape, or check keepdims"),
    ((4, 4), "dW1 has shape (4, 4), expected (4, 3)"),
], ids=["transposed", "flattened", "other"])
def test_shape_is_checked_first_with_a_hint(got_shape, fragment):
    m = compare_arrays(W, np.zeros(got_shape), "dW1", 1e-6, 1e-9)
    assert m is not None and m.kind == "shape"
    assert m.message == fragment if got_shape != (4, 4) else m.message.startswith(fragment)


@pytest.mark.parametrize("got,hint", [
    ((4,), "use keepdims=True"),
    ((1, 7), "summed over the wrong axis"),
    ((4, 7), "forget to sum over the examples"),
], ids=["no-keepdims", "wrong-axis", "not-summed"])
def test_column_vector_hints(got, hint):
    assert hint in shape_hint((4, 1), got)


@pytest.mark.parametrize("got,fragment", [
    (W.astype(np.complex128), "is complex"),
    (W > 3, "holds booleans"),
    (W.astype(np.float16), "float16, which keeps only about 3 significant digits"),
    (W.astype(str), "holds text"),
], ids=["complex", "bool", "float16", "text"])
def test_dtype_problems_are_named(got, fragment):
    m = compare_arrays(W, got, "A1", 1e-6, 1e-9)
    assert m is not None and m.kind == "dtype" and fragment in m.message


def test_nan_and_inf_are_counted_and_located():
    got = W.copy()
    got[1, 2] = np.nan
    got[3, 0] = np.inf
    got[3, 1] = np.nan
    m = compare_arrays(W, got, "A1", 1e-6, 1e-9)
    assert m is not None and m.kind == "nonfinite"
    assert m.message.startswith("A1 contains NaN at index (1, 2) (2 NaN, 1 infinite of 12 entries)")
    assert m.index == (1, 2) and m.n_bad == 3


def test_matching_infinities_and_nans_are_equal():
    want = np.array([np.inf, -np.inf, np.nan, 1.0])
    assert compare_arrays(want, want.copy(), "x", 1e-6, 1e-9) is None
    assert compare_arrays(want, want.copy(), "x", 0.0, 0.0) is None  # the "unmodified input" test


def test_relative_error_uses_the_absolute_floor():
    want = np.array([1.0, 1e-12, 0.0])
    # entries near zero are judged against atol, not against their own tiny size
    assert compare_arrays(want, np.array([1.0 + 5e-7, 5e-10, -5e-10]), "x", 1e-6, 1e-9) is None
    m = compare_arrays(want, np.array([1.0, 5e-9, 0.0]), "x", 1e-6, 1e-9)
    assert m is not None and m.index == (1,)
    tol = Tolerance(1e-6, 1e-9)
    assert relative_errors(want, np.array([1.0 + 2e-6, 1e-12, 1e-9]), tol) == pytest.approx([2e-6, 0.0, 1e-6])


def test_scale_floor_judges_small_entries_against_the_arrays_scale():
    want = np.array([100.0, 1e-8])
    got = np.array([100.0, 2e-8])
    assert compare_arrays(want, got, "g", 1e-6, 1e-12) is not None
    assert compare_arrays(want, got, "g", 1e-6, 1e-12, scale_floor=1e-2) is None  # floor 1: 1e-8 <= 1e-6


def test_values_message_is_precise_and_has_a_table():
    got = W.copy()
    got[2, 1] *= 1.5
    got[0, 0] += 1e-3
    m = compare_arrays(W, got, "dW2", 1e-6, 1e-9)
    assert m is not None and m.kind == "values" and m.n_bad == 2
    assert m.message == ("dW2: 2 of 12 entries differ; worst at index (2, 1): got 12, expected 8 "
                         "(relative error 0.5, largest absolute error 4)")
    assert m.table[0].split() == ["index", "obtained", "expected", "rel.", "error"]
    assert m.table[1].startswith("(2, 1)") and m.table[2].startswith("(0, 0)") and len(m.table) == 3


def test_integer_arrays_get_a_truncation_hint():
    m = compare_arrays(np.array([0.5, 1.5]), np.array([0, 1]), "x", 1e-6, 1e-9)
    assert m is not None and "integer dtype int64" in m.message


def test_float32_answers_are_judged_at_float32_accuracy():
    rng = np.random.default_rng(0)
    want = rng.normal(size=(5, 4))
    as32 = want.astype(np.float32)
    assert compare_arrays(want, as32, "A1", 1e-6, 1e-9) is None
    assert compare_arrays(want, as32.astype(np.float64), "A1", 1e-9, 1e-12) is not None  # float64 at 1e-9: no
    wrong = as32.copy()
    wrong[0, 0] *= 1 + 10 * FLOAT32_RTOL
    m = compare_arrays(want, wrong, "A1", 1e-6, 1e-9)
    assert m is not None and "(judged at float32 accuracy)" in m.message
    assert tolerance_for(as32, want, 1e-6, 1e-9).rtol == FLOAT32_RTOL
    assert tolerance_for(want, want, 1e-6, 1e-9).rtol == 1e-6


def test_scalars_and_numpy_scalars():
    assert compare_values(0.25, np.float64(0.25)) is None
    assert compare_values(0.25, np.float32(0.25)) is None
    m = compare_values(0.25, 0.5, "σ'(0)")
    assert m is not None and m.message == "σ'(0) is 0.5, expected 0.25 (relative error 1)"
    assert compare_values(1.0, np.array([1.0])) is None


def test_nested_values_name_the_path():
    want = {"dW1": W, "db1": np.zeros((4, 1))}
    m = compare_values(want, {"dW1": W, "db1": np.ones((4, 1))}, "grads")
    assert m is not None and m.path == "grads['db1']"
    m = compare_values(want, {"W1": W}, "grads")
    assert m is not None and m.kind == "keys"
    assert m.message == "grads is missing the keys 'dW1', 'db1' (it has 'W1')"
    assert compare_values(want, [W], "grads").kind == "type"  # type: ignore[union-attr]
    assert compare_values([1.0, 2.0], [1.0], "traj").kind == "length"  # type: ignore[union-attr]
    m = compare_values(W, Unsupported("Tensor"), "A1")
    assert m is not None and m.message == "A1 should be an array of shape (4, 3); got a Tensor"


def test_agrees_is_the_same_rule_without_a_message():
    assert agrees(W, W * (1 + 5e-7))
    assert not agrees(W, W * (1 + 5e-6))
    assert not agrees(W, W.T)
    assert not agrees(W, None)
    assert agrees(W, W.astype(np.float32))


finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)


@settings(max_examples=200, deadline=None)
@given(w=finite, g=finite, rtol=st.sampled_from([1e-9, 1e-6, 1e-3]), atol=st.sampled_from([0.0, 1e-12, 1e-9, 1e-3]))
def test_documented_rule_holds(w, g, rtol, atol):
    """An entry passes exactly when |g - w| <= max(rtol·|w|, atol) (the module docstring's formula)."""
    passed = compare_arrays(np.array([w]), np.array([g]), "x", rtol, atol) is None
    bound = max(rtol * abs(w), atol)
    diff = abs(g - w)
    if diff <= bound * (1 - 1e-9):
        assert passed
    elif diff >= bound * (1 + 1e-9) + 1e-300:
        assert not passed


def test_error_map_reports_the_tolerance_its_entries_are_judged_at():
    from grader.numeric import FLOAT32_RTOL, error_map

    want = np.array([[1.0, 2.0], [3.0, 4.0]])
    got32 = (want * (1 + 5e-6)).astype(np.float32)
    errors, rtol = error_map(want, got32, 1e-6, 1e-9)
    assert rtol == FLOAT32_RTOL and len(errors) == 2 and all(e < rtol for row in errors for e in row)
    errors64, rtol64 = error_map(want, want * (1 + 5e-6), 1e-6, 1e-9)
    assert rtol64 == 1e-6 and all(e > rtol64 for row in errors64 for e in row)
