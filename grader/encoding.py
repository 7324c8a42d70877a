"""The wire format between the grader and the learner's process: plain JSON.

Values are tagged objects::

    {"t": "none"} | {"t": "bool", "v": true} | {"t": "int", "v": "123"}
    {"t": "float", "v": "0.5" | "nan" | "inf" | "-inf"} | {"t": "str", "v": "..."}
    {"t": "list" | "tuple", "v": [value, ...]} | {"t": "dict", "v": [["key", value], ...]}
    {"t": "array", "npy": "<base64 of .npy bytes>"}      read with allow_pickle=False
    {"t": "expr", "tree": node}                            a SymPy expression
    {"t": "unsupported", "type": "ClassName"}              anything else the learner returned

Expression nodes are JSON lists ``[op, ...]``:

    ["Symbol", name]  ["Integer", "digits"]  ["Rational", "p", "q"]
    ["Float", "mantissa", exponent, precision]        value = mantissa * 2**exponent
    ["Const", "pi" | "E" | "I" | "oo" | "-oo" | "zoo" | "nan"]
    ["Add" | "Mul", node, ...]  ["Pow", base, exp]
    ["Fn", name, node, ...]      a SymPy function the table lets cross the wire (sin, exp, log, Max, ...)
    ["Applied", name, node, ...] an undefined function such as Function('sigmoid')(x)
    ["Derivative", expr, var, ...]  decoded so the grader can refuse it by name
    ["Matrix", rows, cols, node, ...]

Decoding is strict: unknown tags or node types, integers over MAX_INT_DIGITS
digits, trees deeper than MAX_DEPTH or larger than MAX_NODES, and arrays over
MAX_ARRAY_BYTES raise DecodeError. Decoded expressions are built with
``evaluate=False`` so a hostile tree cannot make construction itself expensive.
"""

from __future__ import annotations

import base64
import io
import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import sympy as sp
from mpmath.libmp import from_man_exp

from .errors import DecodeError
from .known_functions import BY_NAME, FUNCTION_TABLE

MAX_DEPTH = 200
MAX_NODES = 20_000
MAX_INT_DIGITS = 400
MAX_STR = 10_000
MAX_ARRAY_BYTES = 64 * 1024 * 1024
MAX_CONTAINER = 100_000

#: SymPy functions that may cross the wire as ["Fn", name, ...], from the function table
FUNCTIONS: dict[str, Any] = {entry.name: entry.sympy for entry in FUNCTION_TABLE if entry.wire}
CONSTANTS: dict[str, Any] = {
    "pi": sp.pi, "E": sp.E, "I": sp.I, "oo": sp.oo, "-oo": -sp.oo, "zoo": sp.zoo, "nan": sp.nan,
}
_CONST_OF = {v: k for k, v in CONSTANTS.items()}
_ASSUMPTIONS = {"real", "positive", "negative", "integer", "nonnegative", "nonzero"}
_NAME = re.compile(r"^[^\W\d]\w{0,63}$")


class _Budget:
    def __init__(self, limit: int) -> None:
        self.left = limit

    def take(self) -> None:
        self.left -= 1
        if self.left < 0:
            raise DecodeError(f"expression has more than {MAX_NODES} nodes")


# ---------------------------------------------------------------- encoding


def encode_expr(expr: Any, budget: _Budget | None = None, depth: int = 0) -> list[Any]:
    """Encode a SymPy expression as a plain tree; unknown nodes raise ValueError."""
    budget = budget or _Budget(MAX_NODES)
    budget.take()
    if depth > MAX_DEPTH:
        raise ValueError(f"expression nested deeper than {MAX_DEPTH}")
    if isinstance(expr, sp.Symbol):
        return ["Symbol", str(expr.name)]
    if isinstance(expr, sp.Integer):
        return ["Integer", str(int(expr))]
    if isinstance(expr, sp.Rational):
        return ["Rational", str(int(expr.p)), str(int(expr.q))]
    if isinstance(expr, sp.Float):
        sign, man, exp, _bc = expr._mpf_
        if not man and exp:  # special values: nan or infinities
            return ["Const", "nan" if expr != expr else ("oo" if expr > 0 else "-oo")]
        return ["Float", str(-man if sign else man), int(exp), int(expr._prec)]
    kids = lambda items: [encode_expr(a, budget, depth + 1) for a in items]  # noqa: E731
    if isinstance(expr, sp.MatrixBase):
        return ["Matrix", int(expr.rows), int(expr.cols), *kids(list(expr))]
    if expr in _CONST_OF:
        return ["Const", _CONST_OF[expr]]
    if isinstance(expr, sp.Add):
        return ["Add", *kids(expr.args)]
    if isinstance(expr, sp.Mul):
        return ["Mul", *kids(expr.args)]
    if isinstance(expr, sp.Pow):
        return ["Pow", *kids(expr.args)]
    if isinstance(expr, sp.Derivative):
        return ["Derivative", encode_expr(expr.expr, budget, depth + 1),
                *kids(v for v, _n in expr.variable_count)]
    if isinstance(expr, (sp.Subs, sp.Integral)):
        return ["Applied", type(expr).__name__, *kids(expr.args[:1])]
    func = getattr(expr, "func", None)
    name = getattr(func, "__name__", "")
    if name in FUNCTIONS and func is FUNCTIONS[name]:  # Max/Min are not sp.Function subclasses
        return ["Fn", name, *kids(expr.args)]
    if isinstance(func, sp.core.function.UndefinedFunction):
        return ["Applied", str(name), *kids(expr.args)]
    raise ValueError(f"cannot send a {type(expr).__name__} back to the grader")


def encode_symbol(symbol: sp.Symbol) -> dict[str, Any]:
    """Encode a symbol with its assumptions (grader to child: the learner's arguments)."""
    assume = {k: True for k, v in symbol.assumptions0.items() if v is True and k in _ASSUMPTIONS}
    return {"t": "expr", "tree": ["Symbol", symbol.name, assume]}


def encode_value(value: Any, depth: int = 0) -> dict[str, Any]:
    """Encode a returned value as tagged plain data (child side)."""
    if depth > 50:
        raise ValueError("value nested too deeply")
    tp = type(value)
    if value is None:
        return {"t": "none"}
    if tp is bool or tp is np.bool_:
        return {"t": "bool", "v": bool(value)}
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return {"t": "int", "v": str(int(value))}
    if isinstance(value, (float, np.floating)):
        return {"t": "float", "v": float.__repr__(float(value))}
    if isinstance(value, str):
        return {"t": "str", "v": str.__str__(value)[:MAX_STR]}
    if isinstance(value, (list, tuple)):
        tag = "tuple" if isinstance(value, tuple) else "list"
        return {"t": tag, "v": [encode_value(v, depth + 1) for v in list(value)[:MAX_CONTAINER]]}
    if isinstance(value, dict):
        items = [[str(k), encode_value(v, depth + 1)] for k, v in list(value.items())[:MAX_CONTAINER]]
        return {"t": "dict", "v": items}
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "biufc":
            return {"t": "unsupported", "type": f"ndarray of dtype {value.dtype}"}
        buf = io.BytesIO()
        np.save(buf, np.array(value, copy=True), allow_pickle=False)
        return {"t": "array", "npy": base64.b64encode(buf.getvalue()).decode("ascii")}
    if isinstance(value, (sp.Basic, sp.MatrixBase)):
        return {"t": "expr", "tree": encode_expr(value)}
    return {"t": "unsupported", "type": tp.__name__[:80]}


# ---------------------------------------------------------------- decoding


def _int(text: Any) -> int:
    if not isinstance(text, str) or not re.fullmatch(rf"-?\d{{1,{MAX_INT_DIGITS}}}", text):
        raise DecodeError(f"integer literal is malformed or has more than {MAX_INT_DIGITS} digits")
    return int(text)


def decode_expr(
    tree: Any,
    symbols: Mapping[str, sp.Symbol] | None = None,
    *,
    budget: _Budget | None = None,
    depth: int = 0,
) -> Any:
    """Rebuild a SymPy expression from its plain tree, refusing anything off-list.

    Symbols named in ``symbols`` decode to those objects (with the item's
    assumptions); other names become real symbols, which the checks report.
    """
    budget = budget or _Budget(MAX_NODES)
    budget.take()
    if depth > MAX_DEPTH:
        raise DecodeError(f"expression nested deeper than {MAX_DEPTH} levels")
    if not isinstance(tree, list) or not tree or not isinstance(tree[0], str):
        raise DecodeError("expression node is not a list headed by its type")
    op, args = tree[0], tree[1:]
    sub = lambda items: [decode_expr(a, symbols, budget=budget, depth=depth + 1) for a in items]  # noqa: E731
    if op == "Symbol":
        name = args[0] if len(args) in (1, 2) else None
        if not isinstance(name, str) or not _NAME.match(name):
            raise DecodeError("symbol name is not an identifier")
        if symbols and name in symbols:
            return symbols[name]
        assume = args[1] if len(args) == 2 else {"real": True}
        if not isinstance(assume, dict) or not set(assume) <= _ASSUMPTIONS or not all(
            v is True for v in assume.values()
        ):
            raise DecodeError("symbol assumptions are malformed")
        return sp.Symbol(name, **assume)
    if op == "Integer" and len(args) == 1:
        return sp.Integer(_int(args[0]))
    if op == "Rational" and len(args) == 2:
        q = _int(args[1])
        if q == 0:
            raise DecodeError("rational with zero denominator")
        return sp.Rational(_int(args[0]), q)
    if op == "Float" and len(args) == 3:
        man, exp, prec = _int(args[0]), args[1], args[2]
        if not isinstance(exp, int) or not isinstance(prec, int) or abs(exp) > 10**6 or not 1 <= prec <= 4000:
            raise DecodeError("float literal is malformed")
        return sp.Float._new(from_man_exp(man, exp), prec)
    if op == "Const" and len(args) == 1 and args[0] in CONSTANTS:
        return CONSTANTS[args[0]]
    if op in ("Add", "Mul") and args:
        parts = sub(args)
        return (sp.Add if op == "Add" else sp.Mul)(*parts, evaluate=False)
    if op == "Pow" and len(args) == 2:
        base, expo = sub(args)
        return sp.Pow(base, expo, evaluate=False)
    if op == "Fn" and len(args) >= 2 and args[0] in FUNCTIONS:
        if not BY_NAME[args[0]].takes(len(args) - 1):
            raise DecodeError(f"{args[0]} cannot take {len(args) - 1} argument(s)")
        return FUNCTIONS[args[0]](*sub(args[1:]), evaluate=False)
    if op == "Applied" and len(args) >= 1:
        name = args[0]
        if not isinstance(name, str) or not _NAME.match(name):
            raise DecodeError("function name is not an identifier")
        return sp.Function(name)(*sub(args[1:]))
    if op == "Derivative" and len(args) >= 2:
        parts = sub(args)
        return sp.Derivative(parts[0], *parts[1:], evaluate=False)
    if op == "Matrix" and len(args) >= 2:
        rows, cols = args[0], args[1]
        if not (isinstance(rows, int) and isinstance(cols, int) and 0 <= rows * cols == len(args) - 2):
            raise DecodeError("matrix size does not match its entries")
        return sp.ImmutableMatrix(rows, cols, sub(args[2:]))
    raise DecodeError(f"unknown expression node {op!r}")


def decode_array(b64: Any) -> np.ndarray:
    """Read .npy bytes without pickle; only bool/int/float/complex dtypes."""
    if not isinstance(b64, str) or len(b64) > MAX_ARRAY_BYTES * 4 // 3 + 8:
        raise DecodeError("array payload is missing or too large")
    try:
        arr = np.load(io.BytesIO(base64.b64decode(b64, validate=True)), allow_pickle=False)
    except Exception as exc:  # malformed bytes: report, never trust
        raise DecodeError(f"array could not be read: {type(exc).__name__}") from None
    if not isinstance(arr, np.ndarray) or arr.dtype.kind not in "biufc" or arr.dtype.hasobject:
        raise DecodeError("array has an unsupported dtype")
    return arr


def decode_value(obj: Any, symbols: Mapping[str, sp.Symbol] | None = None, depth: int = 0) -> Any:
    """Turn tagged plain data back into Python values; raise DecodeError on anything odd.

    An ``unsupported`` value decodes to an :class:`Unsupported` marker so the
    check can say what type the learner returned.
    """
    if depth > 50:
        raise DecodeError("value nested too deeply")
    if not isinstance(obj, dict) or not isinstance(obj.get("t"), str):
        raise DecodeError("value is not a tagged object")
    t, v = obj["t"], obj.get("v")
    if t == "none":
        return None
    if t == "bool" and isinstance(v, bool):
        return v
    if t == "int":
        return _int(v)
    if t == "float" and isinstance(v, str) and len(v) < 40:
        try:
            return float(v)
        except ValueError:
            raise DecodeError("float is malformed") from None
    if t == "str" and isinstance(v, str):
        return v[:MAX_STR]
    if t in ("list", "tuple") and isinstance(v, list) and len(v) <= MAX_CONTAINER:
        items = [decode_value(x, symbols, depth + 1) for x in v]
        return tuple(items) if t == "tuple" else items
    if t == "dict" and isinstance(v, list) and len(v) <= MAX_CONTAINER:
        out = {}
        for pair in v:
            if not (isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], str)):
                raise DecodeError("dict entry is malformed")
            out[pair[0][:200]] = decode_value(pair[1], symbols, depth + 1)
        return out
    if t == "array":
        return decode_array(obj.get("npy"))
    if t == "expr":
        try:
            return decode_expr(obj.get("tree"), symbols)
        except (TypeError, ValueError, ArithmeticError) as exc:  # SymPy refused to build a well-formed node
            raise DecodeError(f"expression could not be built ({type(exc).__name__})") from None
    if t == "unsupported" and isinstance(obj.get("type"), str):
        return Unsupported(obj["type"][:80])
    raise DecodeError(f"unknown value tag {t!r}")


class Unsupported:
    """Marks a value of a type the wire format cannot carry (learner classes...)."""

    __slots__ = ("type_name",)

    def __init__(self, type_name: str) -> None:
        self.type_name = type_name

    def __repr__(self) -> str:
        return f"<{self.type_name} object>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Unsupported) and other.type_name == self.type_name

    def __hash__(self) -> int:
        return hash(self.type_name)
