"""The batch gradebook: one SQLite file holding every graded submission and item.

Tables (one row per learner and exercise, replaced as a whole when regraded):

* ``submissions``: learner, exercise, file, content hash, grader version,
  score, status (``ok``/``error``/``timeout``), what went wrong, timestamps
  and the complete result as JSON (so reports can be rebuilt without regrading);
* ``items``: per learner, exercise and item the points, verdict, diagnosis and feedback;
* ``runs``: one row per batch run (start, end, counts, whether it was interrupted).

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
from .results import ErrorInfo, ExerciseResult, ItemResult, SourceLine

SubmissionStatus = Literal["ok", "error", "timeout"]
#: stored in SQLite's ``user_version``; a gradebook with another number is refused, never altered
SCHEMA_VERSION = 1

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
"""

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
            ours = tables <= {"submissions", "items", "runs", "sqlite_sequence"}  # also before versions existed
            if version != SCHEMA_VERSION and (version or not ours):
                raise UsageError(f"{self.path} is not a gradebook of this grader (schema {version}, expected "
                                 f"{SCHEMA_VERSION}); choose another --out folder")
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.execute("PRAGMA foreign_keys=ON")
            self.db.executescript(_SCHEMA)
            self.db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        except sqlite3.DatabaseError as exc:
            self.db.close()
            raise UsageError(f"{self.path} cannot be used as a gradebook: {exc}") from None
        except UsageError:
            self.db.close()
            raise

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
               started_at: str, result_json: str | None = None) -> None:
        """Store one graded submission and its items in a single transaction, replacing any older grade."""
        status, problem = submission_status(result)
        text = result_json if result_json is not None else result_to_json(result)
        key = (learner, result.exercise)
        self.db.execute("BEGIN IMMEDIATE")
        try:
            self.db.execute("DELETE FROM items WHERE learner = ? AND exercise = ?", key)
            self.db.execute(
                "INSERT OR REPLACE INTO submissions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (*key, path, sha256, grader_version, result.score, result.max_score, status, problem,
                 started_at, now(), result.seconds, text))
            self.db.executemany(
                "INSERT INTO items VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(*key, it.item, n, it.kind, it.points, it.max_points, it.status, it.diagnosis, it.feedback,
                  it.answer) for n, it in enumerate(result.items)])
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise

    def start_run(self, jobs: int, to_grade: int, skipped: int) -> int:
        """Open a row in ``runs``; it stays marked interrupted until :meth:`finish_run`."""
        cur = self.db.execute("INSERT INTO runs (started_at, jobs, to_grade, skipped) VALUES (?, ?, ?, ?)",
                              (now(), jobs, to_grade, skipped))
        return int(cur.lastrowid or 0)

    def finish_run(self, run_id: int, graded: int, interrupted: bool) -> None:
        """Close a run's row with its counts."""
        self.db.execute("UPDATE runs SET finished_at = ?, graded = ?, interrupted = ? WHERE id = ?",
                        (now(), graded, int(interrupted), run_id))

    def submissions(self) -> Iterator[StoredSubmission]:
        """Every stored submission, by learner then exercise."""
        rows = self.db.execute("SELECT learner, exercise, path, sha256, grader_version, status, problem, "
                               "graded_at, result_json FROM submissions ORDER BY learner, exercise")
        for learner, exercise, path, sha256, version, status, problem, graded_at, result_json in rows:
            yield StoredSubmission(learner, exercise, path, sha256, version, status, problem, graded_at,
                                   result_from_json(result_json))
