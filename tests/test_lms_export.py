"""grader export for Canvas and Moodle, rosters, overrides: fast tests on gradebooks built inline."""

from __future__ import annotations

import csv
import io
import sqlite3
from pathlib import Path

import pytest

from grader.errors import UsageError
from grader.gradebook import Gradebook
from grader.lms.export import ExportOptions, export, side_path
from grader.lms.files import read_canvas
from grader.overrides import MANUAL_ITEM, apply
from grader.results import ExerciseResult, ItemResult
from grader.roster import Person, map_learners, normalise_name


def result(exercise: str, **points: float) -> ExerciseResult:
    items = tuple(ItemResult(exercise, name, "symbolic", 2.0, p, "passed" if p == 2 else "failed", f"fb {name}")
                  for name, p in points.items())
    return ExerciseResult(exercise, exercise.title(), f"{exercise}.py", items)


def book(tmp_path: Path, grades: dict[str, dict[str, dict[str, float]]]) -> Path:
    out = tmp_path / "out"
    out.mkdir()
    with Gradebook(out / "gradebook.sqlite") as gb:
        for learner, exercises in grades.items():
            for ex, pts in exercises.items():
                gb.record(learner, f"{learner}/{ex}.py", "h", "v", result(ex, **pts), "t")
    return out


def rows(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))


CANVAS = ('\ufeffSection,Student,SIS Login ID,ID,SIS User ID,Homework 3 (1234),Current Score\n'
          '    Points Possible,,,,,4,(read only)\n'
          'A,"Smith, Alice",alice@uni.edu,101,S1,,\n'
          'A,"Jones, Bob",bjones,102,S2,,\n'
          'B,"Doe, Dave",ddoe,103,S4,,\n')


@pytest.fixture
def klass(tmp_path):
    return book(tmp_path, {"alice": {"tiny": {"a": 2, "b": 2}}, "bjones": {"tiny": {"a": 0, "b": 2}},
                           "zed": {"tiny": {"a": 2, "b": 0}}})


def test_canvas_upload_matches_by_login_and_lists_the_unmatched_on_both_sides(klass, tmp_path):
    canvas = tmp_path / "canvas.csv"
    canvas.write_text(CANVAS, encoding="utf-8")
    out = tmp_path / "upload.csv"
    done = export(ExportOptions(klass, out, canvas=canvas, assignments=("Homework 3",)))
    got = rows(out)
    assert got[0] == ["Section", "Student", "SIS Login ID", "ID", "SIS User ID", "Homework 3 (1234)"]
    assert got[1:] == [["A", "Smith, Alice", "alice@uni.edu", "101", "S1", "4"],
                       ["A", "Jones, Bob", "bjones", "102", "S2", "2"]]
    assert {ln.person.id: ln.how for ln in done.lines} == {"alice": "email-like login", "bjones": "SIS Login ID"}
    side = rows(side_path(out))
    assert ["unmatched", "ours", "zed", "", "no Canvas row has their login, SIS id or name", ""] in side
    assert any(r[:2] == ["unmatched", "lms"] and "Doe, Dave" in r[3] for r in side)


def test_points_possible_must_equal_our_maximum_and_nothing_is_written_on_refusal(klass, tmp_path):
    canvas = tmp_path / "canvas.csv"
    canvas.write_text(CANVAS.replace(",4,(read only)", ",20,(read only)"), encoding="utf-8")
    out = tmp_path / "upload.csv"
    with pytest.raises(UsageError, match="worth 20 points but ours is worth 4"):
        export(ExportOptions(klass, out, canvas=canvas, assignments=("Homework 3 (1234)",)))
    assert not out.exists() and not side_path(out).exists()
    with pytest.raises(UsageError, match="percentage would be read as points out of 20"):
        export(ExportOptions(klass, out, canvas=canvas, assignments=("Homework 3 (1234)",), scale="percent"))
    canvas.write_text(CANVAS.replace(",4,(read only)", ",100,(read only)"), encoding="utf-8")
    export(ExportOptions(klass, out, canvas=canvas, assignments=("Homework 3 (1234)",), scale="percent"))
    assert [r[-1] for r in rows(out)[1:]] == ["100", "50"]


def test_export_without_points_row_or_sis_columns_matches_by_name(klass, tmp_path):
    canvas = tmp_path / "canvas.csv"
    canvas.write_text('Student,ID,Section\n"Zed",201,A\n"Nobody, Here",202,A\n', encoding="utf-8")
    done = export(ExportOptions(klass, tmp_path / "u.csv", canvas=canvas, assignments=("New column",)))
    assert [(ln.person.id, ln.how) for ln in done.lines] == [("zed", "name")]
    assert any("no SIS User ID or SIS Login ID column" in n for n in done.notes)
    assert any("no 'Points Possible' row" in n for n in done.notes)
    assert any("new assignment" in n for n in done.notes)


def test_duplicate_logins_are_not_used_and_duplicate_ids_are_refused(klass, tmp_path):
    canvas = tmp_path / "canvas.csv"
    canvas.write_text('Student,ID,SIS User ID,SIS Login ID,Section\nA One,1,x1,bjones,A\nA Two,2,x2,bjones,A\n',
                      encoding="utf-8")
    sheet = read_canvas(canvas)
    assert any("'bjones' is on lines 2, 3" in n for n in sheet.notes)
    done = export(ExportOptions(klass, tmp_path / "u.csv", canvas=canvas))
    assert done.lines == ()
    assert any(x.who == "bjones" and "several Canvas rows" in x.reason for x in done.left)
    canvas.write_text('Student,ID,SIS Login ID\nA One,1,a\nA Two,1,b\n', encoding="utf-8")
    with pytest.raises(UsageError, match="Canvas ID 1 is on lines 2 and 3"):
        export(ExportOptions(klass, tmp_path / "v.csv", canvas=canvas))
    assert not (tmp_path / "v.csv").exists()


def test_a_file_that_is_not_a_canvas_export_is_refused(klass, tmp_path):
    canvas = tmp_path / "canvas.csv"
    canvas.write_text("name,score\na,1\n", encoding="utf-8")
    with pytest.raises(UsageError, match="neither a 'Student' nor an 'ID' column"):
        export(ExportOptions(klass, tmp_path / "u.csv", canvas=canvas))


ROSTER = ("ID,Name,Email,Section,Aliases\n"
          "s1,Alice Smith,Alice.Smith@Uni.edu,A,alice\n"
          "s2,Bob Jones,bjones@uni.edu,A,\n"
          "s3,Carol King,carol@uni.edu,B,ck-gh\n")


def test_moodle_by_email_keeps_the_roster_spelling_gives_zero_without_submission(klass, tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text(ROSTER, encoding="utf-8")
    out = tmp_path / "moodle.csv"
    done = export(ExportOptions(klass, out, moodle=True, roster=roster, feedback=True,
                                assignments=("Homework 3",)))
    got = rows(out)
    assert got[0] == ["email", "name", "Homework 3", "Feedback: Homework 3"]
    assert [r[:3] for r in got[1:]] == [["Alice.Smith@Uni.edu", "Alice Smith", "4"],
                                        ["bjones@uni.edu", "Bob Jones", "2"], ["carol@uni.edu", "Carol King", "0"]]
    assert got[2][3] == "Tiny: 2 / 4 points; lost points on a" and got[3][3] == "tiny: not handed in (0 points)"
    assert [(x.side, x.who) for x in done.left] == [("ours", "zed")]
    assert any("capitals" in n for n in done.notes)
    idnumber = export(ExportOptions(klass, out, moodle=True, roster=roster, key="idnumber", columns="exercises"))
    assert rows(out)[0] == ["idnumber", "name", "Tiny"] and len(idnumber.lines) == 3


@pytest.mark.parametrize("text, message", [
    ("id,name,email\ns1,A,a@x.org\ns2,B,A@X.org\n", "differ only in letter case"),
    ("id,name,email\ns1,A,a@x.org\ns1,B,b@x.org\n", "the id 's1' is on lines 2 and 3"),
    ("id,name\ns1,A\n", "no 'email' column"),
], ids=["mixed-case-duplicate", "duplicate-id", "missing-column"])
def test_bad_rosters_are_refused_with_a_specific_message(klass, tmp_path, text, message):
    roster = tmp_path / "roster.csv"
    roster.write_text(text, encoding="utf-8")
    with pytest.raises(UsageError, match=message):
        export(ExportOptions(klass, tmp_path / "m.csv", moodle=True, roster=roster))
    assert not (tmp_path / "m.csv").exists()


def test_learner_names_map_to_roster_people_without_guessing():
    people = [Person("s1", "Anna Smith", "asmith@uni.edu", aliases=("annagh",)), Person("s2", "Ann Lee"),
              Person("s3", "Ann Lee")]
    got = {m.learner: (m.person.id if m.person else None, m.how)
           for m in map_learners(["asmith", "ANNAGH", "smith_anna", "ann_lee", "zed"], people)}
    assert got["ann_lee"][0] is None and "several" in got["ann_lee"][1]
    assert got["zed"] == (None, "no roster entry")
    assert all(got[n][0] is None and "also fits" in got[n][1] for n in ("asmith", "ANNAGH", "smith_anna"))
    assert normalise_name("Smith, Ánna") == normalise_name("anna_smith")


def test_overrides_apply_to_an_item_and_to_a_total_and_are_marked(tmp_path):
    out = book(tmp_path, {"bob": {"tiny": {"a": 0, "b": 2}}})
    with Gradebook(out / "gradebook.sqlite") as gb:
        first = gb.add_override("bob", "tiny", "a", 1.5, "partial credit", "ta")
        with pytest.raises(UsageError, match=r"outside 0\.\.2"):
            gb.add_override("bob", "tiny", "a", 3, "too much", "ta")
        with pytest.raises(UsageError, match="no item 'c'"):
            gb.add_override("bob", "tiny", "c", 1, "x", "ta")
        (stored,) = gb.submissions()
        one = apply(stored.result, gb.overrides())
        assert one.score == 3.5 and "manual grade #1" in one.items[0].feedback and one.notes
        gb.add_override("bob", "tiny", None, 4, "whole exercise", "prof")
        both = apply(stored.result, gb.overrides())
        assert both.score == 4 and both.max_score == 4 and both.items[-1].item == MANUAL_ITEM
        gb.undo_override(first.id, "ta")
        with pytest.raises(UsageError, match="already undone"):
            gb.undo_override(first.id, "ta")
        assert [o.id for o in gb.overrides()] == [2] and len(gb.overrides(include_undone=True)) == 2


def test_a_schema_1_gradebook_opens_and_is_migrated_keeping_its_grades(tmp_path):
    path = tmp_path / "gradebook.sqlite"
    with Gradebook(path) as gb:
        gb.record("alice", "alice/tiny.py", "h", "v", result("tiny", a=2), "t")
        gb.finish_run(gb.start_run(1, 1, 0), 1, False)
    db = sqlite3.connect(path)  # rebuild it as schema 1 wrote it
    db.executescript("DROP TABLE changes; DROP TABLE overrides; ALTER TABLE runs DROP COLUMN mode; "
                     "ALTER TABLE runs DROP COLUMN targets; ALTER TABLE runs DROP COLUMN changed; "
                     "PRAGMA user_version = 1;")
    db.close()
    with Gradebook(path) as gb:
        assert [s.result.score for s in gb.submissions()] == [2.0]
        gb.add_override("alice", "tiny", "a", 1, "late", "ta")
    db = sqlite3.connect(path)
    assert db.execute("SELECT mode, changed FROM runs").fetchall() == [("resume", 0)]
    assert db.execute("PRAGMA user_version").fetchone()[0] == 2
