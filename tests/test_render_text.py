"""render/text.py: the one headline, the one ellipsis rule, the hidden-item policy and visible control characters;
and learner control characters never reach HTML, JSON, JUnit or CSV raw."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from grader.catalogue import Exercise
from grader.gradebook import StoredSubmission
from grader.grading import grade_file
from grader.render import classroom, gradescope, html, junit, prairielearn, terminal
from grader.render import csv as exports
from grader.render.text import (
    could_not_run,
    headline,
    headline_before_publishing,
    printable,
    shown_before_publishing,
    truncate,
    visible,
)
from grader.results import ErrorInfo, ExerciseResult, ItemResult, SourceLine
from grader.spec import SymbolicItem

from .conftest import SUBMISSIONS

#: ESC, BEL, NUL and the right-to-left override, with what each must be shown as
RAW = {"\x1b": "\\x1b", "\x07": "\\x07", "\x00": "\\x00", "\u202e": "\\u202e"}
HOSTILE = "boom\x1b[2J\x07\x00\u202eevil"


def _item(name: str, points: float, max_points: float, hidden: bool = False, **kw) -> ItemResult:
    return ItemResult("derivatives", name, "symbolic", max_points, points,
                      "passed" if points == max_points else "failed", kw.pop("feedback", "fb"), hidden=hidden, **kw)


def _result(*items: ItemResult, **kw) -> ExerciseResult:
    return ExerciseResult("derivatives", "Derivatives", "alice_derivatives.py", items, **kw)


# --------------------------------------------------------------------------- unit: render/text.py


def test_headline_with_and_without_the_percentage():
    res = _result(_item("a", 1, 2), _item("b", 2, 3))
    assert headline(res) == "Derivatives: 3 / 5 points (60%)"
    assert headline(res, percent=False) == "Derivatives: 3 / 5 points"
    assert could_not_run(res) is None
    broken = dataclasses.replace(res, import_error=ErrorInfo("SyntaxError", "invalid syntax",
                                                             (SourceLine(4, "<module>", "x ="),)))
    assert could_not_run(broken) == "Your file could not be run: SyntaxError: invalid syntax (line 4)"


@pytest.mark.parametrize(("text", "limit", "out"), [
    ("abcdef", 6, "abcdef"), ("abcdefg", 6, "abcde…"), ("abc", None, "abc"), ("abc", 1, "…"), ("", 3, "")],
    ids=["fits", "cut", "no-limit", "only-room-for-the-ellipsis", "empty"])
def test_one_ellipsis_rule(text, limit, out):
    assert truncate(text, limit) == out
    assert limit is None or len(truncate(text, limit)) <= limit


def test_every_renderer_cuts_with_the_same_rule():
    long = "y" * 50_000
    res = _result(_item("a", 0, 1, feedback=long), stdout=long)
    cut = gradescope.to_dict(res)["tests"][0]["output"]
    assert cut == truncate(long, gradescope.MAX_OUTPUT_CHARS)
    assert prairielearn.to_dict(res)["output"] == truncate(long, prairielearn.MAX_OUTPUT_CHARS)
    assert classroom.to_dict(res)["tests"][0]["message"] == truncate(long, classroom.MAX_MESSAGE_CHARS)
    assert printable(long, 80) == truncate(long, 80)
    page = html.render(res)
    assert "y" * (html.MAX_OUTPUT - 1) + "… (46001 more characters)" in page


def test_hidden_items_are_left_out_of_what_is_shown_before_publishing():
    res = _result(_item("a", 1, 1), _item("secret", 0, 2, hidden=True), _item("b", 0.5, 1))
    assert [i.item for i in shown_before_publishing(res)] == ["a", "b"]
    text = headline_before_publishing(res)
    assert text == ("Derivatives: 1.5 / 2 points on the items shown now; 1 more item (2 points) "
                    "is shown once grades are published.")
    assert "3.5" not in text and "4" not in text  # neither the total nor the maximum gives it away
    assert headline_before_publishing(_result(_item("a", 1, 1))) == "Derivatives: 1 / 1 points"
    assert gradescope.summary(res) == text


@pytest.mark.parametrize("ch", ["\x00", "\x07", "\x1b", "\r", "\x7f", "\x85", "\x9b", "\u202a", "\u202e",
                                "\u2066", "\u2067", "\u2068", "\u2069", "\u200e", "\u200f", "\u061c"])
def test_control_and_bidirectional_characters_become_visible_escapes(ch):
    out = visible(f"a{ch}b")
    assert ch not in out and out == f"a\\{'x' if ord(ch) < 256 else 'u'}{ord(ch):0{2 if ord(ch) < 256 else 4}x}b"


def test_tab_newline_and_ordinary_unicode_are_kept():
    text = "σ(x) ≥ 0\tnext\nline é 中 😀"
    assert visible(text) == text


# --------------------------------------------------------------------------- every output


def _assert_clean(text: str, where: str) -> None:
    for raw in RAW:
        assert raw not in text, f"{where} holds a raw {raw!r}"


def _strings(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (*_strings(k), *_strings(v))]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def _check_every_output(res: ExerciseResult) -> None:
    page = html.render(res, show_solutions=True)
    _assert_clean(page, "the HTML report")
    for raw, shown in RAW.items():
        assert shown in page
    for name, doc in (("Gradescope", gradescope.render(res)), ("PrairieLearn", prairielearn.render(res)),
                      ("Classroom", json.dumps(classroom.to_dict(res), ensure_ascii=False))):
        _assert_clean(doc, name)
        strings = " ".join(_strings(json.loads(doc)))
        _assert_clean(strings, name)
        assert "\\x1b" in strings and "\\u202e" in strings, name
    _assert_clean(classroom.summary_markdown(res), "the job summary")
    xml = junit.render(res)
    _assert_clean(xml, "JUnit")
    parsed = " ".join(el.text or "" for el in ET.fromstring(xml).iter()) + xml
    assert "\\x1b" in parsed and "\\u202e" in parsed
    _assert_clean(terminal.render(res, color=False), "the terminal")

    ex = Exercise("derivatives", "Derivatives", 1, Path("derivatives.py"), Path("s.py"),
                  tuple(SymbolicItem(i.item, i.max_points, reference=lambda x: x) for i in res.items))
    stored = [StoredSubmission(f"alice{HOSTILE}", "derivatives", "alice/derivatives.py", "hash", "v", "ok",
                               None, "2026-01-01", res)]
    table = exports.render_csv(stored, [ex])
    _assert_clean(table, "grades.csv")
    assert next(csv.reader(io.StringIO(table.split("\n", 1)[1])))[0] == "alice" + visible(HOSTILE)
    grades = exports.render_json(stored, [ex])
    _assert_clean(grades, "grades.json")
    _assert_clean(" ".join(_strings(json.loads(grades))), "grades.json")


def test_learner_control_characters_never_reach_any_output_raw():
    err = ErrorInfo("ValueError", HOSTILE, (SourceLine(3, "d_exp", f"raise ValueError('{HOSTILE}')"),))
    res = _result(_item("d_exp", 0, 1, feedback=f"d_exp raised ValueError: {HOSTILE}", answer=HOSTILE,
                        details=(HOSTILE,), error=err),
                  stdout=f"printed {HOSTILE}\n", stderr=HOSTILE, import_error=ErrorInfo("RuntimeError", HOSTILE))
    _check_every_output(res)


def test_a_real_submission_printing_and_raising_control_characters(tmp_path, catalogue):
    sub = tmp_path / "derivatives.py"
    sub.write_text("print('boom\\x1b[2J\\x07\\x00\\u202eevil')\n\n"
                   "def d_exp(x):\n    raise ValueError('boom\\x1b[2J\\x07\\x00\\u202eevil')\n", encoding="utf-8")
    res = grade_file(sub, catalogue["derivatives"])
    assert any(raw in res.stdout for raw in RAW)  # the run itself keeps the learner's text as it was
    _check_every_output(res)


# --------------------------------------------------------------------------- checkers carry no markup


def test_checkers_results_carry_plain_data_not_markup(catalogue):
    assert not {f.name for f in dataclasses.fields(ItemResult)} & {"answer_mathml", "expected_mathml"}
    for name, exercise in (("partly_wrong_derivatives.py", "derivatives"), ("partly_right_quiz.toml", "quiz")):
        res = grade_file(SUBMISSIONS / name, catalogue[exercise])
        text = json.dumps([dataclasses.asdict(i) for i in res.items], default=str)
        assert "<math" not in text and "<svg" not in text and "<mi>" not in text
        trees = [i.evidence["answer_tree"] for i in res.items if "answer_tree" in i.evidence]
        assert trees and all(t["t"] in ("expr", "list", "int", "float") for t in trees)
        # and the report still draws its formulas and curves from that plain data
        page = html.render(res, show_solutions=True)
        assert page.count("<math") >= len(trees) and '<svg class="plot"' in page
