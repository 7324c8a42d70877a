"""Make learner text safe where instructors read it: terminals and spreadsheets (CSV).

Terminal: control characters (escape sequences that retitle the window, clear
the screen or move the cursor) are replaced, so a learner's exception message
prints as text. CSV: a cell that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return
is read as a formula by Excel, LibreOffice and Google Sheets (CSV injection);
prefixing a single quote makes it plain text in all three.
"""

from __future__ import annotations

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_csv_cell(text: str) -> str:
    """``text`` unchanged, or prefixed with ``'`` when a spreadsheet would run it as a formula."""
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def printable(text: str, limit: int | None = None) -> str:
    """Learner-made text safe for a terminal (no control characters or escapes), cut at ``limit``."""
    clean = "".join(ch if ch.isprintable() else "?" for ch in text)
    return clean if limit is None or len(clean) <= limit else clean[: limit - 1] + "…"
