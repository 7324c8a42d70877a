"""Make learner-made text harmless where it ends up outside the grader (spreadsheets, terminals)."""

from __future__ import annotations

#: a spreadsheet treats a cell starting with one of these as a formula (OWASP "CSV injection")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_csv_cell(text: str) -> str:
    """``text`` made inert for spreadsheets: a leading formula character gets a ``'`` in front."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text
