"""Geometry for the report's SVG pictures, in pixels (pure: numbers in, frozen values out).

``line_plot`` turns sampled curves (see grader/render/illustrate.py) into paths,
ticks and the bands where the learner's curve leaves the reference;
``heatmap`` turns a per-entry relative-error map into coloured cells.
The templates (``_macros.html``) draw them; no markup is built here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

#: viridis, reversed (small error pale yellow, large error dark purple): readable with colour-blindness
ERROR_BINS: tuple[tuple[float, str, str], ...] = (
    (1e-8, "#fde725", "below 10⁻⁸"),
    (1e-6, "#7ad151", "10⁻⁸ to 10⁻⁶"),
    (1e-4, "#22a884", "10⁻⁶ to 10⁻⁴"),
    (1e-2, "#2a788e", "10⁻⁴ to 10⁻²"),
    (1.0, "#414487", "10⁻² to 1"),
    (math.inf, "#440154", "above 1"),
)
MISSING_FILL = "#9e9e9e"
#: larger maps are shown pooled (the worst entry of each block) to keep the page small
MAX_CELLS_PER_SIDE = 24
#: relative difference above which the two curves count as different at a sample
CURVE_RTOL = 1e-6
#: when the curves differ on at least this share of the samples, no stretches are shaded
MOSTLY = 0.8


@dataclass(frozen=True)
class Tick:
    """One axis tick: its pixel position and label."""

    pos: float
    label: str


@dataclass(frozen=True)
class LinePlot:
    """A learner-versus-reference plot; coordinates are pixels inside ``width`` x ``height``."""

    width: int
    height: int
    left: int
    top: int
    plot_w: int
    plot_h: int
    reference_path: str
    answer_path: str
    bands: tuple[tuple[float, float], ...]
    x_ticks: tuple[Tick, ...]
    y_ticks: tuple[Tick, ...]
    zero_y: float | None
    marker_x: float | None
    marker_points: tuple[tuple[float, float, str], ...]
    variable: str
    caption: str
    summary: str


@dataclass(frozen=True)
class Cell:
    """One heatmap cell: position, fill and its text (shown as a tooltip)."""

    x: int
    y: int
    fill: str
    text: str


@dataclass(frozen=True)
class Heatmap:
    """Per-entry relative error of one parameter's gradient; cells start at (``margin``, ``margin``),
    with row and column indices in the margin (``row_labels``/``col_labels``, empty when pooled)."""

    name: str
    rows: int
    cols: int
    cell: int
    margin: int
    width: int
    height: int
    cells: tuple[Cell, ...]
    row_labels: tuple[Tick, ...]
    col_labels: tuple[Tick, ...]
    pooled: bool
    summary: str


def _fmt(v: float) -> str:
    return f"{v:.4g}".replace("-", "−")


def nice_ticks(lo: float, hi: float, target: int = 5) -> list[float]:
    """Round tick values (steps of 1, 2 or 5 times a power of ten) covering [lo, hi]."""
    span = hi - lo
    if not span > 0:
        return [lo]
    raw = span / target
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / step) * step
    return [round(first + i * step, 12) for i in range(int((hi - first) / step + 1e-9) + 1)]


def _y_range(values: Sequence[float]) -> tuple[float, float]:
    """A y window showing the bulk of the values; far outliers (poles) run off the edge."""
    vals = sorted(values)
    n = len(vals)
    q_lo, q_hi = vals[int(0.03 * (n - 1))], vals[round(0.97 * (n - 1))]
    spread = max(q_hi - q_lo, 1e-12)
    lo = max(vals[0], q_lo - 0.5 * spread)
    hi = min(vals[-1], q_hi + 0.5 * spread)
    if hi - lo < 1e-9 * max(1.0, abs(hi)):
        lo, hi = lo - 1.0, hi + 1.0
    pad = 0.08 * (hi - lo)
    return lo - pad, hi + pad


def _differs(a: float | None, r: float | None) -> bool:
    if a is None or r is None:
        return (a is None) != (r is None)
    return abs(a - r) > CURVE_RTOL * max(1.0, abs(r))


def _runs(flags: Sequence[bool]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    start = None
    for i, f in enumerate([*flags, False]):
        if f and start is None:
            start = i
        elif not f and start is not None:
            out.append((start, i - 1))
            start = None
    return out


def _describe_runs(runs: list[tuple[int, int]], xs: Sequence[float], var: str) -> str:
    parts = []
    for a, b in runs[:3]:
        parts.append(f"at {var} = {_fmt(xs[a])}" if a == b else f"for {var} from {_fmt(xs[a])} to {_fmt(xs[b])}")
    more = f" and in {len(runs) - 3} more places" if len(runs) > 3 else ""
    return ", ".join(parts) + more


def line_plot(plot: Mapping[str, Any], counterexample: Mapping[str, float] | None = None,
              answer_value: float | None = None, reference_value: float | None = None,
              width: int = 640, height: int = 300) -> LinePlot | None:
    """The plot geometry for ``evidence["plot"]``; None when the data is unusable."""
    try:
        xs = [float(x) for x in plot["x"]]
        ans = [None if v is None else float(v) for v in plot["answer"]]
        ref = [None if v is None else float(v) for v in plot["reference"]]
        var = str(plot["variable"])
        fixed = {str(k): float(v) for k, v in dict(plot.get("fixed") or {}).items()}
    except (KeyError, TypeError, ValueError):
        return None
    if len(xs) < 2 or len(ans) != len(xs) or len(ref) != len(xs) or not xs[-1] > xs[0]:
        return None
    finite = [v for v in (*ans, *ref) if v is not None and math.isfinite(v)]
    if not finite:
        return None
    left, top, right, bottom = 56, 12, 16, 36
    pw, ph = width - left - right, height - top - bottom
    x0, x1 = xs[0], xs[-1]
    y0, y1 = _y_range(finite)

    def px(x: float) -> float:
        return round(left + (x - x0) / (x1 - x0) * pw, 1)

    def py(y: float) -> float:
        return round(top + (y1 - y) / (y1 - y0) * ph, 1)

    x_px = np.round(left + (np.asarray(xs) - x0) / (x1 - x0) * pw, 1)

    def path(ys: Sequence[float | None]) -> str:
        y = np.array([np.nan if v is None else v for v in ys], dtype=float)
        ok = np.isfinite(y)
        y_px = np.round(np.clip(top + (y1 - np.where(ok, y, 0.0)) / (y1 - y0) * ph, top - 2 * ph, top + 3 * ph), 1)
        prev = np.concatenate(([np.nan], y[:-1]))
        # a pole: from off one edge to off the other, or across most of the plot with a sign change
        with np.errstate(invalid="ignore"):
            jump = ((prev > y1) & (y < y0)) | ((prev < y0) & (y > y1)) | \
                ((prev * y < 0) & (np.abs(y - prev) > 0.75 * (y1 - y0)))
        move = ~np.concatenate(([False], ok[:-1])) | jump
        return " ".join(f"{'M' if m else 'L'}{a:.1f} {b:.1f}"
                        for m, a, b in zip(move[ok].tolist(), x_px[ok].tolist(), y_px[ok].tolist()))

    half = (xs[1] - xs[0]) / 2
    runs = _runs([_differs(a, r) for a, r in zip(ans, ref)])
    everywhere = runs == [(0, len(xs) - 1)]
    # shading helps where the difference is local; across most of the range it only tints the plot
    mostly = sum(b - a + 1 for a, b in runs) >= MOSTLY * len(xs)
    bands = () if mostly else tuple((px(max(x0, xs[a] - half)), px(min(x1, xs[b] + half))) for a, b in runs)
    marker_x = None
    marks: list[tuple[float, float, str]] = []
    c = (counterexample or {}).get(var)
    if c is not None and x0 <= c <= x1:
        marker_x = px(c)
        for v, cls in ((reference_value, "ref"), (answer_value, "ans")):
            if v is not None and y0 <= v <= y1:
                marks.append((marker_x, py(v), cls))
    fixed_text = ", ".join(f"{k} = {_fmt(v)}" for k, v in fixed.items())
    caption = f"Your answer and the reference for {var} from {_fmt(x0)} to {_fmt(x1)}"
    caption += f", with {fixed_text}" if fixed_text else ""
    if everywhere:
        summary = "They differ everywhere on this range."
    elif mostly:
        summary = "They differ almost everywhere on this range."
    elif runs:
        summary = f"They differ {_describe_runs(runs, xs, var)} (shaded)."
    else:
        summary = "On this range the two curves agree to plotting accuracy; the difference lies elsewhere."
    if c is not None and answer_value is not None and reference_value is not None:
        summary += (f" At {var} = {_fmt(c)} your answer gives {_fmt(answer_value)} and the reference "
                    f"{_fmt(reference_value)} (marked).")
    zero = py(0.0) if y0 < 0 < y1 else None
    return LinePlot(
        width, height, left, top, pw, ph, path(ref), path(ans), bands,
        tuple(Tick(px(t), _fmt(t)) for t in nice_ticks(x0, x1, 8)),
        tuple(Tick(py(t), _fmt(t)) for t in nice_ticks(y0, y1, 5)),
        zero, marker_x, tuple(marks), var, caption, summary)


def _bin(v: float | None) -> str:
    if v is None or not math.isfinite(v):
        return MISSING_FILL
    return next(fill for limit, fill, _ in ERROR_BINS if abs(v) <= limit)


def _matrix(data: Any) -> list[list[float | None]] | None:
    if isinstance(data, (int, float)) and not isinstance(data, bool):
        return [[float(data)]]
    if not isinstance(data, (list, tuple)) or not data:
        return None
    if all(isinstance(r, (list, tuple)) for r in data):
        rows = [[None if v is None else float(v) for v in r] for r in data]
        return rows if rows[0] and all(len(r) == len(rows[0]) for r in rows) else None
    return [[None if v is None else float(v) for v in data]]


def _pool(m: list[list[float | None]]) -> tuple[list[list[float | None]], int, int]:
    """Blocks of entries reduced to their worst (largest) error, so at most MAX_CELLS_PER_SIDE a side."""
    rs = math.ceil(len(m) / MAX_CELLS_PER_SIDE)
    cs = math.ceil(len(m[0]) / MAX_CELLS_PER_SIDE)
    if rs == cs == 1:
        return m, 1, 1
    out = []
    for i in range(0, len(m), rs):
        row = []
        for j in range(0, len(m[0]), cs):
            block = [m[a][b] for a in range(i, min(i + rs, len(m))) for b in range(j, min(j + cs, len(m[0])))]
            vals = [abs(v) for v in block if v is not None and math.isfinite(v)]
            row.append(None if len(vals) < len(block) else max(vals))
        out.append(row)
    return out, rs, cs


def heatmap(name: str, data: Any, tolerance: float = 1e-6, accepted: bool = False) -> Heatmap | None:
    """Cells coloured by relative error for one parameter; None when ``data`` is not a matrix.

    ``accepted``: the checker judged this parameter right (its tolerance may be looser than
    ``tolerance``, e.g. for float32), so the caption says so instead of counting entries.
    """
    try:
        m = _matrix(data)
    except (TypeError, ValueError):
        return None
    if m is None:
        return None
    n_rows, n_cols = len(m), len(m[0])
    flat = [(v, i, j) for i, r in enumerate(m) for j, v in enumerate(r)]
    bad = [(v, i, j) for v, i, j in flat if v is None or not math.isfinite(v) or abs(v) > tolerance]
    pooled_m, rs, cs = _pool(m)
    side = max(len(pooled_m), len(pooled_m[0]))
    cell = 28 if side <= 8 else 18 if side <= 16 else 12
    pooled = rs * cs > 1
    margin = 0 if pooled else 22
    cells = []
    for i, r in enumerate(pooled_m):
        for j, v in enumerate(r):
            where = f"entry ({i}, {j})" if not pooled else \
                f"entries ({i * rs}–{min((i + 1) * rs, n_rows) - 1}, {j * cs}–{min((j + 1) * cs, n_cols) - 1})"
            text = f"{name} {where}: relative error " + ("not finite" if v is None else f"{abs(v):.2g}")
            cells.append(Cell(margin + j * cell, margin + i * cell, _bin(v), text))
    every = 1 if side <= 12 else 5
    rows_l = () if pooled or n_rows == 1 else tuple(
        Tick(margin + i * cell + cell / 2, str(i)) for i in range(n_rows) if i % every == 0)
    cols_l = () if pooled else tuple(
        Tick(margin + j * cell + cell / 2, str(j)) for j in range(n_cols) if j % every == 0)
    shape = f"{n_rows} × {n_cols}" if n_rows > 1 else f"{n_cols} entries"
    tol = _tolerance_text(tolerance)
    if accepted:
        finite = [abs(v) for v, _, _ in flat if v is not None and math.isfinite(v)]
        summary = (f"{name} ({shape}): accepted; the largest relative error is "
                   f"{max(finite, default=0.0):.2g}.")
    elif bad:
        worst = max(bad, key=lambda t: math.inf if t[0] is None or not math.isfinite(t[0]) else abs(t[0]))
        wv = "not finite" if worst[0] is None or not math.isfinite(worst[0]) else f"{abs(worst[0]):.2g}"
        idx = f"({worst[1]}, {worst[2]})" if n_rows > 1 else f"{worst[2]}"
        summary = (f"{name} ({shape}): {len(bad)} of {len(flat)} entries have a relative error above "
                   f"{tol}; the worst is entry {idx}, relative error {wv}.")
    else:
        summary = f"{name} ({shape}): every entry within a relative error of {tol}."
    width = margin + len(pooled_m[0]) * cell
    height = margin + len(pooled_m) * cell
    return Heatmap(name, len(pooled_m), len(pooled_m[0]), cell, margin, width, height, tuple(cells),
                   rows_l, cols_l, pooled, summary)


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def _tolerance_text(tol: float) -> str:
    """``10⁻⁶`` for a power of ten, else the number."""
    k = math.log10(tol) if tol > 0 else 0.5
    return "10" + str(round(k)).translate(_SUPERSCRIPT) if abs(k - round(k)) < 1e-9 else f"{tol:g}"
