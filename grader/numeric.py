"""Compare a learner's numeric output with the reference's (pure, no I/O).

Entries match when ``|got - want| <= atol + rtol * |want|`` (NumPy's
``isclose`` rule, applied with the item's tolerances). Shapes are checked
first, with a hint when the shape is the transpose of the expected one;
NaN and infinity are reported by position. Nested lists, tuples and dicts
are compared element by element with a path such as ``output['dW1'][2]``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .encoding import Unsupported


@dataclass(frozen=True)
class Mismatch:
    """Why the learner's value differs, in one line, plus numbers for reports."""

    path: str
    message: str
    kind: str
    max_abs_error: float | None = None
    max_rel_error: float | None = None


def _numeric_array(value: Any) -> np.ndarray | None:
    if isinstance(value, np.ndarray):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return np.asarray(float(value))
    return None


def _describe(value: Any) -> str:
    if value is None:
        return "None"
    if isinstance(value, Unsupported):
        return f"a {value.type_name}"
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape}"
    return f"a {type(value).__name__}"


def compare_arrays(want: np.ndarray, got: np.ndarray, path: str, rtol: float, atol: float) -> Mismatch | None:
    """Compare two arrays entry by entry; None when they agree within tolerance."""
    if want.shape != got.shape:
        hint = ""
        if got.ndim == 2 and got.shape[::-1] == want.shape and want.shape[0] != want.shape[1]:
            hint = ": is it transposed?"
        elif got.size == want.size:
            hint = f": same number of entries, reshape or keepdims?"
        return Mismatch(path, f"{path} has shape {got.shape}, expected {want.shape}{hint}", "shape")
    if got.dtype.kind == "c":
        return Mismatch(path, f"{path} is complex; expected real numbers", "dtype")
    if got.dtype.kind == "b" and want.dtype.kind != "b":
        return Mismatch(path, f"{path} holds booleans; expected numbers", "dtype")
    g = got.astype(np.float64)
    w = want.astype(np.float64)
    if got.dtype == np.float32 and want.dtype != np.float32:
        rtol = max(rtol, 1e-5)
    bad_g = ~np.isfinite(g) & np.isfinite(w)
    if bad_g.any():
        idx = tuple(int(i) for i in np.argwhere(bad_g)[0])
        what = "NaN" if np.isnan(g[idx] if g.ndim else g) else "infinity"
        where = f" at index {idx}" if g.ndim else ""
        return Mismatch(path, f"{path} contains {what}{where} ({int(bad_g.sum())} of {g.size} entries "
                              f"not finite): look for overflow or division by zero", "nonfinite")
    with np.errstate(invalid="ignore", over="ignore"):
        diff = np.abs(g - w)
        ok = (diff <= atol + rtol * np.abs(w)) | ((g == w) & ~np.isfinite(w))
    if ok.all():
        return None
    rel = diff / np.maximum(np.abs(w), atol if atol > 0 else 1e-300)
    n_bad = int((~ok).sum())
    worst = tuple(int(i) for i in np.unravel_index(int(np.argmax(np.where(ok, -1, diff))), g.shape)) if g.ndim else ()
    got_w = float(g[worst]) if g.ndim else float(g)
    want_w = float(w[worst]) if w.ndim else float(w)
    where = f"; worst at index {worst}" if g.ndim else ""
    return Mismatch(
        path,
        f"{path}: {n_bad} of {g.size} entries differ{where}: got {got_w:.6g}, expected {want_w:.6g}",
        "values",
        float(np.max(diff[~ok])),
        float(np.max(rel[~ok])),
    )


def compare_values(want: Any, got: Any, path: str = "output", rtol: float = 1e-6, atol: float = 1e-9) -> Mismatch | None:
    """Compare nested values (arrays, numbers, lists, tuples, dicts); None when equal within tolerance."""
    if isinstance(want, dict):
        if not isinstance(got, dict):
            return Mismatch(path, f"{path} should be a dict with keys {sorted(want)}; got {_describe(got)}", "type")
        missing = [k for k in want if k not in got]
        if missing:
            return Mismatch(path, f"{path} is missing the key{'s' if len(missing) > 1 else ''} "
                                  f"{', '.join(map(repr, missing))}", "keys")
        for k in want:
            m = compare_values(want[k], got[k], f"{path}[{k!r}]", rtol, atol)
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
            m = compare_values(w, g, f"{path}[{i}]", rtol, atol)
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
    return compare_arrays(w_arr, g_arr, path, rtol, atol)
