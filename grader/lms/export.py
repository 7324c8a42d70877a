"""``grader export``: the gradebook's grades as a file Canvas or Moodle imports as is.

Steps: read the gradebook (manual overrides applied), map batch learners to people
(the roster, or each learner as a person of their own), pair people with the LMS side
(a Canvas export's rows; for Moodle the roster's email or id number), check the columns
(points possible against our maximum), then write the upload file and a side file
listing every match with how it was made and everyone left unmatched on either side.
Every check runs before anything is written: a refusal leaves no file behind.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Literal

from ..errors import UsageError
from ..gradebook import Gradebook
from ..overrides import apply
from ..results import ExerciseResult
from ..roster import Person, map_learners
from .matching import CanvasRow, CanvasSheet, Left, match_canvas, resolve_assignment

Columns = Literal["exercises", "total"]
Scale = Literal["points", "percent"]
MoodleKey = Literal["email", "idnumber"]


@dataclasses.dataclass(frozen=True)
class ExportOptions:
    """What ``grader export`` was asked for."""

    gradebook: Path
    out: Path
    canvas: Path | None = None
    moodle: bool = False
    roster: Path | None = None
    columns: Columns = "total"
    assignments: tuple[str, ...] = ()
    scale: Scale = "points"
    key: MoodleKey = "email"
    feedback: bool = False


@dataclasses.dataclass(frozen=True)
class Column:
    """One grade column of the upload: its header and the exercises it adds up."""

    header: str
    exercises: tuple[str, ...]
    max_points: float


@dataclasses.dataclass(frozen=True)
class Line:
    """One person in the upload: their results (overrides applied), their LMS row and how they were paired."""

    person: Person
    results: Mapping[str, ExerciseResult]
    how: str
    row: CanvasRow | None = None

    def points(self, column: Column) -> float:
        """Points earned in ``column`` (an exercise not handed in counts 0)."""
        return round(sum(self.results[e].score for e in column.exercises if e in self.results), 6)

    @property
    def overridden(self) -> bool:
        """Whether a manual grade is part of this person's grades."""
        return any("override" in it.evidence for r in self.results.values() for it in r.items)


@dataclasses.dataclass(frozen=True)
class Exported:
    """What ``grader export`` wrote and who is on which side."""

    target: Literal["canvas", "moodle"]
    out: Path
    side: Path
    columns: tuple[Column, ...]
    lines: tuple[Line, ...]
    left: tuple[Left, ...]
    notes: tuple[str, ...]
    scale: Scale = "points"
    key: MoodleKey = "email"
    identity: tuple[str, ...] = ()
    feedback: bool = False


def side_path(out: Path) -> Path:
    """The side file next to the upload: ``upload.csv`` -> ``upload.matching.csv``."""
    return out.with_name(out.stem + ".matching.csv")


def _load(gradebook: Path) -> tuple[dict[str, dict[str, ExerciseResult]], dict[str, tuple[str, float]]]:
    """learner -> exercise -> result (overrides applied); exercise -> (title, max points)."""
    path = gradebook / "gradebook.sqlite" if gradebook.is_dir() else gradebook
    if not path.is_file():
        raise UsageError(f"no gradebook at {path}: give the --out folder of grader batch")
    with Gradebook(path) as book:
        stored = list(book.submissions())
        overrides = book.overrides()
    by_learner: dict[str, dict[str, ExerciseResult]] = {}
    exercises: dict[str, tuple[str, float]] = {}
    for s in stored:
        mine = [o for o in overrides if o.learner == s.learner]
        by_learner.setdefault(s.learner, {})[s.exercise] = apply(s.result, mine)
        exercises.setdefault(s.exercise, (s.result.title, s.result.max_score))
    if not stored:
        raise UsageError(f"the gradebook {path} has no grades yet: run grader batch first")
    return by_learner, dict(sorted(exercises.items()))


def _people(grades: dict[str, dict[str, ExerciseResult]], roster: Sequence[Person] | None
            ) -> tuple[list[tuple[Person, dict[str, ExerciseResult], str]], list[Left]]:
    """Each person with their results and how their learner name was mapped; learners with no person."""
    if roster is None:
        return [(Person(name, name), results, "") for name, results in grades.items()], []
    left: list[Left] = []
    mine: dict[str, tuple[dict[str, ExerciseResult], str]] = {}
    for m in map_learners(grades, roster):
        if m.person is None:
            left.append(Left("ours", m.learner, f"submission without a roster entry: {m.how}"))
        else:
            mine[m.person.id] = (grades[m.learner], f"roster {m.how} = {m.learner}")
    return [(p, *mine.get(p.id, ({}, "roster: no submission (0 points)"))) for p in roster], left


def _columns(options: ExportOptions, exercises: dict[str, tuple[str, float]], sheet: CanvasSheet | None
             ) -> list[Column]:
    if options.columns == "total":
        if len(options.assignments) > 1:
            raise UsageError("--columns total writes one column: give one --assignment")
        header = options.assignments[0] if options.assignments else "Grader total"
        return [Column(header, tuple(exercises), round(sum(m for _, m in exercises.values()), 6))]
    named: dict[str, str] = {}
    for text in options.assignments:
        ex, eq, header = text.partition("=")
        if not eq or not header.strip():
            raise UsageError(f"with --columns exercises, name each column as EXERCISE=\"LMS name\" (got {text!r})")
        if ex.strip() not in exercises:
            raise UsageError(f"--assignment {text!r}: the gradebook has no exercise {ex.strip()!r} "
                             f"(it has {', '.join(exercises)})")
        named[ex.strip()] = header.strip()
    return [Column(named.get(ex, title), (ex,), top) for ex, (title, top) in exercises.items()]


def _check_points(columns: list[Column], sheet: CanvasSheet, scale: Scale) -> tuple[list[Column], list[str]]:
    """Columns with their headers resolved against the export; refuses points that Canvas would misread."""
    notes: list[str] = []
    out: list[Column] = []
    for given in columns:
        header = resolve_assignment(given.header, sheet.assignments)
        col = dataclasses.replace(given, header=header)
        out.append(col)
        if header not in sheet.assignments:
            notes.append(f"'{header}' is not in the Canvas export: Canvas creates it as a new assignment on import")
            continue
        possible = sheet.points_possible.get(header)
        if possible is None:
            notes.append(f"points possible of '{header}' unknown (no Points Possible row): not checked")
        elif scale == "points" and abs(possible - col.max_points) > 1e-6:
            raise UsageError(f"Canvas's '{header}' is worth {possible:g} points but ours is worth "
                             f"{col.max_points:g}: use --scale percent with a 100-point assignment, or set the "
                             f"assignment's points possible to {col.max_points:g} in Canvas and export again")
        elif scale == "percent" and abs(possible - 100) > 1e-6:
            raise UsageError(f"Canvas's '{header}' is worth {possible:g} points, so a percentage would be read "
                             f"as points out of {possible:g}: set it to 100 points, or use --scale points")
    return out, notes


def _check_paths(options: ExportOptions) -> None:
    inputs = [p.resolve() for p in (options.canvas, options.roster) if p is not None]
    for target in (options.out, side_path(options.out)):
        if target.resolve() in inputs:
            raise UsageError(f"{target} is one of the input files: choose another -o")


def prepare(options: ExportOptions) -> Exported:
    """Everything the export writes, decided and checked (nothing is written here)."""
    from .files import read_canvas, read_roster

    if options.moodle == (options.canvas is not None):
        raise UsageError("choose one target: --canvas EXPORT.csv or --moodle")
    if options.moodle and options.roster is None:
        raise UsageError("--moodle needs --roster roster.csv (Moodle matches people by email or ID number)")
    _check_paths(options)
    grades, exercises = _load(options.gradebook)
    roster = read_roster(options.roster) if options.roster else None
    people, left = _people(grades, roster)
    notes: list[str] = []
    if options.canvas is not None:
        sheet = read_canvas(options.canvas)
        columns, checked = _check_points(_columns(options, exercises, sheet), sheet, options.scale)
        matches, unpaired = match_canvas([p for p, _, _ in people], sheet)
        found = {p.id: (r, how) for p, r, how in people}
        lines = [Line(m.person, found[m.person.id][0],
                      "; ".join(x for x in (m.how, found[m.person.id][1]) if x), m.row) for m in matches]
        return Exported("canvas", options.out, side_path(options.out), tuple(columns),
                        tuple(sorted(lines, key=lambda ln: ln.row.line if ln.row else 0)),
                        tuple(left + unpaired), (*sheet.notes, *checked, *notes), options.scale,
                        identity=sheet.identity)
    columns = _columns(options, exercises, None)
    lines = []
    for p, results, how in people:
        value = p.email if options.key == "email" else p.id
        if not value:
            left.append(Left("ours", p.id, f"no {options.key} in the roster"))
            continue
        lines.append(Line(p, results, how))
    capitals = sum(1 for ln in lines if options.key == "email" and ln.person.email != ln.person.email.lower())
    if capitals:
        notes.append(f"{capitals} emails have capitals: written as in the roster (Moodle compares emails with case)")
    return Exported("moodle", options.out, side_path(options.out), tuple(columns), tuple(lines), tuple(left),
                    tuple(notes), options.scale, options.key, feedback=options.feedback)


def export(options: ExportOptions) -> Exported:
    """Check everything, then write the upload file and its side file; the library call behind ``grader export``."""
    from ..batch_worker import write_atomic
    from ..render import lms

    done = prepare(options)
    upload = lms.canvas_upload(done) if done.target == "canvas" else lms.moodle_upload(done)
    side = lms.matching_report(done)
    try:
        write_atomic(done.out, upload)
        write_atomic(done.side, side)
    except OSError as exc:
        raise UsageError(f"cannot write {exc.filename}: {exc.strerror or exc}") from None
    return done
