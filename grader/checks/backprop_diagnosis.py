"""Recognise what kind of mistake a wrong gradient or loss is (pure).

A wrong weight gradient L is fitted, per case, as ``L ≈ a·G0 + b·R`` where G0
is the reference gradient without regularisation and R the reference
regularisation term (λ/m)W; a bias gradient as ``L ≈ a·G + b·(λ/m)·b``. The
coefficients across cases name the mistake: (a, b) = (s, s) a constant factor
s (−1 is a sign error, m a missing 1/m); (1, 0) regularisation missing;
(1, k) regularisation with factor k; (−1, 1) a sign error in the data term;
(1, k≠0) on a bias a regularised bias. The loss is fitted the same way as
``a·data + b·reg + c·bias_reg``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

#: relative residual under which a fitted model counts as exact (float64 / float32 answers)
FIT_TOL = {False: 1e-6, True: 1e-3}
#: how close a fitted coefficient must be to a named value
COEF_TOL = {False: 1e-4, True: 1e-2}


@dataclass(frozen=True)
class Diagnosis:
    """A recognised mistake: stable tag, learner-facing sentence, fitted factor if any."""

    tag: str
    message: str
    factor: float | None = None


def fit(target: np.ndarray, basis: Sequence[np.ndarray]) -> tuple[np.ndarray, float] | None:
    """Least-squares coefficients of ``target ≈ Σ c_j basis_j`` and the relative residual; None if degenerate."""
    t = np.asarray(target, dtype=np.float64).ravel()
    A = np.stack([np.asarray(b, dtype=np.float64).ravel() for b in basis], axis=1)
    if not (np.all(np.isfinite(t)) and np.all(np.isfinite(A))):
        return None
    norms = np.linalg.norm(A, axis=0)
    if np.any(norms <= 1e-12 * max(float(np.linalg.norm(t)), 1e-300)) or np.linalg.matrix_rank(A) < A.shape[1]:
        return None
    coef, *_ = np.linalg.lstsq(A, t, rcond=None)
    resid = float(np.linalg.norm(t - A @ coef)) / max(float(np.linalg.norm(t)), 1e-300)
    return coef, resid


def _all_close(values: Sequence[float], targets: Sequence[float], tol: float) -> bool:
    return all(abs(v - t) <= tol * max(1.0, abs(t)) for v, t in zip(values, targets))


def _scale(key: str, s: Sequence[float], ms: Sequence[int], tol: float) -> Diagnosis:
    if _all_close(s, [0.0] * len(s), tol):
        return Diagnosis("zero", f"{key} is zero everywhere: nothing of the gradient gets through", 0.0)
    if _all_close(s, [-1.0] * len(s), tol):
        return Diagnosis("sign_error", f"{key} has the wrong sign: it is -1 × the gradient "
                                       f"(dZ2 = A2 - Y, not Y - A2)", -1.0)
    if any(m != 1 for m in ms) and _all_close(s, [float(m) for m in ms], tol):
        return Diagnosis("missing_1_over_m", f"{key} is m times too large (× {max(ms)} for m = {max(ms)}): "
                                             f"divide by m, the number of examples", float(max(ms)))
    if any(m != 1 for m in ms) and _all_close(s, [1.0 / m for m in ms], tol):
        return Diagnosis("divided_by_m_twice", f"{key} is m times too small: it is divided by m twice",
                         1.0 / max(ms))
    if _all_close(s, [s[0]] * len(s), tol):
        return Diagnosis("scaled", f"{key} is {s[0]:.4g} × the right values: a constant factor is off", s[0])
    shown = ", ".join(f"× {v:.3g}" for v in s)
    return Diagnosis("scaled", f"{key} is the right gradient times a factor that changes from one network to "
                               f"the next ({shown}): check what you divide by (m is X.shape[1])", None)


def _reg_factor(key: str, k: Sequence[float], ms: Sequence[int], tol: float) -> Diagnosis | None:
    if _all_close(k, [0.0] * len(k), tol):
        return Diagnosis("regularisation_missing", f"{key} has no regularisation term: add (λ/m) "
                                                   f"{key[1:]}", 0.0)
    if any(m != 1 for m in ms) and _all_close(k, [float(m) for m in ms], tol):
        return Diagnosis("regularisation_factor", f"{key}'s regularisation term is λ {key[1:]}; it should be "
                                                  f"(λ/m) {key[1:]}", float(max(ms)))
    if _all_close(k, [k[0]] * len(k), tol):
        why = " (the 2 from the square cancels the 1/2 in λ/(2m))" if abs(k[0] - 0.5) <= tol else ""
        return Diagnosis("regularisation_factor", f"{key}'s regularisation term is {k[0]:.3g} × (λ/m) "
                                                  f"{key[1:]}; it should be exactly (λ/m) {key[1:]}{why}", k[0])
    return None


def diagnose_weight(key: str, fits: Sequence[np.ndarray], ms: Sequence[int], f32: bool) -> Diagnosis | None:
    """Name the mistake in a weight gradient from its per-case (a, b) coefficients."""
    tol = COEF_TOL[f32]
    a = [float(c[0]) for c in fits]
    b = [float(c[1]) for c in fits]
    if _all_close(a, b, tol):
        return _scale(key, a, ms, tol)
    if _all_close(a, [1.0] * len(a), tol):
        return _reg_factor(key, b, ms, tol)
    if _all_close(b, [1.0] * len(b), tol):
        if _all_close(a, [-1.0] * len(a), tol):
            return Diagnosis("sign_error", f"the data part of {key} has the wrong sign (dZ2 = A2 - Y, not "
                                           f"Y - A2); the regularisation part is right", -1.0)
        if any(m != 1 for m in ms) and _all_close(a, [float(m) for m in ms], tol):
            return Diagnosis("missing_1_over_m", f"the data part of {key} is m times too large: divide it by "
                                                 f"m; the regularisation part is right", float(max(ms)))
    return None


def diagnose_bias(key: str, fits: Sequence[np.ndarray], ms: Sequence[int], f32: bool) -> Diagnosis | None:
    """Name the mistake in a bias gradient from its per-case (a, b) coefficients."""
    tol = COEF_TOL[f32]
    a = [float(c[0]) for c in fits]
    b = [float(c[1]) for c in fits]
    if _all_close(a, [1.0] * len(a), tol) and not _all_close(b, [0.0] * len(b), tol):
        return Diagnosis("bias_regularised", f"{key} includes a regularisation term (λ/m)·{key[1:]}: biases are "
                                             f"not regularised, so {key} has no λ term", b[0])
    if _all_close(b, [0.0] * len(b), tol):
        return _scale(key, a, ms, tol)
    return None


def diagnose_loss(values: Sequence[float], parts: Sequence[tuple[float, float, float]],
                  ms: Sequence[int], n_outs: Sequence[int]) -> Diagnosis | None:
    """Name the mistake in a wrong loss from (data, reg, bias_reg) parts of the reference, per case."""
    tol = 1e-5

    def matches(model: Callable[[tuple[float, float, float], int, int], float]) -> bool:
        return all(abs(v - model(p, m, n)) <= tol * max(1.0, abs(v))
                   for v, p, m, n in zip(values, parts, ms, n_outs))

    models = [
        (lambda p, m, n: p[0], "regularisation_missing",
         "the regularisation term λ/(2m) (‖W1‖² + ‖W2‖²) is missing"),
        (lambda p, m, n: p[0] + p[1] + p[2], "bias_regularised",
         "the biases are regularised too: only ‖W1‖² and ‖W2‖² belong in the λ term"),
        (lambda p, m, n: p[0] + 2 * p[1], "regularisation_factor",
         "the regularisation term is λ/m (‖W1‖² + ‖W2‖²); it should be λ/(2m) (...)"),
        (lambda p, m, n: p[0] + m * p[1], "regularisation_factor",
         "the regularisation term is missing its 1/m: it should be λ/(2m) (‖W1‖² + ‖W2‖²)"),
        (lambda p, m, n: m * p[0] + p[1], "missing_1_over_m",
         "the cross-entropy is summed, not averaged: divide it by m"),
        (lambda p, m, n: m * (p[0] + p[1]), "missing_1_over_m",
         "the loss is m times too large: divide by m"),
        (lambda p, m, n: -p[0] + p[1], "sign_error",
         "the cross-entropy has the wrong sign: J = -(1/m) Σ [y log a2 + (1 - y) log(1 - a2)]"),
        (lambda p, m, n: p[0] / n + p[1], "mean_over_outputs",
         "the cross-entropy is averaged over every entry (np.mean): divide the sum by m only"),
    ]
    for model, tag, message in models:
        if matches(model):
            return Diagnosis(tag, message)
    return None
