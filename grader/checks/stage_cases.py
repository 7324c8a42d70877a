"""What every stage check shares: a computation's cases, their wire form, parameter leaves, decoding.

A computation's parameters are *leaves*: each weight or bias array, wherever the
spec says it is passed (one dict argument, positional arrays, a list of layer
dicts). A :class:`Leaf` knows its path among the case's arguments and the name
of its gradient, so finite differences, gradient outputs and update steps are
read the same way for every layout. Nothing here knows what a network computes.
"""

from __future__ import annotations

import inspect
import math
import weakref
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from ..encoding import decode_value, encode_value
from ..errors import DecodeError
from ..networks import Case, case, freeze
from ..runtypes import CallOutcome
from ..spec import Computation

Path = tuple[Any, ...]


@dataclass(frozen=True)
class Leaf:
    """One parameter array: its label (``W``, ``params[0]['W']``), its path among a case's arguments,
    and its gradient's name (``dW``) and position in a gradient output."""

    label: str
    path: Path
    gradient: str
    index: int


@lru_cache(maxsize=16)
def cases_of(net: Computation) -> tuple[Case, ...]:
    """The computation's cases, the same on every run (seeded from ``net.seed``), arrays read-only."""
    rng = np.random.default_rng(zlib.crc32(net.seed.encode()))
    made = []
    for c in net.cases(rng):
        if isinstance(c, Case):
            made.append(c)
        else:
            made.append(case(**dict(c)))
    return freeze(made)


@lru_cache(maxsize=256)
def arg_names(func: Callable[..., Any]) -> tuple[str, ...]:
    """A reference function's parameter names, in order (the case arguments it is called with)."""
    return tuple(inspect.signature(func).parameters)


def leaves(net: Computation, c: Case) -> list[Leaf]:
    """The parameter arrays of case ``c`` in order, as the spec passes them."""
    out: list[Leaf] = []
    if isinstance(net.params, tuple):
        for name in net.params:
            out.append(Leaf(name, (name,), net.gradient_names.format(name), len(out)))
        return out
    holder = c.args[net.params]
    if isinstance(holder, Mapping):
        for k in holder:
            out.append(Leaf(str(k), (net.params, k), net.gradient_names.format(k), len(out)))
    else:
        for i, layer in enumerate(holder):
            for k in layer:
                out.append(Leaf(f"{net.params}[{i}][{k!r}]", (net.params, i, k),
                                f"[{i}][{net.gradient_names.format(k)!r}]", len(out)))
    return out


def get_path(value: Any, path: Path) -> Any:
    """The value at ``path`` inside nested dicts and lists."""
    for p in path:
        value = value[p]
    return value


def set_path(value: Any, path: Path, new: Any) -> Any:
    """A copy of nested ``value`` with ``path`` replaced; only the containers along the path are copied."""
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, Mapping):
        out = dict(value)
        out[head] = set_path(value[head], rest, new)
        return out
    items = list(value)
    items[head] = set_path(items[head], rest, new)
    return items


def gradient_of_leaf(output: Any, leaf: Leaf, net: Computation) -> Any:
    """The entry of a gradient output for one parameter: by gradient name in a dict (or, when the
    output names it like the parameter, by the parameter's own name), by position in a tuple or list."""
    if isinstance(leaf.path[0], str) and len(leaf.path) == 3 and isinstance(output, (list, tuple)):
        layer = output[leaf.path[1]] if leaf.path[1] < len(output) else None
        if isinstance(layer, Mapping):
            key = net.gradient_names.format(leaf.path[2])
            return layer.get(key, layer.get(leaf.path[2]))
        return None
    if isinstance(output, Mapping):
        own = leaf.path[-1]
        return output.get(leaf.gradient, output.get(own))
    if isinstance(output, (list, tuple)) and leaf.index < len(output):
        return output[leaf.index]
    return None


def gradient_names(net: Computation, c: Case) -> list[str]:
    """What each parameter's gradient is called in feedback (``dW``...)."""
    return [leaf.gradient for leaf in leaves(net, c)]


def with_parameters(net: Computation, c: Case, new: Any) -> dict[str, Any] | None:
    """The case's arguments with the parameters replaced by an update step's output (same layout:
    a dict or list for one parameter argument, a tuple/list/dict of arrays for positional ones)."""
    args = dict(c.args)
    if isinstance(net.params, str):
        if type(new) is not type(c.args[net.params]) and not (isinstance(new, Mapping) and
                                                             isinstance(c.args[net.params], Mapping)):
            return None
        args[net.params] = new
        return args
    for i, name in enumerate(net.params):
        value = new.get(name) if isinstance(new, Mapping) else new[i] if isinstance(new, (list, tuple)) and \
            i < len(new) else None
        if value is None:
            return None
        args[name] = value
    return args


# ---------------------------------------------------------------- wire forms, cached per case


@lru_cache(maxsize=64)
def case_wire(net: Computation, index: int) -> dict[str, Any]:
    """Each argument of case ``index``, encoded once."""
    return {k: encode_value(v) for k, v in cases_of(net)[index].args.items()}


@lru_cache(maxsize=64)
def _leaf_wire(net: Computation, index: int) -> dict[int, Any]:
    """Encoded parameter arrays of a case by ``id``, so a perturbed argument re-encodes one array only."""
    c = cases_of(net)[index]
    out = {}
    for leaf in leaves(net, c):
        arr = get_path(c.args, leaf.path)
        out[id(arr)] = encode_value(arr)
    return out


def encode_reusing(value: Any, known: Mapping[int, Any]) -> Any:
    """``encode_value`` that reuses the encodings of arrays it has already seen (by identity)."""
    if isinstance(value, np.ndarray) and id(value) in known:
        return known[id(value)]
    if isinstance(value, Mapping):
        return {"t": "dict", "v": [[str(k), encode_reusing(v, known)] for k, v in value.items()]}
    if isinstance(value, list):
        return {"t": "list", "v": [encode_reusing(v, known) for v in value]}
    return encode_value(value)


def args_wire(net: Computation, index: int, names: Sequence[str], changed: Mapping[str, Any] | None = None) \
        -> tuple[Any, ...]:
    """The wire arguments for a call of a function with parameters ``names`` on case ``index``;
    ``changed`` gives new values for some arguments (encoded reusing unchanged arrays)."""
    w = case_wire(net, index)
    out = []
    for n in names:
        if changed and n in changed:
            out.append(encode_reusing(changed[n], _leaf_wire(net, index)))
        else:
            out.append(w[n])
    return tuple(out)


# ---------------------------------------------------------------- learner results, decoded once

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


def is_number(value: Any) -> bool:
    """A finite-or-not real number (float, int, 0-d or one-entry array)."""
    if isinstance(value, np.ndarray):
        return value.size == 1 and value.dtype.kind in "iuf"
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def as_float(value: Any) -> float:
    """The number inside a float, int or one-entry array (callers check :func:`is_number` first)."""
    return float(np.asarray(value, dtype=np.float64).reshape(()))


def scalars_close(a: float, b: float, rtol: float) -> bool:
    """Whether a learner's scalar ``a`` matches ``b`` (one rule, reused wherever a later stage asks
    "was their scalar right?"); a float32 value gets float32 precision."""
    if math.isnan(a) or math.isnan(b):
        return False
    if math.isinf(a) or math.isinf(b):
        return a == b
    tol = rtol
    if float(np.float32(a)) == a and a != b:
        tol = max(rtol, 1e-5)
    return abs(a - b) <= tol * max(abs(b), 1e-3)


def call_reference(func: Callable[..., Any], c: Case, **override: Any) -> Any:
    """A trusted reference on a case's arguments named like its parameters (``override`` replaces some)."""
    args = {**c.args, **override}
    return func(*(args[n] for n in arg_names(func)))


def evidence_cases(net: Computation) -> list[dict[str, Any]]:
    """Per case, its sizes, the regulariser's value and whether it is extreme (plain data for reports)."""
    out = []
    for c in cases_of(net):
        row: dict[str, Any] = dict(c.shape())
        if net.regulariser and net.regulariser in c.args:
            row["lam"] = float(c.args[net.regulariser])
        row["large"] = c.large
        out.append(row)
    return out


def item_cases(item: Any) -> list[Case]:
    """A stage item's cases (those of its computation)."""
    return list(cases_of(item.net))
