"""Learner text made safe: CSV cells never become formulas, control characters are shown as escapes."""

from __future__ import annotations

import csv
import io

import pytest

from grader.render.text import neutralise_csv_cell


@pytest.mark.parametrize("text", ["=HYPERLINK(\"http://x\",\"y\")", "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)",
                                  "\t=1"], ids=["eq", "plus", "minus", "at", "tab"])
def test_formula_starts_are_prefixed(text):
    assert neutralise_csv_cell(text) == "'" + text


def test_a_carriage_return_is_shown_as_an_escape_which_no_spreadsheet_runs():
    assert neutralise_csv_cell("\r=1") == "\\x0d=1"


@pytest.mark.parametrize("text", ["", "alice", "x = 1", "1.5", "sign_error", " =1"],
                         ids=["empty", "name", "inner-eq", "number", "tag", "leading-space"])
def test_plain_text_is_unchanged(text):
    assert neutralise_csv_cell(text) == text


def test_round_trip_through_csv_keeps_the_neutralised_text():
    buf = io.StringIO()
    csv.writer(buf).writerow([neutralise_csv_cell("=1+1"), neutralise_csv_cell("bob")])
    assert next(csv.reader(io.StringIO(buf.getvalue()))) == ["'=1+1", "bob"]


def test_terminal_text_loses_control_characters_and_escape_sequences():
    from grader.render.text import printable

    hostile = "\x1b]0;owned\x07\x1b[2J hi\r\n"
    assert printable(hostile) == "\\x1b]0;owned\\x07\\x1b[2J hi\\x0d?"
    assert printable("x" * 10, 5) == "xxxx…"


def test_the_score_table_never_prints_a_learners_escape_sequence():
    from grader.render import terminal
    from grader.results import ErrorInfo, ExerciseResult, ItemResult

    msg = "ValueError: \x1b]0;owned\x07\x1b[2J hi"
    item = ItemResult("derivatives", "d_exp", "symbolic", 1, 0, "error", f"d_exp raised {msg}")
    result = ExerciseResult("derivatives", "Derivatives", "evil\x1b[2J_derivatives.py", (item,),
                            import_error=ErrorInfo("ValueError", "\x1b[2J"))
    for color in (False, True):
        text = terminal.render(result, color=color)
        assert "\x07" not in text and "\x1b]" not in text and "\x1b[2J" not in text
