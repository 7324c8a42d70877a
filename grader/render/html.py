"""The HTML feedback report: one self-contained page per graded submission.

Templates live in ``grader/templates`` and are rendered with autoescaping on
and StrictUndefined, so learner text can never inject markup and a template
typo fails loudly. The page loads nothing (its CSP forbids it): styles are
inline, pictures are inline SVG drawn from the plain data in each
ItemResult's evidence (``plot``, ``error_maps``), formulas are MathML built
here from the expression trees in the evidence (grader/render/illustrate.py).

The context of ``report.html`` is :class:`ReportContext`; each item is an
:class:`ItemView` (what the templates show, computed here, not in Jinja).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import jinja2
from markupsafe import Markup

from .. import __version__
from ..results import ErrorInfo, ExerciseResult, ItemResult
from .illustrate import from_evidence
from .mathml import is_safe
from .plots import ERROR_BINS, Heatmap, LinePlot, heatmap, line_plot
from .text import finalize, score, truncate

#: how many items "fix these first" lists
FIX_FIRST = 3
#: learner output shown at most (characters)
MAX_OUTPUT = 4000


@dataclass(frozen=True)
class ItemView:
    """One item as the report shows it."""

    result: ItemResult
    anchor: str
    answer_math: Markup | None
    expected_math: Markup | None
    counterexamples: tuple[str, ...]
    plot: LinePlot | None
    heatmaps: tuple[Heatmap, ...]
    fd_heatmaps: tuple[Heatmap, ...]
    error: ErrorInfo | None
    details: tuple[tuple[bool, str], ...] = ()


@dataclass(frozen=True)
class ReportContext:
    """Everything ``report.html`` uses."""

    result: ExerciseResult
    items: tuple[ItemView, ...]
    fix_first: tuple[ItemView, ...]
    show_solutions: bool
    error_bins: tuple[tuple[float, str, str], ...]
    stdout: str
    stderr: str
    version: str
    score: str


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """The jinja2 environment shared by every HTML page (autoescape on, StrictUndefined)."""
    return jinja2.Environment(
        loader=jinja2.PackageLoader("grader", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        finalize=finalize,  # every value shown: control characters as visible escapes, then autoescaped
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _math(markup: str | None) -> Markup | None:
    """Validated MathML as markup; anything that fails the whitelist is dropped (text is shown)."""
    return Markup(markup) if isinstance(markup, str) and is_safe(markup) else None


def _num(v: float, other: float | None = None) -> str:
    """Four significant digits, more when needed to tell ``v`` from ``other``."""
    for digits in range(4, 13):
        text = f"{v:.{digits}g}"
        if other is None or text != f"{other:.{digits}g}":
            return text
    return f"{v:.12g}"


def counterexample_text(ev: Mapping[str, Any]) -> str | None:
    """"At x = 0.5 your answer gives 0.235; the correct value is 0.4701." from symbolic evidence."""
    point, a, r = ev.get("counterexample"), ev.get("answer_value"), ev.get("reference_value")
    if not isinstance(point, Mapping) or not point or not isinstance(a, (int, float)) \
            or not isinstance(r, (int, float)):
        return None
    where = ", ".join(f"{k} = {_num(float(v))}" for k, v in point.items() if isinstance(v, (int, float)))
    return f"At {where} your answer gives {_num(a, r)}; the correct value is {_num(r, a)}."


def _counterexamples(ev: Mapping[str, Any]) -> tuple[str, ...]:
    parts = ev.get("components")
    if isinstance(parts, list):
        out = []
        for i, comp in enumerate(parts, start=1):
            text = counterexample_text(comp) if isinstance(comp, Mapping) else None
            if text:
                out.append(f"Component {i}: {text[0].lower()}{text[1:]}")
        return tuple(out)
    text = counterexample_text(ev)
    return (text,) if text else ()


def detail_blocks(lines: tuple[str, ...]) -> tuple[tuple[bool, str], ...]:
    """Detail lines as (preformatted?, text) blocks: indented lines (aligned tables) are kept together."""
    blocks: list[tuple[bool, str]] = []
    for line in lines:
        pre = line[:1].isspace()
        if pre and blocks and blocks[-1][0]:
            blocks[-1] = (True, blocks[-1][1] + "\n" + line)
        else:
            blocks.append((pre, line))
    return tuple((pre, _dedent(text) if pre else text) for pre, text in blocks)


def _dedent(text: str) -> str:
    lines = text.split("\n")
    cut = min(len(ln) - len(ln.lstrip()) for ln in lines)
    return "\n".join(ln[cut:] for ln in lines)


def _heatmaps(ev: Mapping[str, Any], key: str = "error_maps") -> tuple[Heatmap, ...]:
    maps = ev.get(key)
    if not isinstance(maps, Mapping):
        return ()
    # finite-difference maps are judged at their own, looser threshold
    tol = ev.get("fd_rtol" if key == "fd_error_maps" else "rtol", 1e-6)
    tol = float(tol) if isinstance(tol, (int, float)) and math.isfinite(tol) and tol > 0 else 1e-6
    raw_keys = ev.get("keys")
    keys: Mapping[str, Any] = raw_keys if isinstance(raw_keys, Mapping) else {}
    out = (heatmap(str(name), data, tol, accepted=key == "error_maps" and keys.get(name) == "ok")
           for name, data in maps.items())
    return tuple(h for h in out if h is not None)


def item_view(item: ItemResult) -> ItemView:
    """What the report shows for one item, derived from its plain result."""
    ev = item.evidence if isinstance(item.evidence, Mapping) else {}
    shown = from_evidence(ev)
    # curves sampled from the trees, or already sampled in the evidence
    samples = ev["plot"] if isinstance(ev.get("plot"), Mapping) else shown.plot
    plot = None
    if samples is not None and item.status != "passed":
        a, r = ev.get("answer_value"), ev.get("reference_value")
        plot = line_plot(samples, ev.get("counterexample") if isinstance(ev.get("counterexample"), Mapping)
                         else None, a if isinstance(a, (int, float)) else None,
                         r if isinstance(r, (int, float)) else None)
    return ItemView(item, f"item-{item.item}", _math(shown.answer_mathml), _math(shown.expected_mathml),
                    _counterexamples(ev), plot, _heatmaps(ev), _heatmaps(ev, "fd_error_maps"), item.error,
                    detail_blocks(tuple(item.details)))


def context(result: ExerciseResult, show_solutions: bool = False) -> ReportContext:
    """The template context for one submission's report."""
    views = tuple(item_view(i) for i in result.items)
    # a file that does not run has one thing to fix first, said at the top; no list repeating it
    worst = [] if result.import_error else \
        sorted((v for v in views if v.result.lost > 0), key=lambda v: -v.result.lost)[:FIX_FIRST]
    return ReportContext(result, views, tuple(worst), show_solutions, ERROR_BINS,
                         _clip(result.stdout), _clip(result.stderr), __version__,
                         score(result.score, result.max_score))


def _clip(text: str) -> str:
    """Learner output cut at MAX_OUTPUT characters, saying how much was left out."""
    cut = truncate(text, MAX_OUTPUT)
    return cut if cut == text else cut + f" ({len(text) - len(cut) + 1} more characters)"


def render(result: ExerciseResult, show_solutions: bool = False) -> str:
    """The report page as one HTML string."""
    ctx = context(result, show_solutions)
    return environment().get_template("report.html").render(
        {name: getattr(ctx, name) for name in ctx.__dataclass_fields__})
