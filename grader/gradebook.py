"""The batch gradebook: one SQLite file holding every graded submission and item.

Tables (one row per learner and exercise, replaced as a whole when regraded):

* ``submissions``: learner, exercise, file, content hash, grader version,
  score, status (``ok``/``error``/``timeout``), what went wrong, timestamps
  and the complete result as JSON (so reports can be rebuilt without regrading);
* ``items``: per learner, exercise and item the points, verdict, diagnosis and feedback;
* ``runs``: one row per batch run (start, end, counts, whether it was interrupted,
  what it was asked to regrade and how many points changed);
* ``changes``: the change history, one row per item whose points a run changed (old and new points);
* ``overrides``: manual grades (learner, exercise, item or the whole exercise, points) with who,
  when and why; undone overrides stay, marked with who undid them and when. A run never
  touches them unless asked (``--drop-overrides``), so they survive regrading.

Schema versions: 1 had no ``changes``/``overrides`` and fewer ``runs`` columns; opening
such a gradebook adds them (nothing is removed), so older gradebooks stay readable.

Only the batch's parent process writes; each submission is recorded in its own
transaction (WAL journal), so an interrupted run keeps everything it recorded
and a rerun skips submissions whose hash and grader version are unchanged.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from .errors import UsageError
from .overrides import Override
from .results import ErrorInfo, ExerciseResult, ItemResult, SourceLine

SubmissionStatus = Literal["ok", "error", "timeout"]
#: stored in SQLite's ``user_version``; a gradebook with another number is refused, never altered
SCHEMA_VERSION = 2
#: the versions this grader can open (older ones are brought up to date when opened)
_READABLE_VERSIONS = (1, 2)
_TABLES = {"submissions", "items", "runs", "sqlite_sequence", "changes", "overrides"}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS submissions (
    learner TEXT NOT NULL,
    exercise TEXT NOT NULL,
    path TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    grader_version TEXT NOT NULL,
    score REAL NOT NULL,
    max_score REAL NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('ok', 'error', 'timeout')),
    problem TEXT,
    started_at TEXT NOT NULL,
    graded_at TEXT NOT NULL,
    seconds REAL NOT NULL,
    result_json TEXT NOT NULL,
    PRIMARY KEY (learner, exercise)
);
CREATE TABLE IF NOT EXISTS items (
    learner TEXT NOT NULL,
    exercise TEXT NOT NULL,
    item TEXT NOT NULL,
    position INTEGER NOT NULL,
    kind TEXT NOT NULL,
    points REAL NOT NULL,
    max_points REAL NOT NULL,
    verdict TEXT NOT NULL,
    diagnosis TEXT,
    feedback TEXT NOT NULL,
    answer TEXT,
    PRIMARY KEY (learner, exercise, item),
    FOREIGN KEY (learner, exercise) REFERENCES submissions (learner, exercise) ON DELETE CASCADE
);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    jobs INTEGER NOT NULL,
    to_grade INTEGER NOT NULL,
    skipped INTEGER NOT NULL,
    graded INTEGER NOT NULL DEFAULT 0,
    interrupted INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE IF NOT EXISTS changes (
    run_id INTEGER NOT NULL REFERENCES runs (id),
    learner TEXT NOT NULL,
    exercise TEXT NOT NULL,
    item TEXT NOT NULL,
    old_points REAL,
    new_points REAL,
    at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS overrides (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    learner TEXT NOT NULL,
    exercise TEXT NOT NULL,
    item TEXT,
    points REAL NOT NULL,
    reason TEXT NOT NULL,
    by TEXT NOT NULL,
    at TEXT NOT NULL,
    undone_at TEXT,
    undone_by TEXT
);
"""
#: columns schema 2 added to ``runs``: what the run was asked to do, and how many item grades it changed
_RUN_COLUMNS = {"mode": "TEXT NOT NULL DEFAULT 'resume'", "targets": "TEXT NOT NULL DEFAULT ''",
                "changed": "INTEGER NOT NULL DEFAULT 0"}

#: diagnoses that mean the learner's code did not run to the end, not that the answer was wrong
TIMEOUT_DIAGNOSES = frozenset({"timeout"})
ERROR_DIAGNOSES = frozenset({"import_error", "crashed", "not_run", "grader_error", "unreadable"})


def now() -> str:
    """The current UTC time as ISO 8601 text (what every timestamp column holds)."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def submission_status(result: ExerciseResult) -> tuple[SubmissionStatus, str | None]:
    """Whether the learner's code ran (``ok``), failed to run (``error``) or ran out of time, and why."""
    if result.import_error is not None:
        kind: SubmissionStatus = "timeout" if result.import_error.type in ("Timeout", "CPULimit") else "error"
        return kind, result.import_error.one_line()
    timeouts = [i for i in result.items if i.diagnosis in TIMEOUT_DIAGNOSES]
    if timeouts:
        return "timeout", "; ".join(f"{i.item}: {i.feedback}" for i in timeouts[:3])
    errors = [i for i in result.items if i.diagnosis in ERROR_DIAGNOSES]
    if errors:
        return "error", "; ".join(f"{i.item}: {i.feedback}" for i in errors[:3])
    return "ok", None


def result_to_json(result: ExerciseResult) -> str:
    """An ExerciseResult as JSON text (the inverse of :func:`result_from_json`)."""
    return json.dumps(dataclasses.asdict(result), ensure_ascii=False, default=str)


def _error(raw: Any) -> ErrorInfo | None:
    if not raw:
        return None
    return ErrorInfo(raw["type"], raw["message"], tuple(SourceLine(**f) for f in raw.get("frames", ())))


def result_from_json(text: str) -> ExerciseResult:
    """Rebuild an ExerciseResult stored by :func:`result_to_json` (the grader's own data only)."""
    raw = json.loads(text)
    item_fields = {f.name for f in dataclasses.fields(ItemResult)}  # tolerate rows from other grader versions
    items = tuple(ItemResult(**{k: v for k, v in it.items() if k in item_fields}
                             | {"details": tuple(it.get("details", ())), "error": _error(it.get("error"))})
                  for it in raw.pop("items"))
    result_fields = {f.name for f in dataclasses.fields(ExerciseResult)}
    return ExerciseResult(**{k: v for k, v in raw.items() if k in result_fields}
                          | {"items": items, "notes": tuple(raw.get("notes", ())),
                             "import_error": _error(raw.get("import_error"))})


@dataclasses.dataclass(frozen=True)
class ItemChange:
    """One item whose points a regrade changed (``old`` None: the item is new)."""

    learner: str
    exercise: str
    item: str
    old: float | None
    new: float | None


def merge_items(before: ExerciseResult, fresh: ExerciseResult, only: frozenset[str]) -> ExerciseResult:
    """``before`` with the items named in ``only`` taken from ``fresh`` (a one-item regrade keeps the rest)."""
    new = {it.item: it for it in fresh.items}
    items = tuple(new.get(it.item, it) if it.item in only else it for it in before.items)
    note = f"regraded {', '.join(sorted(only & set(new)))} at {now()}; the other items keep their earlier grade"
    return dataclasses.replace(before, items=items, notes=(*before.notes, note))


def item_changes(learner: str, before: ExerciseResult, after: ExerciseResult) -> tuple[ItemChange, ...]:
    """The items whose points differ between two grades of one submission (added or removed items too)."""
    old = {it.item: it.points for it in before.items}
    new = {it.item: it.points for it in after.items}
    names = [it.item for it in after.items] + [n for n in old if n not in new]
    return tuple(ItemChange(learner, after.exercise, n, old.get(n), new.get(n)) for n in names
                 if old.get(n) != new.get(n))


@dataclasses.dataclass(frozen=True)
class StoredSubmission:
    """One row of ``submissions`` with its result rebuilt."""

    learner: str
    exercise: str
    path: str
    sha256: str
    grader_version: str
    status: SubmissionStatus
    problem: str | None
    graded_at: str
    result: ExerciseResult


class Gradebook:
    """The SQLite gradebook at ``path`` (created on first use). Use as a context manager."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            version = self.db.execute("PRAGMA user_version").fetchone()[0]
            tables = {r[0] for r in self.db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            ours = tables <= _TABLES  # also before versions existed
            if version not in _READABLE_VERSIONS and (version or not ours):
                raise UsageError(f"{self.path} is not a gradebook of this grader (schema {version}, expected "
                                 f"{SCHEMA_VERSION}); choose another --out folder")
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.execute("PRAGMA foreign_keys=ON")
            self.db.executescript(_SCHEMA)
            self._migrate()
            self.db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        except sqlite3.DatabaseError as exc:
            self.db.close()
            raise UsageError(f"{self.path} cannot be used as a gradebook: {exc}") from None
        except UsageError:
            self.db.close()
            raise

    def _migrate(self) -> None:
        """Bring a schema-1 gradebook up to date: add the columns ``runs`` gained (tables are created above)."""
        have = {r[1] for r in self.db.execute("PRAGMA table_info(runs)")}
        for name, decl in _RUN_COLUMNS.items():
            if name not in have:
                self.db.execute(f"ALTER TABLE runs ADD COLUMN {name} {decl}")

    def __enter__(self) -> Gradebook:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Checkpoint the journal into the main file and close."""
        try:
            self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            self.db.close()

    def graded_versions(self) -> dict[tuple[str, str], tuple[str, str]]:
        """(learner, exercise) -> (content hash, grader version) for everything recorded."""
        rows = self.db.execute("SELECT learner, exercise, sha256, grader_version FROM submissions")
        return {(r[0], r[1]): (r[2], r[3]) for r in rows}

    def record(self, learner: str, path: str, sha256: str, grader_version: str, result: ExerciseResult,
               started_at: str, result_json: str | None = None, run_id: int | None = None,
               only_items: frozenset[str] | None = None) -> tuple[ItemChange, ...]:
        """Store one graded submission and its items in a single transaction, replacing any older grade.

        With ``only_items``, only those items take the new grade; the others keep their stored one.
        Returns the items whose points changed from an earlier grade (kept in ``changes`` under ``run_id``).
        """
        key = (learner, result.exercise)
        self.db.execute("BEGIN IMMEDIATE")
        try:
            row = self.db.execute("SELECT result_json FROM submissions WHERE learner = ? AND exercise = ?",
                                  key).fetchone()
            before = result_from_json(row[0]) if row else None
            if only_items is not None and before is not None:
                result, result_json = merge_items(before, result, only_items), None
            status, problem = submission_status(result)
            text = result_json if result_json is not None else result_to_json(result)
            self.db.execute("DELETE FROM items WHERE learner = ? AND exercise = ?", key)
            self.db.execute(
                "INSERT OR REPLACE INTO submissions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (*key, path, sha256, grader_version, result.score, result.max_score, status, problem,
                 started_at, now(), result.seconds, text))
            self.db.executemany(
                "INSERT INTO items VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(*key, it.item, n, it.kind, it.points, it.max_points, it.status, it.diagnosis, it.feedback,
                  it.answer) for n, it in enumerate(result.items)])
            changes = item_changes(learner, before, result) if before is not None else ()
            if run_id is not None and changes:
                at = now()
                self.db.executemany("INSERT INTO changes VALUES (?, ?, ?, ?, ?, ?, ?)",
                                    [(run_id, c.learner, c.exercise, c.item, c.old, c.new, at) for c in changes])
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        return changes

    def start_run(self, jobs: int, to_grade: int, skipped: int, mode: str = "resume", targets: str = "") -> int:
        """Open a row in ``runs``; it stays marked interrupted until :meth:`finish_run`.

        ``mode`` is what was asked (``resume``, ``regrade``, ``regrade-learner``, ``regrade-item``) and
        ``targets`` the learners or items named."""
        cur = self.db.execute("INSERT INTO runs (started_at, jobs, to_grade, skipped, mode, targets) "
                              "VALUES (?, ?, ?, ?, ?, ?)", (now(), jobs, to_grade, skipped, mode, targets))
        return int(cur.lastrowid or 0)

    def finish_run(self, run_id: int, graded: int, interrupted: bool) -> None:
        """Close a run's row with its counts (how many item grades it changed is counted from ``changes``)."""
        self.db.execute("UPDATE runs SET finished_at = ?, graded = ?, interrupted = ?, "
                        "changed = (SELECT count(*) FROM changes WHERE run_id = ?) WHERE id = ?",
                        (now(), graded, int(interrupted), run_id, run_id))

    def changes(self, run_id: int | None = None) -> list[tuple[int, ItemChange]]:
        """The change history (run id, change), oldest first; one run's only with ``run_id``."""
        sql = "SELECT run_id, learner, exercise, item, old_points, new_points FROM changes"
        rows = self.db.execute(sql + (" WHERE run_id = ?" if run_id is not None else "") + " ORDER BY rowid",
                               (run_id,) if run_id is not None else ())
        return [(r[0], ItemChange(r[1], r[2], r[3], r[4], r[5])) for r in rows]

    # --- manual overrides ---

    def add_override(self, learner: str, exercise: str, item: str | None, points: float, reason: str,
                     by: str) -> Override:
        """Record a manual grade for a stored submission (one item, or the exercise's total when ``item`` is None).

        Refused (UsageError) when the submission or item is unknown or the points are outside 0..maximum.
        """
        row = self.db.execute("SELECT result_json FROM submissions WHERE learner = ? AND exercise = ?",
                              (learner, exercise)).fetchone()
        if row is None:
            known = sorted({r[0] for r in self.db.execute("SELECT exercise FROM submissions WHERE learner = ?",
                                                          (learner,))})
            raise UsageError(f"the gradebook has no {exercise} submission of {learner!r}"
                             + (f" (it has {', '.join(known)})" if known else " (no submission of that learner)"))
        result = result_from_json(row[0])
        if item is None:
            top = result.max_score
        else:
            found = [it for it in result.items if it.item == item]
            if not found:
                raise UsageError(f"{exercise} has no item {item!r}; items: "
                                 f"{', '.join(it.item for it in result.items)}")
            top = found[0].max_points
        if not 0 <= points <= top:
            raise UsageError(f"{points:g} points is outside 0..{top:g} for {exercise}{'.' + item if item else ''}")
        if not reason.strip():
            raise UsageError("an override needs a --reason (it is kept with the grade)")
        at = now()
        cur = self.db.execute("INSERT INTO overrides (learner, exercise, item, points, reason, by, at) "
                              "VALUES (?, ?, ?, ?, ?, ?, ?)", (learner, exercise, item, points, reason, by, at))
        return Override(int(cur.lastrowid or 0), learner, exercise, item, points, reason, by, at)

    def overrides(self, include_undone: bool = False) -> list[Override]:
        """Manual overrides in the order they were made (active ones only unless ``include_undone``)."""
        rows = self.db.execute("SELECT id, learner, exercise, item, points, reason, by, at, undone_at, undone_by "
                               "FROM overrides" + ("" if include_undone else " WHERE undone_at IS NULL")
                               + " ORDER BY id")
        return [Override(*r) for r in rows]

    def undo_override(self, override_id: int, by: str, when: str | None = None) -> Override:
        """Mark an override undone (kept in the history); UsageError when it is unknown or already undone."""
        row = self.db.execute("SELECT undone_at FROM overrides WHERE id = ?", (override_id,)).fetchone()
        if row is None:
            raise UsageError(f"no override {override_id} in this gradebook (grader override DIR --list)")
        if row[0] is not None:
            raise UsageError(f"override {override_id} was already undone at {row[0]}")
        self.db.execute("UPDATE overrides SET undone_at = ?, undone_by = ? WHERE id = ?",
                        (when or now(), by, override_id))
        return next(o for o in self.overrides(include_undone=True) if o.id == override_id)

    def drop_overrides(self, keys: set[tuple[str, str]], by: str) -> list[Override]:
        """Undo every active override of the (learner, exercise) pairs in ``keys``; returns them."""
        dropped = [o for o in self.overrides() if (o.learner, o.exercise) in keys]
        for o in dropped:
            self.undo_override(o.id, by)
        return dropped

    def submissions(self) -> Iterator[StoredSubmission]:
        """Every stored submission, by learner then exercise."""
        rows = self.db.execute("SELECT learner, exercise, path, sha256, grader_version, status, problem, "
                               "graded_at, result_json FROM submissions ORDER BY learner, exercise")
        for learner, exercise, path, sha256, version, status, problem, graded_at, result_json in rows:
            yield StoredSubmission(learner, exercise, path, sha256, version, status, problem, graded_at,
                                   result_from_json(result_json))
