"""Name what kind of mistake a wrong array is, knowing nothing of what computed it (pure).

The learner's array L is fitted, per case, as ``L ≈ a·D + b·R`` where D is the
expected value without regularisation and R the regularisation part (the
expected value minus D; when the item names no regulariser, or R is zero, the
fit is ``L ≈ a·E`` with E the expected value). The coefficients across cases
name the mistake: a = b = s a constant factor s (−1 the sign, the batch size m
a missing 1/m, 1/m divided twice, 0 nothing gets through); (1, 0)
regularisation missing; (1, k) the regularisation scaled by k; (−1, 1) or
(m, 1) a sign or a missing 1/m in the data part only. A wrong shape is
checked for a transpose. :func:`diagnose_values` serves every ``@numeric``
item and every stage.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

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


def _close(values: Sequence[float], targets: Sequence[float], tol: float) -> bool:
    return all(abs(v - t) <= tol * max(1.0, abs(t)) for v, t in zip(values, targets))


def _with(message: str, hint: str) -> str:
    return f"{message} ({hint})" if hint else message


def scale(key: str, s: Sequence[float], batches: Sequence[int], tol: float, what: str = "the gradient",
          hints: dict[str, str] | None = None) -> Diagnosis:
    """Name a constant factor ``s`` (one per case) between the learner's array and the expected one."""
    hints = hints or {}
    if _close(s, [0.0] * len(s), tol):
        return Diagnosis("zero", f"{key} is zero everywhere: nothing of {what} gets through", 0.0)
    if _close(s, [-1.0] * len(s), tol):
        return Diagnosis("sign_error", _with(f"{key} has the wrong sign: it is -1 × {what}",
                                             hints.get("sign_error", "")), -1.0)
    if any(m != 1 for m in batches) and _close(s, [float(m) for m in batches], tol):
        big = max(batches)
        return Diagnosis("missing_1_over_m", _with(f"{key} is m times too large (× {big} for m = {big}): divide by "
                                                   f"m, the number of examples", hints.get("missing_1_over_m", "")),
                         float(big))
    if any(m != 1 for m in batches) and _close(s, [1.0 / m for m in batches], tol):
        return Diagnosis("divided_by_m_twice", f"{key} is m times too small: it is divided by m twice",
                         1.0 / max(batches))
    if _close(s, [s[0]] * len(s), tol):
        return Diagnosis("scaled", _with(f"{key} is {s[0]:.4g} × the right values: a constant factor is off",
                                         hints.get("scaled", "")), s[0])
    shown = ", ".join(f"× {v:.3g}" for v in s)
    return Diagnosis("scaled", f"{key} is the right values times a factor that changes from one case to the next "
                               f"({shown}): check what you divide by (m is the number of examples)", None)


def regularisation(key: str, k: Sequence[float], batches: Sequence[int], tol: float, name: str) -> Diagnosis | None:
    """Name a regularisation part scaled by ``k`` (one per case) while the rest is right."""
    if _close(k, [0.0] * len(k), tol):
        return Diagnosis("regularisation_missing", f"{key} has no regularisation term: add the part that comes "
                                                   f"from the {name} term", 0.0)
    if any(m != 1 for m in batches) and _close(k, [float(m) for m in batches], tol):
        return Diagnosis("regularisation_factor", f"{key}'s regularisation term is m times too large: it is "
                                                  f"missing its 1/m", float(max(batches)))
    if _close(k, [k[0]] * len(k), tol):
        why = " (the 2 from the square cancels the 1/2 in λ/(2m))" if abs(k[0] - 0.5) <= tol else ""
        return Diagnosis("regularisation_factor", f"{key}'s regularisation term is {k[0]:.3g} × what it should "
                                                  f"be{why}", k[0])
    return None


def two_parts(key: str, a: Sequence[float], b: Sequence[float], batches: Sequence[int], f32: bool, name: str,
              what: str = "the gradient", hints: dict[str, str] | None = None) -> Diagnosis | None:
    """Name the mistake from per-case (data part, regularisation part) coefficients."""
    tol = COEF_TOL[f32]
    if _close(a, b, tol):
        return scale(key, a, batches, tol, what, hints)
    if _close(a, [1.0] * len(a), tol):
        return regularisation(key, b, batches, tol, name)
    if _close(b, [1.0] * len(b), tol):
        if _close(a, [-1.0] * len(a), tol):
            return Diagnosis("sign_error", _with(f"the data part of {key} has the wrong sign; the regularisation "
                                                 f"part is right", (hints or {}).get("sign_error", "")), -1.0)
        if any(m != 1 for m in batches) and _close(a, [float(m) for m in batches], tol):
            return Diagnosis("missing_1_over_m", f"the data part of {key} is m times too large: divide it by m; "
                                                 f"the regularisation part is right", float(max(batches)))
    return None


def transposed(key: str, got: np.ndarray, want: np.ndarray, agrees_with: bool) -> Diagnosis | None:
    """A 2-d answer of the transposed shape whose transpose is right."""
    if got.ndim == 2 and got.T.shape == want.shape and got.shape != want.shape and agrees_with:
        return Diagnosis("transposed", f"{key} has shape {got.shape}, expected {want.shape}: it is the transpose "
                                       f"of the right answer (check the order of the factors in the product)")
    return None


def wrong_axis(key: str, got: np.ndarray, candidates: Sequence[tuple[str, np.ndarray]]) -> Diagnosis | None:
    """An answer equal to the expected computation reduced over another axis (``candidates``: label, value)."""
    for label, value in candidates:
        if value.shape == got.shape and np.allclose(value, got, rtol=1e-6, atol=1e-12):
            return Diagnosis("wrong_axis", f"{key} is {label}: check the axis you reduce over")
    return None


def diagnose_values(key: str, gots: Sequence[np.ndarray], wants: Sequence[np.ndarray],
                    data_parts: Sequence[np.ndarray] | None, batches: Sequence[int], reg_name: str = "",
                    what: str = "the expected values", hints: dict[str, str] | None = None) -> Diagnosis | None:
    """The generic diagnosis of a wrong array over several cases (same shapes as expected), or None.

    ``data_parts`` are the expected values without regularisation (None: no regulariser named).
    """
    f32 = any(g.dtype == np.float32 for g in gots)
    if any(g.dtype.kind != "f" for g in gots):
        return None  # integers truncate: the comparison's own message says so
    fits: list[np.ndarray] = []
    ms: list[int] = []
    two = False
    for i, (g, w) in enumerate(zip(gots, wants)):
        L = np.asarray(g, dtype=np.float64)
        if L.shape != w.shape:
            return None
        found = None
        if data_parts is not None:
            d = data_parts[i]
            reg = w - d
            if np.any(np.abs(reg) > 1e-14 * max(float(np.abs(w).max(initial=0.0)), 1e-300)):
                found = fit(L, [d, reg])
                if found is not None:
                    two = True
        if found is None:
            one = fit(L, [w])
            if one is not None:
                found = (np.array([one[0][0], one[0][0]]), one[1])
        if found is None:
            continue  # e.g. every unit saturated: this case says nothing about the form
        coef, resid = found
        if resid > FIT_TOL[f32]:
            return None
        fits.append(coef)
        ms.append(batches[i] if i < len(batches) else 1)
    if not fits:
        return None
    a = [float(c[0]) for c in fits]
    b = [float(c[1]) for c in fits]
    if not two:
        return scale(key, a, ms, COEF_TOL[f32], what, hints)
    return two_parts(key, a, b, ms, f32, reg_name or "regularisation", what, hints)


def scalar_models(values: Sequence[float], expected: Sequence[float], data: Sequence[float],
                  batches: Sequence[int], name: str = "the value") -> Diagnosis | None:
    """Name the mistake in a wrong scalar per case: ``value ≈ a·data + b·(expected - data)`` for the
    named (a, b) of a missing or scaled regularisation term, a missing 1/m, a sign, or one constant."""
    if not values:
        return None
    tol = 1e-5
    reg = [e - d for e, d in zip(expected, data)]
    has_reg = any(abs(r) > 1e-12 * max(1.0, abs(e)) for r, e in zip(reg, expected))

    def matches(a: Any, b: Any) -> bool:
        return all(abs(v - (a(m) * d + b(m) * r)) <= tol * max(1.0, abs(v))
                   for v, d, r, m in zip(values, data, reg, batches))

    models: list[tuple[Any, Any, str, str]] = [
        (lambda m: 1, lambda m: 0, "regularisation_missing", f"the regularisation term of {name} is missing"),
        (lambda m: 1, lambda m: 2, "regularisation_factor",
         f"the regularisation term of {name} is twice what it should be (λ/m instead of λ/(2m)?)"),
        (lambda m: 1, lambda m: m, "regularisation_factor",
         f"the regularisation term of {name} is missing its 1/m"),
        (lambda m: m, lambda m: 1, "missing_1_over_m",
         f"the data term of {name} is summed, not averaged: divide it by m"),
        (lambda m: -1, lambda m: 1, "sign_error", f"the data term of {name} has the wrong sign"),
    ] if has_reg else []
    models += [
        (lambda m: m, lambda m: m, "missing_1_over_m", f"{name} is m times too large: divide by m"),
        (lambda m: -1, lambda m: -1, "sign_error", f"{name} has the wrong sign"),
    ]
    for a, b, tag, message in models:
        if (any(m != 1 for m in batches) or tag != "missing_1_over_m") and matches(a, b):
            return Diagnosis(tag, message)
    ratios = [v / e for v, e in zip(values, expected) if e != 0]
    if len(ratios) == len(values) and _close(ratios, [ratios[0]] * len(ratios), tol) and \
            not _close([ratios[0]], [1.0], tol):
        return Diagnosis("scaled", f"{name} is {ratios[0]:.4g} × the right value: a constant factor is off",
                         ratios[0])
    return None
