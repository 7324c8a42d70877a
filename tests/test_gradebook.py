"""The SQLite gradebook: round trips, replacement on regrade, atomic writes, statuses."""

from __future__ import annotations

import sqlite3

import pytest

from grader.errors import UsageError
from grader.gradebook import SCHEMA_VERSION, Gradebook, result_from_json, result_to_json, submission_status
from grader.results import ErrorInfo, ExerciseResult, ItemResult, SourceLine


def item(name: str, points: float, status: str = "passed", diagnosis: str | None = None, **kw) -> ItemResult:
    return ItemResult("derivatives", name, "symbolic", 2.0, points, status, f"feedback {name}",  # type: ignore[arg-type]
                      diagnosis=diagnosis, **kw)


def result(*items: ItemResult, import_error: ErrorInfo | None = None) -> ExerciseResult:
    return ExerciseResult("derivatives", "Derivatives", "alice/derivatives.py", items, "rlimits", 0.5,
                          "out", "err", import_error, ("a note",))


def test_result_json_round_trip_is_exact():
    err = ErrorInfo("ZeroDivisionError", "division by zero", (SourceLine(3, "d_exp", "return 1/0"),))
    r = result(item("d_exp", 2.0, answer="exp(x)", details=("more",), evidence={"x": [1.5, 2]}),
               item("d_log", 0.0, "error", "exception", error=err), import_error=None)
    back = result_from_json(result_to_json(r))
    assert back == r
    assert back.items[1].error == err and back.score == 2.0


def test_record_then_read_back(tmp_path):
    with Gradebook(tmp_path / "g.sqlite") as book:
        book.record("alice", "alice/derivatives.py", "abc", "v1", result(item("d_exp", 2), item("d_log", 0, "failed",
                    "sign_error")), "2026-01-01T00:00:00")
        (s,) = list(book.submissions())
        assert (s.learner, s.exercise, s.sha256, s.grader_version, s.status) == ("alice", "derivatives", "abc", "v1", "ok")
        assert s.result.score == 2.0 and book.graded_versions() == {("alice", "derivatives"): ("abc", "v1")}
    db = sqlite3.connect(tmp_path / "g.sqlite")
    rows = db.execute("SELECT item, points, verdict, diagnosis, feedback FROM items ORDER BY position").fetchall()
    assert rows == [("d_exp", 2.0, "passed", None, "feedback d_exp"), ("d_log", 0.0, "failed", "sign_error",
                                                                        "feedback d_log")]
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_regrading_replaces_the_row_and_its_items(tmp_path):
    with Gradebook(tmp_path / "g.sqlite") as book:
        book.record("bob", "p", "h1", "v1", result(item("a", 0, "failed"), item("b", 0, "failed")), "t")
        book.record("bob", "p", "h2", "v1", result(item("a", 2)), "t")
    db = sqlite3.connect(tmp_path / "g.sqlite")
    assert db.execute("SELECT count(*), max(sha256) FROM submissions").fetchone() == (1, "h2")
    assert db.execute("SELECT item FROM items").fetchall() == [("a",)]


def test_a_failed_record_leaves_nothing_half_written(tmp_path):
    with Gradebook(tmp_path / "g.sqlite") as book:
        book.record("carol", "p", "h1", "v1", result(item("a", 2)), "t")
        with pytest.raises(sqlite3.IntegrityError):  # the same item twice breaks the items table's key
            book.record("carol", "p", "h2", "v1", result(item("a", 0), item("a", 0)), "t")
        (s,) = list(book.submissions())
        assert s.sha256 == "h1" and s.result.score == 2.0  # the old grade is intact
    db = sqlite3.connect(tmp_path / "g.sqlite")
    assert db.execute("SELECT count(*) FROM items").fetchone() == (1,)


def test_runs_are_marked_interrupted_until_finished(tmp_path):
    with Gradebook(tmp_path / "g.sqlite") as book:
        first = book.start_run(2, 10, 0)
        second = book.start_run(2, 7, 3)
        book.finish_run(second, 7, False)
    db = sqlite3.connect(tmp_path / "g.sqlite")
    rows = db.execute("SELECT id, finished_at IS NULL, interrupted, graded FROM runs ORDER BY id").fetchall()
    assert rows == [(first, 1, 1, 0), (second, 0, 0, 7)]


@pytest.mark.parametrize("res, status", [
    (result(item("a", 2), item("b", 0, "failed", "sign_error")), "ok"),
    (result(item("a", 0, "error", "timeout")), "timeout"),
    (result(item("a", 0, "error", "crashed")), "error"),
    (result(item("a", 0, "error", "import_error"), import_error=ErrorInfo("SyntaxError", "bad")), "error"),
    (result(item("a", 0, "error", "import_error"), import_error=ErrorInfo("Timeout", "slow import")), "timeout"),
], ids=["ran", "timeout", "crash", "syntax", "import-timeout"])
def test_submission_status(res, status):
    got, problem = submission_status(res)
    assert got == status
    assert (problem is None) == (status == "ok")


def test_a_file_that_is_not_our_gradebook_is_refused_untouched(tmp_path):
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"not a database at all" * 100)
    with pytest.raises(UsageError, match="cannot be used as a gradebook"):
        Gradebook(junk)
    assert junk.read_bytes() == b"not a database at all" * 100
    other = tmp_path / "other.sqlite"
    db = sqlite3.connect(other)
    db.execute("CREATE TABLE students (name TEXT)")
    db.commit()
    db.close()
    with pytest.raises(UsageError, match="not a gradebook of this grader"):
        Gradebook(other)


def test_a_new_gradebook_carries_the_schema_version(tmp_path):
    Gradebook(tmp_path / "g.sqlite").close()
    assert sqlite3.connect(tmp_path / "g.sqlite").execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    Gradebook(tmp_path / "g.sqlite").close()  # and reopens
