"""Grade one submission file: read what the learner handed in, check every item, assemble the result.

Nothing here knows the kinds of item: the registry (:mod:`grader.checks`) says
how an exercise's submission is read (functions run in the sandbox, a typed
answer sheet...) and which checker judges each item.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from .catalogue import Exercise
from .checks import Runner, kind_of, learner_input
from .checks.common import result
from .errors import UsageError
from .results import ExerciseResult, ItemResult
from .runtypes import Limits
from .sandbox import run_calls
from .spec import ItemSpec

__all__ = ["MAX_SUBMISSION_BYTES", "grade_file", "read_submission"]

MAX_SUBMISSION_BYTES = 1 << 20


def read_submission(path: Path, limit: int = MAX_SUBMISSION_BYTES) -> str:
    """The submission's text; UsageError when it cannot be read at all (or is larger than ``limit`` bytes)."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    if not path.is_file():
        raise UsageError(f"{path} is not a file")
    if size > limit:
        raise UsageError(f"{path} is {size} bytes; submissions are limited to {limit} bytes")
    try:
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path} is not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None


def _check_item(exercise: Exercise, item: ItemSpec, answers: Any) -> ItemResult:
    """The item's checker on what the learner handed in (a RunResult, an answer sheet...)."""
    try:
        return kind_of(item).checker.check(item, answers, exercise.name)
    except Exception as exc:  # a checker bug must cost one item, not the whole submission
        return result(item, exercise.name, passed=False, status="undecided", diagnosis="grader_error",
                      feedback=f"the grader failed on this item ({type(exc).__name__}: {exc}); "
                               f"flagged for your instructor")


def grade_file(path: str | Path, exercise: Exercise, limits: Limits | None = None,
               runner: Runner | None = None) -> ExerciseResult:
    """Grade ``path`` as a submission for ``exercise``; learner failures become feedback.

    ``runner`` runs the learner's code when the exercise's input needs it (default:
    a fresh sandboxed child per call of :func:`grader.sandbox.run_calls`).
    """
    path = Path(path)
    started = time.perf_counter()
    reads = learner_input(exercise.items)
    size_limit = getattr(reads, "size_limit", None)  # an input may allow larger files (a notebook's outputs)
    source = read_submission(path, size_limit(path) if size_limit else MAX_SUBMISSION_BYTES)
    handed = reads.read(path, source, exercise.items, limits, runner or run_calls)
    items = tuple(_check_item(exercise, item, handed.answers) for item in exercise.items)
    items, review_notes = reads.review(exercise.items, items, source if handed.reviewed is None else handed.reviewed)
    return ExerciseResult(
        exercise=exercise.name,
        title=exercise.title,
        submission=str(path),
        items=items,
        sandbox_mode=handed.sandbox_mode,
        seconds=time.perf_counter() - started,
        stdout=handed.stdout,
        stderr=handed.stderr,
        import_error=handed.import_error,
        notes=handed.notes + review_notes,
    )
