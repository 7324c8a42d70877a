"""The networks the backprop stages are tested on, and the grader's own network arithmetic.

Convention (the course's): ``X`` (n_in, m) one column per example, ``Y``
(n_out, m) in {0, 1}, ``W1`` (n_hidden, n_in), ``b1`` (n_hidden, 1), ``W2``
(n_out, n_hidden), ``b2`` (n_out, 1), sigmoid on both layers and

    J = -(1/m) Σ [y log a2 + (1 - y) log(1 - a2)] + λ/(2m) (‖W1‖² + ‖W2‖²).

Cases are generated from the item's ``seed`` (deterministic) for each shape
in its ``shapes``; with ``large_case`` one more network has inputs big enough
that Z1 passes 750 and -750, where ``np.exp(z) / (1 + np.exp(z))`` overflows to NaN.
The arithmetic here is used to judge a stage on the learner's own earlier
values (σ of *their* Z1, the loss of *their* A2), never to replace references.
"""

from __future__ import annotations

import math
import weakref
import zlib
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from ..encoding import decode_value, encode_value
from ..errors import DecodeError
from ..runtypes import CallOutcome
from ..spec import BackpropItem

PARAM_KEYS = ("W1", "b1", "W2", "b2")
GRAD_KEYS = ("dW1", "db1", "dW2", "db2")
FORWARD_KEYS = ("Z1", "A1", "Z2", "A2")
#: λ for successive cases: different values so a wrong regularisation factor cannot hide
LAMBDAS = (0.7, 0.4, 1.1, 0.9, 0.5)
LEARNING_RATE = 0.1
#: shape of the extra large-input network (n_in, n_hidden, n_out, m)
LARGE_SHAPE = (3, 4, 2, 6)


@dataclass(frozen=True, eq=False)
class Case:
    """One network and batch: inputs, targets, parameters, λ and a learning rate."""

    X: np.ndarray
    Y: np.ndarray
    params: dict[str, np.ndarray]
    lam: float
    lr: float
    large: bool = False

    @property
    def m(self) -> int:
        """Number of examples (columns of X)."""
        return int(self.X.shape[1])

    def describe(self) -> str:
        """``n_in=3, n_hidden=4, n_out=2, m=5, λ=0.7`` for feedback."""
        n_h, n_in = self.params["W1"].shape
        big = ", large inputs" if self.large else ""
        return f"n_in={n_in}, n_hidden={n_h}, n_out={self.params['W2'].shape[0]}, m={self.m}, λ={self.lam:g}{big}"

    def shape(self) -> dict[str, int]:
        """The layer sizes and batch size, for reports."""
        n_h, n_in = self.params["W1"].shape
        return {"n_in": n_in, "n_hidden": n_h, "n_out": int(self.params["W2"].shape[0]), "m": self.m}


def _network(rng: np.random.Generator, n_in: int, n_h: int, n_out: int, m: int, lam: float) -> Case:
    X = rng.normal(size=(n_in, m))
    Y = (rng.random((n_out, m)) < 0.5).astype(np.float64)
    params = {
        "W1": rng.normal(size=(n_h, n_in)),
        "b1": rng.normal(scale=0.5, size=(n_h, 1)),
        "W2": rng.normal(size=(n_out, n_h)),
        "b2": rng.normal(scale=0.5, size=(n_out, 1)),
    }
    return Case(X, Y, params, lam, LEARNING_RATE)


def make_cases(item: BackpropItem) -> list[Case]:
    """The item's networks, the same on every run and for every stage sharing the seed (read-only arrays)."""
    return list(cached_cases(item.seed, item.shapes, item.large_case))


def sigmoid(z: np.ndarray) -> np.ndarray:
    """σ(z) without overflow for any z."""
    z = np.asarray(z, dtype=np.float64)
    with np.errstate(over="ignore", under="ignore"):
        e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def loss_parts(A2: np.ndarray, case: Case) -> tuple[float, float, float]:
    """The cross-entropy term, the weights' L2 term and (for diagnosis) the same L2 term of the biases."""
    Y, p, m = case.Y, case.params, case.m
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        a = np.asarray(A2, dtype=np.float64)
        data = float(-np.sum(Y * np.log(a) + (1 - Y) * np.log(1 - a)) / m)
    reg = case.lam / (2 * m) * float(np.sum(p["W1"] ** 2) + np.sum(p["W2"] ** 2))
    bias = case.lam / (2 * m) * float(np.sum(p["b1"] ** 2) + np.sum(p["b2"] ** 2))
    return data, reg, bias


def is_number(value: Any) -> bool:
    """A finite-or-not real number (float, int, 0-d or one-entry array)."""
    if isinstance(value, np.ndarray):
        return value.size == 1 and value.dtype.kind in "iuf"
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def as_float(value: Any) -> float:
    """The number inside a float, int or one-entry array (callers check :func:`is_number` first)."""
    return float(np.asarray(value, dtype=np.float64).reshape(()))


# ---------------------------------------------------------------- wire helpers


@lru_cache(maxsize=16)
def cached_cases(seed: str, shapes: tuple[tuple[int, int, int, int], ...], large: bool) -> tuple[Case, ...]:
    rng = np.random.default_rng(zlib.crc32(seed.encode()))
    cases = [_network(rng, *shape, lam=LAMBDAS[i % len(LAMBDAS)]) for i, shape in enumerate(shapes)]
    if large:
        base = _network(rng, *LARGE_SHAPE, lam=LAMBDAS[len(cases) % len(LAMBDAS)])
        half = base.X[:, : base.m // 2]
        X = np.concatenate([half, -half], axis=1)  # so Z1 passes ±750 on both sides
        X = X * (800.0 / float(np.abs(base.params["W1"] @ X).max()))
        cases.append(Case(X, base.Y, base.params, base.lam, base.lr, large=True))
    for case in cases:  # shared between calls: make accidental mutation an error
        for arr in (case.X, case.Y, *case.params.values()):
            arr.setflags(write=False)
    return tuple(cases)


def params_wire(params: dict[str, Any], encoded: dict[str, Any] | None = None) -> dict[str, Any]:
    """The wire form of a parameter dict; ``encoded`` supplies already-encoded entries to reuse."""
    encoded = encoded or {}
    return {"t": "dict", "v": [[k, encoded[k] if k in encoded else encode_value(v)] for k, v in params.items()]}


@lru_cache(maxsize=64)
def wire(seed: str, shapes: tuple[tuple[int, int, int, int], ...], large: bool, index: int) -> dict[str, Any]:
    case = cached_cases(seed, shapes, large)[index]
    entries = {k: encode_value(v) for k, v in case.params.items()}
    return {"X": encode_value(case.X), "Y": encode_value(case.Y), "entries": entries,
            "params": params_wire(case.params, entries), "lam": encode_value(case.lam)}


def case_wire(item: BackpropItem, index: int) -> dict[str, Any]:
    """Encoded ``X``, ``Y``, ``params``, ``lam`` (and each parameter's ``entries``) of one case, cached."""
    return wire(item.seed, item.shapes, item.large_case, index)


#: recently decoded outcomes: the stages read each other's results (loss reads forward's A2)
_DECODED: dict[int, tuple[weakref.ref[CallOutcome], tuple[bool, Any]]] = {}
_DECODED_MAX = 512


def _freeze(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        value.setflags(write=False)
    elif isinstance(value, dict):
        for v in value.values():
            _freeze(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            _freeze(v)
    return value


def decoded(outcome: CallOutcome | None) -> tuple[bool, Any]:
    """``(True, value)`` for a call that returned a readable value, else ``(False, None)``.

    Decoded once per outcome (the value's arrays are read-only: several stages share them).
    """
    if outcome is None or outcome.status != "ok":
        return False, None
    hit = _DECODED.get(id(outcome))
    if hit is not None and hit[0]() is outcome:
        return hit[1]
    try:
        answer: tuple[bool, Any] = (True, _freeze(decode_value(outcome.value)))
    except DecodeError:
        answer = (False, None)
    if len(_DECODED) >= _DECODED_MAX:
        try:  # oldest first; another thread may be trimming too
            _DECODED.pop(next(iter(_DECODED)), None)
        except (RuntimeError, StopIteration):
            _DECODED.clear()
    _DECODED[id(outcome)] = (weakref.ref(outcome), answer)
    return answer


def sgd_step(params: dict[str, np.ndarray], grads: dict[str, Any], lr: float) -> dict[str, np.ndarray]:
    """θ - η·∇J for every parameter (``grads`` keyed ``dW1``...): the one step rule every check of
    ``sgd_step`` compares with (on the reference's gradients, the learner's own, uphill or without η)."""
    return {k: v - lr * np.asarray(grads["d" + k], dtype=np.float64) for k, v in params.items()}


def losses_close(a: float, b: float, rtol: float) -> bool:
    """Whether a learner's loss ``a`` matches ``b`` (the rule of the loss item, reused wherever a
    later step asks "was their loss right?")."""
    if math.isnan(a) or math.isnan(b):
        return False
    if math.isinf(a) or math.isinf(b):
        return a == b
    tol = rtol
    if float(np.float32(a)) == a and a != b:  # the learner's value carries only float32 precision
        tol = max(rtol, 1e-5)
    return abs(a - b) <= tol * max(abs(b), 1e-3)
