"""End to end: grader batch -> override -> --regrade -> a one-item regrade -> Canvas and Moodle exports."""

from __future__ import annotations

import csv
import io
import sqlite3
from pathlib import Path

from tests.test_batch import GOOD, SIGN, SOLUTION, TEMPLATE, run, write_class

BOB_FIXED_EXP_BROKE_SQUARE = ("from sympy import exp\n\n\ndef d_exp(x):\n    return exp(x)\n\n\n"
                              "def d_square(x):\n    return x\n")


def _rows(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))


def test_batch_to_canvas_and_moodle_with_an_override_that_survives_regrades(tmp_path):
    cat = tmp_path / "catalog"
    (cat / "exercises").mkdir(parents=True)
    (cat / "solutions").mkdir()
    (cat / "exercises" / "tiny.py").write_text(TEMPLATE)
    (cat / "solutions" / "tiny.py").write_text(SOLUTION)
    subs = write_class(tmp_path / "subs", {"alice/tiny.py": GOOD, "bjones/tiny.py": SIGN, "zed/tiny.py": GOOD})
    out = tmp_path / "out"
    batch = ["batch", str(subs), "--out", str(out), "--catalog", str(cat), "-j", "1", "--timeout", "5"]
    first = run(*batch)
    assert first.returncode == 0, first.stderr

    # bob asked for a regrade of d_exp: a manual grade, with who and why
    done = run("override", str(out), "bjones", "tiny.d_exp", "0.5", "--reason", "sign slip, half credit", "--by", "ta")
    assert done.returncode == 0, done.stderr
    assert "recorded #1 bjones tiny.d_exp = 0.5 points, by ta" in done.stdout
    assert run("override", str(out), "bjones", "tiny.d_nope", "1", "--reason", "x").returncode == 2

    again = run(*batch, "--regrade")  # everything regraded: the override stays
    assert again.returncode == 0, again.stderr
    assert "1 manual overrides still apply" in again.stdout
    grades = {r["learner"]: r for r in csv.DictReader(io.StringIO((out / "grades.csv").read_text()))}
    assert grades["bjones"]["tiny.d_exp"] == "0.5" and grades["bjones"]["total"] == "2.5"
    assert "manual grade #1" in (out / "reports" / "bjones" / "tiny.html").read_text()

    # bob's file changes; only d_square is regraded: a line per change, d_exp keeps its stored grade
    (subs / "bjones" / "tiny.py").write_text(BOB_FIXED_EXP_BROKE_SQUARE)
    one = run(*batch, "--regrade-item", "tiny.d_square")
    assert one.returncode == 0, one.stderr
    assert "changed bjones/tiny.d_square: 2 → 0" in one.stdout
    assert "d_exp" not in "".join(line for line in one.stdout.splitlines() if line.startswith("changed"))
    db = sqlite3.connect(out / "gradebook.sqlite")
    assert db.execute("SELECT points FROM items WHERE learner = 'bjones' AND item = 'd_exp'").fetchone() == (0.0,)
    assert db.execute("SELECT mode, targets, changed FROM runs ORDER BY id DESC LIMIT 1").fetchone() == \
        ("regrade-item", "tiny.d_square", 1)
    assert db.execute("SELECT learner, item, old_points, new_points FROM changes").fetchall() == \
        [("bjones", "d_square", 2.0, 0.0)]

    canvas = tmp_path / "canvas.csv"
    canvas.write_text('\ufeffStudent,ID,SIS User ID,SIS Login ID,Section,Tiny (77)\n'
                      '    Points Possible,,,,,3\n'
                      '"Smith, Alice",1,S1,alice@uni.edu,A,\n'
                      '"Jones, Bob",2,S2,bob.jones@uni.edu,A,\n'
                      '"Doe, Dave",3,S4,ddoe@uni.edu,B,\n', encoding="utf-8")
    roster = tmp_path / "roster.csv"
    roster.write_text("id,name,email,section,aliases\nS1,Alice Smith,alice@uni.edu,A,\n"
                      "S2,Bob Jones,Bob.Jones@uni.edu,A,bjones\nS3,Carol King,carol@uni.edu,B,\n", encoding="utf-8")
    upload = tmp_path / "upload.csv"
    exp = run("export", "--gradebook", str(out), "--canvas", str(canvas), "--roster", str(roster), "-o", str(upload),
              "--assignment", "Tiny")
    assert exp.returncode == 0, exp.stderr
    assert _rows(upload) == [["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Tiny (77)"],
                             ["Smith, Alice", "1", "S1", "alice@uni.edu", "A", "3"],
                             ["Jones, Bob", "2", "S2", "bob.jones@uni.edu", "A", "0.5"]]
    assert "zed" in exp.stdout and "Doe, Dave" in exp.stdout and "manual override" in exp.stdout
    side = _rows(tmp_path / "upload.matching.csv")
    assert ["matched", "both", "S2", "Jones, Bob (ID 2, line 4)", "SIS Login ID; roster alias = bjones", "yes"] in side
    assert any(r[:3] == ["unmatched", "ours", "zed"] for r in side)
    assert any(r[:2] == ["unmatched", "lms"] and "Doe, Dave" in r[3] for r in side)
    assert any(r[:3] == ["unmatched", "ours", "S3"] for r in side)  # Carol: zero, but not in Canvas

    moodle = tmp_path / "moodle.csv"
    exp = run("export", "--gradebook", str(out), "--moodle", "--roster", str(roster), "-o", str(moodle),
              "--feedback", "--assignment", "Tiny")
    assert exp.returncode == 0, exp.stderr
    got = _rows(moodle)
    assert got[0] == ["email", "name", "Tiny", "Feedback: Tiny"]
    assert [r[:3] for r in got[1:]] == [["alice@uni.edu", "Alice Smith", "3"],
                                        ["Bob.Jones@uni.edu", "Bob Jones", "0.5"],
                                        ["carol@uni.edu", "Carol King", "0"]]
    assert "manual grade #1" in got[2][3]

    undo = run("override", str(out), "--undo", "1")
    assert undo.returncode == 0 and "undone #1" in undo.stdout
    listing = run("override", str(out), "--list")
    assert "[undone by" in listing.stdout
