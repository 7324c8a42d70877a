"""neutralise_csv_cell: spreadsheet formulas in learner text are made inert, other text is unchanged."""

from __future__ import annotations

import pytest

from grader.safe_text import neutralise_csv_cell


@pytest.mark.parametrize("text", ["=HYPERLINK(\"http://x\")", "+1+1", "-2+3", "@SUM(A1)", "\tcmd", "\rcmd"],
                         ids=["equals", "plus", "minus", "at", "tab", "cr"])
def test_formula_starts_are_quoted(text):
    assert neutralise_csv_cell(text) == "'" + text


@pytest.mark.parametrize("text", ["alice", "", "x=1", "Zoë", " =1"], ids=["plain", "empty", "inner", "unicode", "space"])
def test_other_text_is_unchanged(text):
    assert neutralise_csv_cell(text) == text
