"""Grade one submission file: run the learner's code, check every item, assemble the result."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from . import static_scan
from .catalogue import Exercise
from .checks import checker_for
from .checks.common import result
from .errors import UsageError
from .results import ExerciseResult, ItemResult
from .runtypes import Call, Limits, RunResult
from .sandbox import run_calls

#: how learner code is run: ``runner(path, calls, limits) -> RunResult`` (batch grading passes a pooled one)
Runner = Callable[[Path, Sequence[Call], "Limits | None"], RunResult]

MAX_SUBMISSION_BYTES = 1 << 20


def read_submission(path: Path) -> str:
    """The submission's text; UsageError when it cannot be read at all."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    if not path.is_file():
        raise UsageError(f"{path} is not a file")
    if size > MAX_SUBMISSION_BYTES:
        raise UsageError(f"{path} is {size} bytes; submissions are limited to {MAX_SUBMISSION_BYTES} bytes")
    try:
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path} is not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None


def _check_item(exercise: Exercise, item, run: Any) -> ItemResult:  # type: ignore[no-untyped-def]
    """The item's checker on what the learner handed in (a RunResult, or a quiz sheet)."""
    try:
        return checker_for(item.kind).check(item, run, exercise.name)
    except Exception as exc:  # a checker bug must cost one item, not the whole submission
        return result(item, exercise.name, passed=False, status="undecided", diagnosis="grader_error",
                      feedback=f"the grader failed on this item ({type(exc).__name__}: {exc}); "
                               f"flagged for your instructor")


def _derive_rule(exercise: Exercise, items: tuple[ItemResult, ...], source: str) -> tuple[
        tuple[ItemResult, ...], tuple[str, ...]]:
    """Apply "derive, don't delegate": the static scan zeroes items whose code uses a forbidden helper."""
    try:
        return static_scan.enforce(exercise.items, items, static_scan.scan_source(source))
    except Exception as exc:  # a scanner bug must not cost the learner anything
        return items, (f"the static scan failed ({type(exc).__name__}: {exc}); only the runtime guard applied",)


def _grade_quiz(path: Path, exercise: Exercise, source: str, started: float) -> ExerciseResult:
    """A quiz file runs no code: parse it strictly and judge each typed answer."""
    from .checks import quiz

    sheet = quiz.read_sheet(source)
    items = tuple(_check_item(exercise, item, sheet) for item in exercise.items)
    notes = tuple(f"the quiz file has a section [{name[:60]}] that is not a question; it was ignored"
                  for name in quiz.unknown_sections(sheet, exercise.items))  # type: ignore[arg-type]
    return ExerciseResult(exercise=exercise.name, title=exercise.title, submission=str(path), items=items,
                          sandbox_mode="none", seconds=time.perf_counter() - started, notes=notes)


def grade_file(path: str | Path, exercise: Exercise, limits: Limits | None = None,
               runner: Runner | None = None) -> ExerciseResult:
    """Grade ``path`` as a submission for ``exercise``; learner failures become feedback.

    ``runner`` runs the learner's code (default: a fresh sandboxed child per call of
    :func:`grader.sandbox.run_calls`).
    """
    path = Path(path)
    started = time.perf_counter()
    source = read_submission(path)
    if exercise.submission_suffix == ".toml":
        return _grade_quiz(path, exercise, source, started)
    calls = [c for item in exercise.items for c in checker_for(item.kind).calls(item)]
    run = (runner or run_calls)(path, calls, limits)
    items = tuple(_check_item(exercise, item, run) for item in exercise.items)
    items, scan_notes = _derive_rule(exercise, items, source)
    return ExerciseResult(
        exercise=exercise.name,
        title=exercise.title,
        submission=str(path),
        items=items,
        sandbox_mode=run.mode,
        seconds=time.perf_counter() - started,
        stdout=run.stdout,
        stderr=run.stderr,
        import_error=run.import_error,
        notes=run.notes + scan_notes,
    )
