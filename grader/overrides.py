"""Manual overrides applied to a stored result (pure): what every export and report shows.

An override of one item replaces that item's points (its verdict follows: passed at full
marks, failed below) and says so in its feedback and evidence; an override of a whole
exercise sets the exercise's total through one extra item, ``MANUAL_ITEM``, worth no
points of its own, whose points are the difference. Both add a note to the result
naming who made the override, when and why, so an HTML report, ``grades.json`` and the
LMS files all show that a person, not the grader, decided the grade.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from .results import ExerciseResult, ItemResult, Status


@dataclasses.dataclass(frozen=True)
class Override:
    """A manual grade: ``item`` None sets the whole exercise's total. Undone ones keep who undid them, when."""

    id: int
    learner: str
    exercise: str
    item: str | None
    points: float
    reason: str
    by: str
    at: str
    undone_at: str | None = None
    undone_by: str | None = None

    @property
    def target(self) -> str:
        """``exercise.item``, or ``exercise`` for the total."""
        return f"{self.exercise}.{self.item}" if self.item else self.exercise


#: the name of the adjustment item an exercise-level override adds (never a Python identifier)
MANUAL_ITEM = "(manual override)"


def describe(o: Override) -> str:
    """``manual grade #3 by tom at 2026-…: 4 points (reason)``: one line for notes, feedback and listings."""
    return f"manual grade #{o.id}: {o.points:g} points by {o.by} at {o.at[:16]}: {o.reason}"


def _item(it: ItemResult, o: Override) -> ItemResult:
    status: Status = "passed" if o.points >= it.max_points else "failed"
    evidence = {**it.evidence, "override": {"id": o.id, "points": o.points, "was": it.points, "by": o.by,
                                            "at": o.at, "reason": o.reason}}
    return dataclasses.replace(it, points=o.points, status=status, evidence=evidence,
                               feedback=f"{describe(o)} (graded {it.points:g}: {it.feedback})")


def apply(result: ExerciseResult, overrides: Iterable[Override]) -> ExerciseResult:
    """``result`` with the active ``overrides`` of its learner and exercise applied, latest last (it wins)."""
    mine = [o for o in overrides if o.exercise == result.exercise and o.undone_at is None]
    if not mine:
        return result
    latest_item = {o.item: o for o in mine if o.item is not None}
    items = tuple(_item(it, latest_item[it.item]) if it.item in latest_item else it for it in result.items)
    notes = [f"{describe(o)} ({o.target})" for o in mine]
    total = [o for o in mine if o.item is None]
    if total:
        o = total[-1]
        graded = round(sum(it.points for it in items), 6)
        items += (ItemResult(result.exercise, MANUAL_ITEM, "override", 0.0, round(o.points - graded, 6), "passed",
                             f"{describe(o)} (the items add up to {graded:g})",
                             evidence={"override": {"id": o.id, "total": o.points, "was": graded}},
                             title="Manual grade of the whole exercise"),)
    return dataclasses.replace(result, items=items, notes=(*result.notes, *notes))


def overridden(result: ExerciseResult) -> bool:
    """Whether any override was applied to ``result``."""
    return any("override" in it.evidence for it in result.items)
