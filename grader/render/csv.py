"""Class exports: ``grades.csv`` (one row per learner, a column per item, totals) and ``grades.json``.

Columns of the CSV: ``learner``, then ``<exercise>.<item>`` for every item of
every exercise handed in by anyone (catalogue order), then ``<exercise>``
(that exercise's total), ``total`` and ``max_total``. A learner who did not
hand in an exercise has empty cells for it and scores 0 in the totals. Text
cells that a spreadsheet would take for a formula are quoted; control characters
in learner text are shown as visible escapes, in the CSV and the JSON.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import Any

from ..catalogue import Exercise
from ..gradebook import StoredSubmission
from .text import neutralise_csv_cell, visible_data


def _by_learner(stored: Sequence[StoredSubmission]) -> dict[str, dict[str, StoredSubmission]]:
    out: dict[str, dict[str, StoredSubmission]] = {}
    for s in stored:
        out.setdefault(s.learner, {})[s.exercise] = s
    return dict(sorted(out.items()))


def handed_in(stored: Sequence[StoredSubmission], exercises: Sequence[Exercise]) -> list[Exercise]:
    """The catalogue's exercises that at least one stored submission is for, in course order."""
    names = {s.exercise for s in stored}
    return [ex for ex in exercises if ex.name in names]


def _fmt(points: float) -> str:
    return f"{points:g}"


def render_csv(stored: Sequence[StoredSubmission], exercises: Sequence[Exercise]) -> str:
    """grades.csv as text."""
    used = handed_in(stored, exercises)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["learner", *(f"{ex.name}.{it.name}" for ex in used for it in ex.items),
                     *(ex.name for ex in used), "total", "max_total"])
    max_total = sum(ex.max_points for ex in used)
    for learner, subs in _by_learner(stored).items():
        cells: list[str] = [neutralise_csv_cell(learner)]
        totals: list[str] = []
        total = 0.0
        for ex in used:
            sub = subs.get(ex.name)
            points = {it.item: it.points for it in sub.result.items} if sub else {}
            cells += [_fmt(points[it.name]) if it.name in points else "" for it in ex.items]
            totals.append(_fmt(sub.result.score) if sub else "")
            total += sub.result.score if sub else 0.0
        writer.writerow([*cells, *totals, _fmt(round(total, 6)), _fmt(max_total)])
    return buf.getvalue()


def to_document(stored: Sequence[StoredSubmission], exercises: Sequence[Exercise]) -> dict[str, Any]:
    """grades.json as a dict: the exercises' items and, per learner, every submission's grades
    (controls in learner text made visible)."""
    used = handed_in(stored, exercises)
    learners = []
    for learner, subs in _by_learner(stored).items():
        entries: dict[str, dict[str, Any]] = {}
        for name, sub in subs.items():
            entries[name] = {
                "file": sub.path, "sha256": sub.sha256, "grader_version": sub.grader_version,
                "graded_at": sub.graded_at, "status": sub.status, "problem": sub.problem,
                "score": sub.result.score, "max_score": sub.result.max_score,
                "items": {it.item: {"points": it.points, "max_points": it.max_points, "verdict": it.status,
                                    "diagnosis": it.diagnosis, "feedback": it.feedback} for it in sub.result.items},
            }
        learners.append({"learner": learner, "total": round(sum(s.result.score for s in subs.values()), 6),
                         "max_total": sum(ex.max_points for ex in used), "exercises": entries})
    return visible_data({
        "exercises": [{"name": ex.name, "title": ex.title, "max_points": ex.max_points,
                       "items": [{"name": it.name, "max_points": it.points} for it in ex.items]} for ex in used],
        "learners": learners,
    })


def render_json(stored: Sequence[StoredSubmission], exercises: Sequence[Exercise]) -> str:
    """grades.json as text (one line: the C encoder is many times faster than an indented dump)."""
    return json.dumps(to_document(stored, exercises), ensure_ascii=False) + "\n"
