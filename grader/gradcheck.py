"""Finite-difference gradients and their comparison with analytic ones (pure, no I/O).

For one entry θ_i of a parameter array, with the central difference
``D(h) = (f(θ + h e_i) - f(θ - h e_i)) / 2h`` (error f‴·h²/6 + O(h⁴)), Richardson
extrapolation ``R = (4 D(h) - D(2h)) / 3`` cancels the h² term, leaving
-f⁽⁵⁾·h⁴/30. With the default step :data:`STEP` = 1e-2 that truncation is
~1e-9 for the smooth losses graded here, so what limits R is rounding in f:
about ``ε·max|f| / h`` with ε the precision of f's values. The precision is
read from the values themselves (all exactly representable in float32 means
float32, else float64), so a loss computed in float32 gets a tolerance that
fits float32 and a float64 loss one that fits float64.

The evaluations are planned and assembled separately so they can run
elsewhere (the learner's ``loss`` runs in the sandbox): :func:`plan` lists the
perturbations, :func:`perturbed` builds each perturbed parameter dict, and
:func:`assemble` turns the returned values into gradients. :func:`numerical_gradient`
does all three in-process for functions the grader trusts (references, tests);
:func:`complex_step_gradient` is exact to rounding for functions that accept
complex input.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

STEP = 1e-2
#: the four offsets, in multiples of the step, evaluated per entry
OFFSETS = (1.0, -1.0, 2.0, -2.0)
#: rounding in f is taken as this many units of its precision times max|f|
ROUNDING_UNITS = 8.0

Params = Mapping[str, np.ndarray]


@dataclass(frozen=True)
class Perturbation:
    """One evaluation point: parameter ``key``, entry ``index``, moved by ``offset`` (absolute)."""

    key: str
    index: tuple[int, ...]
    offset: float


@dataclass(frozen=True)
class FDGradient:
    """A finite-difference gradient of one parameter array and its per-entry error bound (rounding)."""

    value: np.ndarray
    error: np.ndarray


def plan(params: Params, keys: Sequence[str] | None = None, step: float = STEP) -> list[Perturbation]:
    """Every perturbation needed for Richardson-extrapolated central differences, in a fixed order."""
    out = []
    for key in keys if keys is not None else list(params):
        for index in np.ndindex(*np.shape(params[key])):
            out += [Perturbation(key, tuple(int(i) for i in index), k * step) for k in OFFSETS]
    return out


def perturbed(params: Params, p: Perturbation) -> dict[str, np.ndarray]:
    """A copy of ``params`` (float64) with one entry moved; the other arrays are shared, not copied."""
    out = dict(params)
    arr = np.array(params[p.key], dtype=np.float64, copy=True)
    arr[p.index] += p.offset
    out[p.key] = arr
    return out


def assemble(params: Params, perturbations: Sequence[Perturbation], values: Sequence[float]) -> dict[str, FDGradient]:
    """Gradients from the values of f at the planned points (same order as :func:`plan` produced them)."""
    if len(values) != len(perturbations):
        raise ValueError(f"{len(values)} values for {len(perturbations)} perturbations")
    grads = {k: np.zeros(np.shape(params[k])) for k in dict.fromkeys(p.key for p in perturbations)}
    errors = {k: np.zeros_like(v) for k, v in grads.items()}
    n = len(OFFSETS)
    eps = precision(values)
    for start in range(0, len(perturbations), n):
        first = perturbations[start]
        h = abs(first.offset)
        f_plus, f_minus, f_plus2, f_minus2 = (float(v) for v in values[start:start + n])
        d1 = (f_plus - f_minus) / (2 * h)
        d2 = (f_plus2 - f_minus2) / (4 * h)
        grads[first.key][first.index] = (4 * d1 - d2) / 3
        # rounding of each value reaches R with weight at most 2·(4/3)/(2h) + 2·(1/3)/(4h) < 1.6/h
        size = max(abs(f_plus), abs(f_minus), abs(f_plus2), abs(f_minus2))
        errors[first.key][first.index] = ROUNDING_UNITS * eps * size * 1.6 / h
    return {k: FDGradient(grads[k], errors[k]) for k in grads}


def precision(values: Sequence[float]) -> float:
    """Unit roundoff of the values' arithmetic: float32's when every value is a float32 number."""
    vals = [float(v) for v in values]
    if vals and all(float(np.float32(v)) == v for v in vals):
        return float(np.finfo(np.float32).eps)
    return float(np.finfo(np.float64).eps)


def numerical_gradient(f: Callable[[dict[str, np.ndarray]], float], params: Params,
                       keys: Sequence[str] | None = None, step: float = STEP) -> dict[str, FDGradient]:
    """Richardson central differences of ``f(params)`` computed here (only for trusted ``f``)."""
    points = plan(params, keys, step)
    return assemble(params, points, [float(f(perturbed(params, p))) for p in points])


def complex_step_gradient(f: Callable[[dict[str, np.ndarray]], complex], params: Params,
                          keys: Sequence[str] | None = None, step: float = 1e-30) -> dict[str, np.ndarray]:
    """``Im f(θ + i h e_j) / h``: exact to rounding when f is real-analytic and accepts complex input."""
    out = {}
    for key in keys if keys is not None else list(params):
        grad = np.zeros(np.shape(params[key]))
        for index in np.ndindex(*grad.shape):
            moved = {k: np.asarray(v, dtype=np.complex128) for k, v in params.items()}
            moved[key][index] += 1j * step
            grad[index] = np.imag(f(moved)) / step
        out[key] = grad
    return out


@dataclass(frozen=True)
class GradientComparison:
    """An analytic gradient against a finite-difference one, entry by entry."""

    rel_errors: np.ndarray
    bad: np.ndarray

    @property
    def ok(self) -> bool:
        """True when every entry agrees within tolerance."""
        return not bool(self.bad.any())

    @property
    def max_rel_error(self) -> float:
        """The largest per-entry relative error."""
        return float(self.rel_errors.max()) if self.rel_errors.size else 0.0


def compare_with_fd(analytic: np.ndarray, fd: FDGradient, rtol: float = 1e-4,
                    floor: float = 0.0) -> GradientComparison:
    """Entry i agrees when ``|a_i - fd_i| <= rtol * max(|fd_i|, floor) + err_i``.

    ``floor`` keeps entries near zero from demanding impossible relative
    accuracy (callers pass a fraction of the whole gradient's scale).
    """
    a = np.asarray(analytic, dtype=np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        diff = np.abs(a - fd.value)
        denom = np.maximum(np.abs(fd.value), max(floor, 1e-300))
        rel = np.where(np.isfinite(diff), diff / denom, np.inf)
        bad = ~(diff <= rtol * denom + fd.error)
    return GradientComparison(rel, bad)
