"""Class exports (grades.csv, grades.json) and the class summary page, from stored grades built inline."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from grader.catalogue import Exercise
from grader.gradebook import StoredSubmission
from grader.render import csv as exports
from grader.render import summary
from grader.layouts import Unmatched
from grader.results import ErrorInfo, ExerciseResult, ItemResult
from grader.spec import SymbolicItem


def _exercise(name: str, *items: tuple[str, float]) -> Exercise:
    specs = tuple(SymbolicItem(n, p, reference=lambda x: x, title=f"title {n}") for n, p in items)
    return Exercise(name, name.title(), 1, Path(f"{name}.py"), Path("s.py"), specs)


DER = _exercise("derivatives", ("d_exp", 1), ("d_log", 2))
GRAD = _exercise("gradients", ("grad", 3))
UNUSED = _exercise("backprop", ("step", 5))
CATALOGUE = (DER, GRAD, UNUSED)


def stored(learner: str, ex: Exercise, marks: dict[str, tuple[str, str | None, str | None]],
           status: str = "ok", problem: str | None = None) -> StoredSubmission:
    """``marks``: item -> (verdict, diagnosis, answer); a passed item gets full points."""
    items = []
    for spec in ex.items:
        verdict, diag, answer = marks.get(spec.name, ("passed", None, None))
        items.append(ItemResult(ex.name, spec.name, "symbolic", spec.points,
                                spec.points if verdict == "passed" else 0.0, verdict,  # type: ignore[arg-type]
                                f"{diag or 'ok'} feedback", diagnosis=diag, answer=answer))
    err = ErrorInfo("Timeout", "slow") if status == "timeout" else None
    res = ExerciseResult(ex.name, ex.title, f"{learner}/{ex.name}.py", tuple(items), import_error=err)
    return StoredSubmission(learner, ex.name, f"{learner}/{ex.name}.py", "hash", "v", status,  # type: ignore[arg-type]
                            problem, "2026-01-01", res)


CLASS = [
    stored("alice", DER, {}),
    stored("alice", GRAD, {"grad": ("failed", "sign_error", "-2*x")}),
    stored("bob", DER, {"d_log": ("failed", "reciprocal_of_log", "1/log(x)")}),
    stored("=HYPERLINK(\"http://evil\")", DER, {"d_log": ("failed", "reciprocal_of_log", "1/log(x)"),
                                                 "d_exp": ("failed", "reciprocal_of_log", "1/ln(x)")}),
    stored("<script>alert(1)</script>", DER, {"d_exp": ("error", "timeout", None), "d_log": ("error", "timeout", None)},
           status="timeout", problem="d_exp: ran past its time limit"),
]


def test_csv_has_a_row_per_learner_a_column_per_item_and_totals():
    rows = list(csv.reader(io.StringIO(exports.render_csv(CLASS, CATALOGUE))))
    assert rows[0] == ["learner", "derivatives.d_exp", "derivatives.d_log", "gradients.grad",
                       "derivatives", "gradients", "total", "max_total"]  # backprop: nobody handed it in
    by_name = {r[0]: r[1:] for r in rows[1:]}
    assert len(rows) == 1 + 4
    assert by_name["alice"] == ["1", "2", "0", "3", "0", "3", "6"]
    assert by_name["bob"] == ["1", "0", "", "1", "", "1", "6"]  # no gradients file: empty cells, 0 in the total


def test_csv_neutralises_formula_names():
    rows = list(csv.reader(io.StringIO(exports.render_csv(CLASS, CATALOGUE))))
    names = [r[0] for r in rows[1:]]
    assert "'=HYPERLINK(\"http://evil\")" in names
    assert not any(n.startswith(("=", "+", "-", "@")) for n in names)


def test_json_document():
    doc = json.loads(exports.render_json(CLASS, CATALOGUE))
    assert [e["name"] for e in doc["exercises"]] == ["derivatives", "gradients"]
    alice = next(entry for entry in doc["learners"] if entry["learner"] == "alice")
    assert alice["total"] == 3 and alice["max_total"] == 6
    grad = alice["exercises"]["gradients"]["items"]["grad"]
    assert grad == {"points": 0.0, "max_points": 3.0, "verdict": "failed", "diagnosis": "sign_error",
                    "feedback": "sign_error feedback"}


def test_summary_counts():
    s = summary.build(CLASS, CATALOGUE, [Unmatched("notes.txt", "the name matches no exercise")])
    assert (s.learners, s.submissions, s.max_total) == (4, 5, 6)
    assert sum(b.count for b in s.distribution) == 4
    assert s.distribution[-1].count == 0  # nobody has 90-100%: alice 3/6, bob 1/6, others 0
    assert s.distribution[5].count == 1 and s.distribution[1].count == 1 and s.distribution[0].count == 2
    rates = {(r.exercise, r.item): (r.passed, r.submitted) for r in s.items}
    assert rates == {("derivatives", "d_exp"): (2, 4), ("derivatives", "d_log"): (1, 4), ("gradients", "grad"): (0, 1)}


def test_summary_mistakes_are_counted_with_the_most_common_answer_and_no_name():
    s = summary.build(CLASS, CATALOGUE)
    top = s.mistakes[0]
    assert (top.item, top.diagnosis, top.count, top.example) == ("d_log", "reciprocal_of_log", 2, "1/log(x)")
    assert all(m.diagnosis != "timeout" for m in s.mistakes)  # run failures are problems, not mistakes
    assert [(p.learner, p.status) for p in s.problems] == [("<script>alert(1)</script>", "timeout")]


def test_summary_page_escapes_learner_text_and_has_no_scripts():
    html = summary.render(summary.build(CLASS, CATALOGUE, [Unmatched("<img src=x>.py", "no")]))
    assert "<script>" not in html and "<img" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "Content-Security-Policy" in html
    assert "base-uri 'none'" in html and "form-action 'none'" in html and 'name="referrer" content="no-referrer"' in html
    for heading in ("Score distribution", "Success rate per item", "Most common mistakes",
                    "Submissions that errored or timed out", "Files not graded"):
        assert heading in html


def test_empty_class_summary_renders():
    html = summary.render(summary.build([], CATALOGUE))
    assert "0 learners" in html and "No diagnosed mistakes" in html


def test_not_attempted_is_counted_per_item_not_listed_as_a_mistake():
    subs = [stored("ann", DER, {"d_exp": ("error", "not_attempted", None)}),
            stored("bo", DER, {"d_exp": ("error", "not_attempted", None), "d_log": ("failed", "sign_error", "-1/x")})]
    s = summary.build(subs, CATALOGUE)
    assert [(m.item, m.diagnosis) for m in s.mistakes] == [("d_log", "sign_error")]
    assert {r.item: r.not_attempted for r in s.items} == {"d_exp": 2, "d_log": 0}


def test_per_exercise_stats():
    s = summary.build(CLASS, CATALOGUE)
    by = {e.exercise: e for e in s.exercises}
    assert set(by) == {"derivatives", "gradients"}
    assert by["derivatives"].submissions == 4 and by["derivatives"].problems == 1
    assert by["derivatives"].mean_percent == (100 + 100 / 3 + 0 + 0) / 4
    assert by["gradients"].mean_percent == 0
