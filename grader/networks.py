"""Test cases for multi-stage items (``@stage``), and helpers that generate the usual ones (pure).

A :class:`Case` is the named arguments every stage of a computation may ask
for (``X``, ``Y``, ``params``, ``lam``, ``lr``...), its batch size (the number
of examples, which the "missing 1/m" diagnosis uses) and a label for feedback.
A computation's ``cases=lambda rng: [...]`` returns them; :func:`network`
builds a random dense network in any of the usual parameter layouts, and
:func:`large_inputs` and :func:`saturating` turn one into an extreme case
(first-layer pre-activations past ±800, output logits past ±40), so an
activation that overflows or a loss that takes ``log`` of a saturated output is
caught. Nothing here is graded; it only makes inputs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np

Layout = Literal["dict", "positional", "layers"]


@dataclass(frozen=True, eq=False)
class Case:
    """One test case: the named arguments stages are called with, the batch size and a label.

    ``case.X`` reads argument ``X``. ``extreme`` names what makes the case special
    (``"large inputs"``, ``"saturating output"``); it is shown in feedback.
    """

    args: Mapping[str, Any]
    batch: int = 1
    label: str = ""
    info: Mapping[str, Any] = field(default_factory=dict)
    extreme: str = ""

    def __getattr__(self, name: str) -> Any:
        args = self.__dict__.get("args", {})
        if name in args:
            return args[name]
        raise AttributeError(name)

    @property
    def m(self) -> int:
        """The batch size."""
        return self.batch

    @property
    def large(self) -> bool:
        """Whether this is an extreme case."""
        return bool(self.extreme)

    def describe(self) -> str:
        """The label for feedback, with what makes the case extreme."""
        return ", ".join(p for p in (self.label, self.extreme) if p)

    def shape(self) -> dict[str, Any]:
        """Sizes for reports (layer widths and batch size)."""
        return dict(self.info)


def case(batch: int = 1, label: str = "", extreme: str = "", info: Mapping[str, Any] | None = None,
         **args: Any) -> Case:
    """A case from keyword arguments: ``case(X=..., Y=..., params=..., batch=5)``."""
    return Case(dict(args), int(batch), label, dict(info or {}), extreme)


def _targets(rng: np.random.Generator, kind: str, n_out: int, m: int) -> np.ndarray:
    if kind == "binary":
        return (rng.random((n_out, m)) < 0.5).astype(np.float64)
    if kind == "onehot":
        return np.eye(n_out)[:, rng.integers(0, n_out, size=m)]
    return rng.normal(size=(n_out, m))


def network(rng: np.random.Generator, sizes: Sequence[int], m: int, *, layout: Layout = "dict",
            targets: str = "binary", weights: str = "W{}", biases: str = "b{}", params: str = "params",
            extra: Mapping[str, Any] | None = None, label: str = "") -> Case:
    """A random dense network with layer widths ``sizes`` (inputs first) and a batch of ``m`` columns.

    ``X`` is (sizes[0], m), ``Y`` (sizes[-1], m): ``targets`` "binary" (0/1),
    "onehot" (one class per column) or "real". Layer ``i`` (from 1) has a weight
    (sizes[i], sizes[i-1]) and a bias (sizes[i], 1) named by ``weights`` and
    ``biases``. ``layout``: "dict" puts them in one dict argument named
    ``params``; "positional" makes each its own argument; "layers" a list of
    ``{"W": ..., "b": ...}`` dicts named ``params``. ``extra`` adds arguments
    (``lam``, ``lr``).
    """
    X = rng.normal(size=(sizes[0], m))
    Y = _targets(rng, targets, sizes[-1], m)
    layers = []
    for i in range(1, len(sizes)):
        layers.append((rng.normal(size=(sizes[i], sizes[i - 1])), rng.normal(scale=0.5, size=(sizes[i], 1))))
    args: dict[str, Any] = {"X": X, "Y": Y}
    named = {}
    for i, (W, b) in enumerate(layers, start=1):
        named[weights.format(i)] = W
        named[biases.format(i)] = b
    if layout == "dict":
        args[params] = named
    elif layout == "positional":
        args.update(named)
    else:
        args[params] = [{weights.format(""): W, biases.format(""): b} for W, b in layers]
    args.update(extra or {})
    names = ["n_in", *(f"n_hidden{'' if len(sizes) == 3 else i}" for i in range(1, len(sizes) - 1)), "n_out"]
    info = {**dict(zip(names, (int(s) for s in sizes))), "m": int(m)}
    shown = ", ".join(f"{k}={v}" for k, v in info.items())
    extras = "".join(f", {'λ' if k == 'lam' else k}={v:g}" for k, v in (extra or {}).items()
                     if k != "lr" and isinstance(v, (int, float)))
    return Case(args, int(m), label or shown + extras, info)


def _weights_and_biases(c: Case) -> list[tuple[str, str, str | int]]:
    """(argument, weight key, bias key) of each layer, in order, whatever the layout."""
    out: list[tuple[str, str, str | int]] = []
    for name, value in c.args.items():
        if isinstance(value, dict):
            keys = [k for k, v in value.items() if isinstance(v, np.ndarray) and v.ndim == 2]
            out += [(name, keys[j], keys[j + 1]) for j in range(0, len(keys) - 1, 2)]
        elif isinstance(value, list):
            out += [(name, "W", i) for i in range(len(value))]
    if not out:
        arrays = [k for k, v in c.args.items() if k not in ("X", "Y") and isinstance(v, np.ndarray)]
        out = [("", arrays[j], arrays[j + 1]) for j in range(0, len(arrays) - 1, 2)]
    return out


def _layer_arrays(args: dict[str, Any], where: tuple[str, str, str | int]) -> tuple[Any, str, str]:
    """The container holding one layer's weight and bias, and their keys in it."""
    arg, w, b = where
    if not arg:
        return args, w, str(b)
    holder = args[arg]
    if isinstance(holder, list):
        layer = holder[int(b)]
        keys = list(layer)
        return layer, keys[0], keys[1]
    return holder, w, str(b)


def _copy_args(c: Case) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in c.args.items():
        if isinstance(v, dict):
            out[k] = dict(v)
        elif isinstance(v, list):
            out[k] = [dict(x) for x in v]
        else:
            out[k] = v
    return out


def large_inputs(c: Case, reach: float = 800.0) -> Case:
    """The same network with inputs scaled (half of them negated) so the first layer's pre-activation
    passes ±``reach``: ``np.exp(z) / (1 + np.exp(z))`` overflows there."""
    args = _copy_args(c)
    X = np.asarray(c.args["X"])
    half = X[:, : X.shape[1] // 2]
    X = np.concatenate([half, -half, X[:, 2 * half.shape[1]:]], axis=1)
    holder, w, _ = _layer_arrays(args, _weights_and_biases(c)[0])
    X = X * (reach / float(np.abs(holder[w] @ X).max()))
    args["X"] = X
    return replace(c, args=args, extreme="large inputs")


def saturating(c: Case, logits: float = 40.0) -> Case:
    """The same network with the output layer's biases set to alternately +``logits`` + 10 and the
    opposite, so every output logit lies beyond ±``logits``: σ rounds to exactly 0 or 1 (a loss
    that takes ``log(A)`` directly, or a gradient routed through ``1/A``, gives inf or NaN)."""
    args = _copy_args(c)
    holder, _, b = _layer_arrays(args, _weights_and_biases(c)[-1])
    bias = np.asarray(holder[b], dtype=np.float64)
    signs = np.where(np.arange(bias.shape[0]) % 2 == 0, 1.0, -1.0).reshape(bias.shape[0], *bias.shape[1:])
    holder[b] = signs * (logits + 10.0) + np.zeros_like(bias)
    return replace(c, args=args, extreme=f"saturating output (logits beyond ±{logits:g})")


def networks(rng: np.random.Generator, shapes: Sequence[tuple[int, ...]], *, lambdas: Sequence[float] = (),
             lr: float | None = None, large: bool = True, saturate: float | None = 40.0,
             **options: Any) -> list[Case]:
    """One :func:`network` per ``shapes`` entry (layer widths then the batch size), then a
    :func:`large_inputs` and a :func:`saturating` copy of a fresh one (``large=False`` or
    ``saturate=None`` leave them out). ``lambdas`` gives each case a different ``lam`` (so a wrong
    regularisation factor cannot hide); ``lr`` adds a learning rate. Other options go to :func:`network`."""
    out: list[Case] = []
    count = len(shapes) + int(large) + int(saturate is not None)
    extra: dict[str, Any] = dict(options.pop("extra", None) or {})
    for i in range(count):
        base_extra = {**({"lam": lambdas[i % len(lambdas)]} if lambdas else {}), **({"lr": lr} if lr else {})}
        options_i = {**options, "extra": {**base_extra, **extra}}
        if i < len(shapes):
            *sizes, m = shapes[i]
            out.append(network(rng, sizes, m, **options_i))
        else:
            *sizes, m = shapes[0]
            fresh = network(rng, sizes, max(m + m % 2, 4), **options_i)
            out.append(large_inputs(fresh) if large and i == len(shapes) else saturating(fresh, saturate or 40.0))
    return out


def freeze(cases: Sequence[Case]) -> tuple[Case, ...]:
    """Make every array of the cases read-only (they are shared between calls and checks)."""
    def walk(value: Any) -> None:
        if isinstance(value, np.ndarray):
            value.setflags(write=False)
        elif isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, (list, tuple)):
            for v in value:
                walk(v)
    for c in cases:
        walk(dict(c.args))
    return tuple(cases)


CaseMaker = Callable[[np.random.Generator], Sequence[Case]]
