"""The wire format: round trips, and refusal of hostile data."""

from __future__ import annotations

import base64
import io
import json

import numpy as np
import pytest
import sympy as sp

from grader import encoding
from grader.encoding import Unsupported, decode_expr, decode_value, encode_value
from grader.errors import DecodeError

x, y = sp.symbols("x y", real=True)


def roundtrip(value):
    return decode_value(json.loads(json.dumps(encode_value(value))), {"x": x, "y": y})


@pytest.mark.parametrize("expr", [
    sp.exp(-x) / (1 + sp.exp(-x)) ** 2,
    sp.Float("0.6931471805599453") * x + sp.Rational(3, 7),
    sp.sin(x**2) * sp.cos(y) - sp.tanh(x) ** 2,
    sp.Function("sigmoid")(x) * (1 - sp.Function("sigmoid")(x)),
    sp.pi * sp.E + sp.sqrt(x) + sp.Abs(y) + sp.Integer(10) ** 50,
    sp.Matrix([[x, y], [1, 2]]),
], ids=["sigmoid-prime", "float", "trig", "undefined-fn", "constants", "matrix"])
def test_expression_round_trip_is_exact(expr):
    back = roundtrip(expr)
    assert sp.simplify(back - expr) == 0 if not isinstance(expr, sp.MatrixBase) else back == sp.ImmutableMatrix(expr)


def test_float_keeps_every_bit():
    f = sp.Float("0.6931471805599453")
    assert roundtrip(f * x).args[0] == f


@pytest.mark.parametrize("value", [None, True, 3, 10**30, 2.5, float("nan"), float("inf"), "text",
                                   [1, 2.0], (1, "a"), {"a": 1.0}])
def test_plain_values_round_trip(value):
    back = roundtrip(value)
    if isinstance(value, float) and value != value:
        assert back != back
    else:
        assert back == value and type(back) is type(value)


def test_arrays_round_trip_with_dtype_and_shape():
    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    back = roundtrip({"W": a})["W"]
    assert back.dtype == np.float32 and back.shape == (3, 4) and np.array_equal(back, a)


def test_object_array_is_not_sent_and_unknown_types_are_named():
    class Liar:
        def __eq__(self, other):
            return True

    assert roundtrip(np.array([Liar()], dtype=object)) == Unsupported("ndarray of dtype object")
    assert roundtrip(Liar()) == Unsupported("Liar")


def test_pickled_array_bytes_are_refused():
    buf = io.BytesIO()
    np.save(buf, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    wire = {"t": "array", "npy": base64.b64encode(buf.getvalue()).decode()}
    with pytest.raises(DecodeError):
        decode_value(wire)


def test_deep_tree_is_refused():
    tree = ["Symbol", "x"]
    for _ in range(encoding.MAX_DEPTH + 5):
        tree = ["Fn", "sin", tree]
    with pytest.raises(DecodeError, match="deeper"):
        decode_expr(tree)


def test_wide_tree_is_refused():
    tree = ["Add"] + [["Integer", "1"]] * (encoding.MAX_NODES + 1)
    with pytest.raises(DecodeError, match="nodes"):
        decode_expr(tree)


def test_huge_integer_is_refused():
    with pytest.raises(DecodeError, match="digits"):
        decode_expr(["Integer", "9" * (encoding.MAX_INT_DIGITS + 1)])


@pytest.mark.parametrize("tree", [
    ["Lambda", ["Symbol", "x"]],
    ["Fn", "__import__", ["Symbol", "x"]],
    ["Symbol", "x; import os"],
    ["Applied", "os.system", ["Symbol", "x"]],
    ["Pow", ["Symbol", "x"]],
    "exp(x)",
    [],
], ids=["unknown-node", "non-whitelisted-fn", "bad-symbol", "bad-fn-name", "wrong-arity", "string", "empty"])
def test_unknown_or_malformed_nodes_are_refused(tree):
    with pytest.raises(DecodeError):
        decode_expr(tree)


def test_unknown_value_tag_is_refused():
    with pytest.raises(DecodeError):
        decode_value({"t": "pickle", "v": "gASV"})


def test_power_of_huge_exponent_is_not_evaluated_on_decode():
    tree = ["Pow", ["Integer", "10"], ["Integer", "9" * 300]]
    expr = decode_expr(tree)
    assert isinstance(expr, sp.Pow)


def test_symbols_map_to_the_items_own_symbols():
    xp = sp.Symbol("x", positive=True)
    assert decode_expr(["Symbol", "x"], {"x": xp}) is xp


@pytest.mark.parametrize("tree", [
    ["Fn", "exp", ["Symbol", "x"], ["Symbol", "x"]],
    ["Symbol", "z", {"positive": True, "negative": True}],
    ["Matrix", -1, -1, ["Symbol", "x"]],
    ["Derivative", ["Integer", "1"], ["Integer", "2"]],
], ids=["wrong-arity-fn", "contradictory-assumptions", "negative-matrix", "derivative-by-number"])
def test_nodes_sympy_refuses_to_build_are_decode_errors(tree):
    with pytest.raises(DecodeError):
        decode_value({"t": "expr", "tree": tree})
