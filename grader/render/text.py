"""Learner-facing text shared by every renderer: how learner text is made safe, how it is cut,
the score headline, and what a hidden item shows.

Safe text. Learner text (printed output, exception messages, file names, answers) can
hold control characters: ESC sequences retitle a terminal or clear it, NUL and BEL
break XML, and bidirectional overrides such as U+202E reorder what a reader sees.
One rule for every output: C0 controls other than tab and newline, DEL, C1 controls
and the bidirectional marks, embeddings, overrides and isolates are shown as visible
escapes (``\\x1b``, ``\\u202e``) by :func:`visible`; the one-line terminal view
(:func:`printable`) also turns tab and newline and any other unprintable character
into ``?``. CSV: a cell that begins with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return is read as a formula by Excel, LibreOffice and Google Sheets (CSV
injection); :func:`neutralise_csv_cell` prefixes a single quote.

Cutting. :func:`truncate` is the one ellipsis rule: at most ``limit`` characters,
the last of them ``…`` when anything was cut.

Headline. :func:`headline` is the score line (``Derivatives: 3 / 5 points (60%)``)
and :func:`could_not_run` the sentence for a file that did not run.

Hidden items. An item marked ``hidden`` is graded like any other; before grades
are published a learner sees neither it nor a total that gives it away
(:func:`headline_before_publishing`); afterwards everything is shown
(``HIDDEN_ITEM_VISIBILITY`` in Gradescope's terms).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

from markupsafe import Markup

from ..results import ExerciseResult, ItemResult, truncate

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")

Visibility = Literal["hidden", "after_due_date", "after_published", "visible"]
#: when a learner sees a hidden item: once the instructor publishes grades
HIDDEN_ITEM_VISIBILITY: Visibility = "after_published"


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group(0))
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: str) -> str:
    """``text`` with control characters and bidirectional controls shown as escapes; tab and newline kept."""
    return _UNSAFE.sub(_escape, text)


def visible_data(value: Any) -> Any:
    """A JSON-ready value with :func:`visible` applied to every string in it (keys included)."""
    if isinstance(value, str):
        return visible(value)
    if isinstance(value, Mapping):
        return {visible_data(k): visible_data(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [visible_data(v) for v in value]
    return value


def finalize(value: Any) -> Any:
    """The HTML templates' last step before autoescaping: learner text made visible, markup kept."""
    return visible(value) if isinstance(value, str) and not isinstance(value, Markup) else value


def printable(text: str, limit: int | None = None) -> str:
    """Learner-made text safe for one terminal line: controls as escapes, anything else unprintable
    as ``?``, cut at ``limit``."""
    clean = "".join(ch if ch.isprintable() else "?" for ch in visible(text))
    return truncate(clean, limit)


def neutralise_csv_cell(text: str) -> str:
    """``text`` with controls made visible, prefixed with ``'`` when a spreadsheet would run it as a formula."""
    text = visible(text)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def score(points: float, max_points: float) -> str:
    """``3 / 5``: points as everywhere in the reports."""
    return f"{points:g} / {max_points:g}"


def headline(result: ExerciseResult, percent: bool = True) -> str:
    """``Title: 3 / 5 points (60%)`` (without the percentage when ``percent`` is false)."""
    text = f"{result.title}: {score(result.score, result.max_score)} points"
    return text + f" ({result.percent:.0f}%)" if percent else text


def could_not_run(result: ExerciseResult) -> str | None:
    """``Your file could not be run: Type: message (line N)``, or None when it ran."""
    err = result.import_error
    return f"Your file could not be run: {err.one_line()}" if err is not None else None


def shown_before_publishing(result: ExerciseResult) -> tuple[ItemResult, ...]:
    """The items a learner may see before grades are published: every item not marked hidden."""
    return tuple(i for i in result.items if not i.hidden)


def headline_before_publishing(result: ExerciseResult) -> str:
    """The headline a learner may always see. With hidden items the total is left out, since it would
    give away how they went: the score on the items shown, and how many more come after publishing."""
    hidden = [i for i in result.items if i.hidden]
    if not hidden:
        return headline(result, percent=False)
    shown = shown_before_publishing(result)
    n, worth = len(hidden), sum(i.max_points for i in hidden)
    return (f"{result.title}: {score(sum(i.points for i in shown), sum(i.max_points for i in shown))} "
            f"points on the items shown now; {n} more item{'s' if n != 1 else ''} ({worth:g} "
            f"point{'s' if worth != 1 else ''}) {'are' if n != 1 else 'is'} shown once grades are published.")
