"""Compare a learner's numeric output with the reference's (pure, no I/O).

Order of checks, each with its own one-line message: type (array, number,
dict, list), shape (with a hint for a transpose, a missing ``keepdims`` or a
sum over the wrong axis), dtype (complex, boolean, float16 and text arrays are
refused), NaN and infinity (counted and located), then values.

Values are compared by **relative error with an absolute floor**::

    floor  = max(atol / rtol, scale_floor * max_j |want_j|)
    rel_i  = |got_i - want_i| / max(|want_i|, floor)
    entry i passes  <=>  rel_i <= rtol
                    <=>  |got_i - want_i| <= max(rtol * |want_i|, atol, rtol * scale_floor * max|want|)

Defaults: ``rtol = 1e-6``, ``atol = 1e-9``, ``scale_floor = 0`` (items may
raise it so that entries tiny next to the array's largest one are judged
against the array's scale). A float32 answer compared with a float64
reference is judged at float32 accuracy: ``rtol`` at least
:data:`FLOAT32_RTOL` and ``scale_floor`` at least :data:`FLOAT32_SCALE_FLOOR`.
Matching infinities and matching NaNs count as equal. Nested lists, tuples
and dicts are compared element by element with a path such as ``output['dW1']``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .encoding import Unsupported

#: float32 carries about 7 significant digits; a few dozen roundings later 1e-4 is a fair bar
FLOAT32_RTOL = 1e-4
#: ... and sums with cancellation lose accuracy relative to the array's largest entry
FLOAT32_SCALE_FLOOR = 1e-2
#: rows shown in a mismatch's table (like pytest.approx's)
TABLE_ROWS = 5


@dataclass(frozen=True)
class Mismatch:
    """Why the learner's value differs, in one line, plus numbers for reports.

    ``kind`` is one of ``type``, ``keys``, ``length``, ``shape``, ``dtype``,
    ``nonfinite`` or ``values``; ``index`` is the worst entry; ``table`` holds
    aligned ``index obtained expected rel.error`` lines for the worst entries.
    """

    path: str
    message: str
    kind: str
    max_abs_error: float | None = None
    max_rel_error: float | None = None
    index: tuple[int, ...] | None = None
    n_bad: int = 0
    table: tuple[str, ...] = ()


@dataclass(frozen=True)
class Tolerance:
    """The tolerances actually applied to one comparison (after the float32 adjustment)."""

    rtol: float
    atol: float
    scale_floor: float = 0.0

    def floor(self, want: np.ndarray) -> float:
        """The absolute floor under ``|want_i|`` in the relative error's denominator."""
        base = self.atol / self.rtol if self.rtol > 0 else 0.0
        finite = np.abs(want[np.isfinite(want)]) if want.size else np.zeros(0)
        scale = float(finite.max()) if finite.size else 0.0
        return max(base, self.scale_floor * scale, 1e-300)


def tolerance_for(got: np.ndarray, want: np.ndarray, rtol: float, atol: float,
                  scale_floor: float = 0.0) -> Tolerance:
    """The tolerance to apply: float32 answers against a float64 reference get float32 accuracy."""
    if got.dtype == np.float32 and want.dtype != np.float32:
        return Tolerance(max(rtol, FLOAT32_RTOL), atol, max(scale_floor, FLOAT32_SCALE_FLOOR))
    return Tolerance(rtol, atol, scale_floor)


def relative_errors(want: np.ndarray, got: np.ndarray, tol: Tolerance) -> np.ndarray:
    """Per-entry relative error (see the module docstring); inf where exactly one side is not finite."""
    w = np.asarray(want, dtype=np.float64)
    g = np.asarray(got, dtype=np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        rel = np.abs(g - w) / np.maximum(np.abs(w), tol.floor(w))
    same = (g == w) | (np.isnan(g) & np.isnan(w))
    rel = np.where(same, 0.0, rel)
    return np.where(np.isnan(rel), np.inf, rel)


def _numeric_array(value: Any) -> np.ndarray | None:
    if isinstance(value, np.ndarray):
        return value
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_)):
        return np.asarray(value, dtype=np.float32 if isinstance(value, np.float32) else np.float64)
    return None


def _describe(value: Any) -> str:
    if value is None:
        return "None"
    if isinstance(value, Unsupported):
        return f"a {value.type_name}"
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape}"
    return f"a {type(value).__name__}"


def shape_hint(want: tuple[int, ...], got: tuple[int, ...]) -> str:
    """Why a shape may be wrong: transposed, a lost ``keepdims``, an axis not summed over."""
    if len(got) == 2 and got[::-1] == want and want[0] != want[1]:
        return ": is it transposed?"
    if len(want) == 2 and want[1] == 1:
        if got == (want[0],):
            return ": the sum lost its second axis; use keepdims=True (or reshape to a column)"
        if len(got) == 2 and got[0] == 1 and got[1] != 1:
            return ": summed over the wrong axis? a column needs the sum over axis=1 with keepdims=True"
        if len(got) == 2 and got[0] == want[0] and got[1] > 1:
            return ": one column per example; did you forget to sum over the examples (axis=1)?"
    if int(np.prod(got, dtype=np.int64)) == int(np.prod(want, dtype=np.int64)):
        return ": same number of entries; reshape, or check keepdims"
    return ""


def _dtype_problem(got: np.ndarray, want: np.ndarray, path: str) -> str | None:
    kind = got.dtype.kind
    if kind == "c":
        return f"{path} is complex (dtype {got.dtype}); expected real numbers"
    if kind == "b" and want.dtype.kind != "b":
        return f"{path} holds booleans (dtype bool); expected numbers"
    if kind in "USV":
        return f"{path} holds text (dtype {got.dtype}); expected numbers"
    if got.dtype == np.float16 and want.dtype.kind == "f" and want.dtype != np.float16:
        return f"{path} has dtype float16, which keeps only about 3 significant digits; use float64 (or float32)"
    return None


def _nonfinite(g: np.ndarray, w: np.ndarray, path: str) -> Mismatch | None:
    bad = ~np.isfinite(g) & ~((g == w) | (np.isnan(g) & np.isnan(w)))
    if not bad.any():
        return None
    first = tuple(int(i) for i in np.argwhere(bad)[0]) if g.ndim else ()
    value = g[first] if g.ndim else g
    what = "NaN" if np.isnan(value) else "infinity"
    n_nan, n_inf = int((bad & np.isnan(g)).sum()), int((bad & np.isinf(g)).sum())
    counts = ", ".join(p for p in (f"{n_nan} NaN" if n_nan else "", f"{n_inf} infinite" if n_inf else "") if p)
    where = f" at index {first}" if g.ndim else ""
    of = f" ({counts} of {g.size} entries)" if g.ndim else ""
    return Mismatch(path, f"{path} contains {what}{where}{of}: look for overflow (np.exp of a large "
                          f"number), log(0) or a division by zero", "nonfinite",
                    index=first, n_bad=int(bad.sum()))


def _table(g: np.ndarray, w: np.ndarray, rel: np.ndarray, bad: np.ndarray) -> tuple[str, ...]:
    order = np.argsort(-np.where(bad, rel, -1.0), axis=None, kind="stable")[: min(TABLE_ROWS, int(bad.sum()))]
    rows = [("index", "obtained", "expected", "rel. error")]
    for flat in order:
        idx = tuple(int(i) for i in np.unravel_index(int(flat), g.shape))
        rows.append((str(idx), f"{g[idx]:.6g}", f"{w[idx]:.6g}", f"{rel[idx]:.3g}"))
    widths = [max(len(r[c]) for r in rows) for c in range(4)]
    return tuple("  ".join(cell.ljust(widths[c]) for c, cell in enumerate(r)).rstrip() for r in rows)


def compare_arrays(want: np.ndarray, got: np.ndarray, path: str, rtol: float, atol: float,
                   scale_floor: float = 0.0) -> Mismatch | None:
    """Compare two arrays (shape, dtype, NaN/inf, then values); None when they agree within tolerance."""
    if want.shape != got.shape:
        return Mismatch(path, f"{path} has shape {got.shape}, expected {want.shape}"
                              f"{shape_hint(want.shape, got.shape)}", "shape")
    dtype_msg = _dtype_problem(got, want, path)
    if dtype_msg:
        return Mismatch(path, dtype_msg, "dtype")
    tol = tolerance_for(got, want, rtol, atol, scale_floor)
    g = got.astype(np.float64)
    w = want.astype(np.float64)
    nonfinite = _nonfinite(g, w, path)
    if nonfinite:
        return nonfinite
    rel = relative_errors(w, g, tol)
    with np.errstate(invalid="ignore", over="ignore"):
        diff = np.where(rel == 0, 0.0, np.abs(g - w))
    bad = rel > tol.rtol if tol.rtol > 0 else diff > tol.atol
    if not bad.any():
        return None
    n_bad = int(bad.sum())
    f32 = " (judged at float32 accuracy)" if tol.rtol != rtol else ""
    int_hint = (f"; your array has integer dtype {got.dtype}: integer arithmetic truncates"
                if got.dtype.kind in "iu" and want.dtype.kind == "f" else "")
    if g.ndim == 0:
        return Mismatch(path, f"{path} is {float(g):.6g}, expected {float(w):.6g} "
                              f"(relative error {float(rel):.3g}){f32}{int_hint}", "values",
                        float(diff), float(rel), (), 1)
    worst = tuple(int(i) for i in np.unravel_index(int(np.argmax(np.where(bad, rel, -1.0))), g.shape))
    max_abs = float(np.max(diff[bad]))
    return Mismatch(
        path,
        f"{path}: {n_bad} of {g.size} entries differ{f32}; worst at index {worst}: got {g[worst]:.6g}, "
        f"expected {w[worst]:.6g} (relative error {rel[worst]:.3g}, largest absolute error {max_abs:.3g})"
        f"{int_hint}",
        "values", max_abs, float(rel[worst]), worst, n_bad, _table(g, w, rel, bad),
    )


def plain_map(rel: np.ndarray) -> list[Any]:
    """Relative errors as nested plain lists (4 significant digits, None where not finite) for reports."""
    flat = [float(f"{v:.4g}") if np.isfinite(v) else None for v in np.asarray(rel, dtype=np.float64).ravel().tolist()]
    if rel.ndim <= 1:
        return flat
    cols = rel.shape[-1]
    return [flat[r * cols:(r + 1) * cols] for r in range(len(flat) // cols)]


def error_map(want: np.ndarray, got: np.ndarray, rtol: float, atol: float,
              scale_floor: float = 0.0) -> tuple[list[Any], float]:
    """Per-entry relative errors of ``got`` (see :func:`plain_map`) and the rtol they are judged at
    (float32 answers: the float32 rtol), so a report colours exactly the entries the check rejected."""
    tol = tolerance_for(np.asarray(got), np.asarray(want), rtol, atol, scale_floor)
    return plain_map(relative_errors(want, got, tol)), tol.rtol


def agrees(want: Any, got: Any, rtol: float = 1e-6, atol: float = 1e-9, scale_floor: float = 0.0) -> bool:
    """True when two arrays (or numbers) pass :func:`compare_arrays` (same rule, no message kept)."""
    w, g = _numeric_array(want), _numeric_array(got)
    return w is not None and g is not None and compare_arrays(w, g, "", rtol, atol, scale_floor) is None


def compare_values(want: Any, got: Any, path: str = "output", rtol: float = 1e-6, atol: float = 1e-9,
                   scale_floor: float = 0.0) -> Mismatch | None:
    """Compare nested values (arrays, numbers, lists, tuples, dicts); None when equal within tolerance."""
    if isinstance(want, dict):
        if not isinstance(got, dict):
            return Mismatch(path, f"{path} should be a dict with keys {sorted(want)}; got {_describe(got)}", "type")
        missing = [k for k in want if k not in got]
        if missing:
            extra = [k for k in got if k not in want]
            also = f" (it has {', '.join(map(repr, extra))})" if extra else ""
            return Mismatch(path, f"{path} is missing the key{'s' if len(missing) > 1 else ''} "
                                  f"{', '.join(map(repr, missing))}{also}", "keys")
        for k in want:
            m = compare_values(want[k], got[k], f"{path}[{k!r}]", rtol, atol, scale_floor)
            if m:
                return m
        return None
    if isinstance(want, (list, tuple)):
        if not isinstance(got, (list, tuple)) and not isinstance(got, np.ndarray):
            return Mismatch(path, f"{path} should be a list of {len(want)} values; got {_describe(got)}", "type")
        got_list = list(got) if not isinstance(got, np.ndarray) else list(got.reshape(-1)) if got.ndim else [got]
        if len(got_list) != len(want):
            return Mismatch(path, f"{path} should have {len(want)} entries; it has {len(got_list)}", "length")
        for i, (w, g) in enumerate(zip(want, got_list)):
            m = compare_values(w, g, f"{path}[{i}]", rtol, atol, scale_floor)
            if m:
                return m
        return None
    w_arr, g_arr = _numeric_array(want), _numeric_array(got)
    if w_arr is None:
        return None if want == got else Mismatch(path, f"{path} is {got!r}, expected {want!r}", "values")
    if g_arr is None:
        return Mismatch(path, f"{path} should be {_describe(want) if w_arr.ndim else 'a number'}; "
                              f"got {_describe(got)}", "type")
    if w_arr.ndim == 0 and g_arr.ndim == 1 and g_arr.size == 1:
        g_arr = g_arr.reshape(())
    return compare_arrays(w_arr, g_arr, path, rtol, atol, scale_floor)
