"""The files an LMS imports, and what ``grader export`` prints (pure: an Exported in, text out).

Canvas: the export's identity columns as they were (Student, ID, SIS User ID, SIS Login ID,
Section, in the export's order), then one column per grade column, one row per matched
student. Canvas imports it as is (Grades > Import); a header it does not know becomes a
new assignment. Moodle: the key column (``email`` or ``idnumber``), the person's name, the
grade columns and, with feedback, a ``Feedback: <column>`` column after each, holding the
one-line summary per exercise; mapped in Moodle's CSV import. The side file lists every
match with how it was made, everyone left unmatched on either side, and manual grades.
Text from learners and from the LMS export goes through :func:`neutralise_csv_cell`.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterable
from typing import TYPE_CHECKING

from ..results import ExerciseResult
from .text import neutralise_csv_cell, printable

if TYPE_CHECKING:
    from ..lms.export import Column, Exported, Line


def _number(value: float) -> str:
    return f"{round(value, 4):g}"


def _csv(rows: Iterable[list[str]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    for row in rows:
        writer.writerow([neutralise_csv_cell(c) for c in row])
    return buf.getvalue()


def _value(line: Line, column: Column, scale: str) -> str:
    points = line.points(column)
    if scale == "percent":
        return _number(100.0 * points / column.max_points if column.max_points else 100.0)
    return _number(points)


def exercise_summary(result: ExerciseResult | None, exercise: str) -> str:
    """One line for an exercise: ``Tiny: 2 / 3 points; lost points on d_exp; manual grade #2 ...``."""
    if result is None:
        return f"{exercise}: not handed in (0 points)"
    text = f"{result.title}: {result.score:g} / {result.max_score:g} points"
    lost = [it.item for it in result.items if it.points < it.max_points]
    if lost:
        text += f"; lost points on {', '.join(lost[:5])}" + (f" and {len(lost) - 5} more" if len(lost) > 5 else "")
    manual = [it.evidence["override"].get("id") for it in result.items if "override" in it.evidence]
    if manual:
        text += f"; manual grade {', '.join(f'#{m}' for m in manual)}"
    return text


def canvas_upload(done: Exported) -> str:
    """The CSV Canvas's gradebook import takes."""
    rows = [[*done.identity, *(c.header for c in done.columns)]]
    for line in done.lines:
        cells = line.row.cells if line.row is not None else {}
        rows.append([*(cells.get(h, "") for h in done.identity),
                     *(_value(line, c, done.scale) for c in done.columns)])
    return _csv(rows)


def moodle_upload(done: Exported) -> str:
    """The CSV for Moodle's grade import (Grades > Import > CSV file), keyed by email or ID number."""
    head = [done.key, "name"]
    for c in done.columns:
        head += [c.header, f"Feedback: {c.header}"] if done.feedback else [c.header]
    rows = [head]
    for line in done.lines:
        row = [line.person.email if done.key == "email" else line.person.id, line.person.name]
        for c in done.columns:
            row.append(_value(line, c, done.scale))
            if done.feedback:
                row.append("; ".join(printable(exercise_summary(line.results.get(e), e)) for e in c.exercises))
        rows.append(row)
    return _csv(rows)


def matching_report(done: Exported) -> str:
    """The side file: every match and how it was made, everyone unmatched and why, manual grades."""
    rows = [["status", "side", "learner", "lms", "how or why", "manual grade"]]
    for line in done.lines:
        lms = line.row.label if line.row is not None else (line.person.email if done.key == "email"
                                                             else line.person.id)
        rows.append(["matched", "both", line.person.id, lms, line.how, "yes" if line.overridden else ""])
    for left in done.left:
        rows.append(["unmatched", left.side, left.who if left.side == "ours" else "", left.who
                     if left.side == "lms" else "", left.reason, ""])
    return _csv(rows)


def summary_lines(done: Exported) -> list[str]:
    """What ``grader export`` prints: the files, how people were matched, who is unmatched, the notes."""
    target = "Canvas" if done.target == "canvas" else "Moodle"
    hows = Counter(line.how.split(";")[0] for line in done.lines) if done.target == "canvas" else Counter()
    how = f" ({', '.join(f'{n} by {h}' for h, n in hows.most_common())})" if hows else ""
    lines = [f"wrote {done.out}: {len(done.lines)} learners for {target}{how}, columns "
             f"{', '.join(printable(c.header, 60) for c in done.columns)} ({done.scale})"]
    manual = sum(1 for line in done.lines if line.overridden)
    if manual:
        lines.append(f"{manual} learners' grades include a manual override (marked in {done.side.name})")
    lines += [f"note: {printable(n, 200)}" for n in done.notes]
    for side, label in (("ours", "in the gradebook or roster, not written"), ("lms", f"in {target}, no grade")):
        left = [x for x in done.left if x.side == side]
        if left:
            lines.append(f"unmatched, {label}: {len(left)}")
            lines += [f"  {printable(x.who, 60)}: {printable(x.reason, 120)}" for x in left[:20]]
            if len(left) > 20:
                lines.append(f"  ... and {len(left) - 20} more")
    lines.append(f"wrote {done.side} (every match and how it was made; everyone unmatched)")
    return lines
