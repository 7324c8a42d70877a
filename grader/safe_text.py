"""Make learner text safe for the formats instructors open: spreadsheets (CSV).

A cell that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return
is read as a formula by Excel, LibreOffice and Google Sheets (CSV injection);
prefixing a single quote makes it plain text in all three.
"""

from __future__ import annotations

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_csv_cell(text: str) -> str:
    """``text`` unchanged, or prefixed with ``'`` when a spreadsheet would run it as a formula."""
    return "'" + text if text.startswith(_FORMULA_STARTS) else text
