"""Grade one submission file: read what the learner handed in, check every item, assemble the result.

Nothing here knows the kinds of item: the registry (:mod:`grader.checks`) says
how an exercise's submission is read (functions run in the sandbox, a typed
answer sheet...) and which checker judges each item.
"""

from __future__ import annotations

import dataclasses
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
from .variants import VariantDecision

__all__ = ["MAX_SUBMISSION_BYTES", "grade_file", "grade_on_variant", "grade_variant_file", "read_submission",
           "variant_decision"]

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


# --- per-learner variants (issue 12): grade a file on the instance of the learner it belongs to ---


def _zeroed(res: ExerciseResult, message: str, diagnosis: str) -> ExerciseResult:
    items = tuple(dataclasses.replace(i, points=0.0, status="failed", feedback=message, diagnosis=diagnosis,
                                      details=(message,)) for i in res.items)
    return dataclasses.replace(res, items=items, notes=(*res.notes, message))


def variant_decision(path: str | Path, exercise: Exercise, learner: str | None, secret: bytes | None,
                     source: bytes | None = None) -> VariantDecision:
    """Which instance of ``exercise`` the file at ``path`` is graded on (read from ``source``, its bytes, when
    given): ``learner``'s, or else its authenticated ``# grader-variant:`` line's; UsageError without the key
    or without either."""
    from .variants import decide_variant, read_id_line

    if secret is None:
        raise UsageError(f"exercise {exercise.name} has per-learner variants: pass --secret-file KEY (the file "
                         f"grader release --roster used)")
    path = Path(path)
    try:  # only the id line is read here; grade_file reads (and refuses) the file as usual
        if source is None:
            with path.open("rb") as fh:
                source = fh.read(MAX_SUBMISSION_BYTES)
        claim = read_id_line(source[:MAX_SUBMISSION_BYTES].decode("utf-8", "replace"))
    except OSError:
        claim = None
    if learner is None and claim is None:
        raise UsageError(f"{path.name} has no '# grader-variant:' line and no learner was named: pass "
                         f"--learner ID to grade it on that learner's variant")
    return decide_variant(exercise.parameters, exercise.name, learner, claim, secret)


def grade_on_variant(path: str | Path, exercise: Exercise, decision: VariantDecision, limits: Limits | None = None,
                     runner: Runner | None = None) -> ExerciseResult:
    """Grade ``path`` on the instance ``decision`` names, zeroing its items when the decision says so.

    Needs no key: a cluster worker grades with a decision made on the coordinating machine.
    """
    from .catalogue import bind

    if decision.variant is None:  # no instance to grade on: every item scores zero, no learner code runs
        items = tuple(result(it, exercise.name, passed=False, diagnosis=decision.diagnosis, feedback=decision.message,
                             details=(decision.message,)) for it in exercise.items)
        return ExerciseResult(exercise.name, exercise.title, str(path), items, notes=(decision.message,))
    res = grade_file(path, bind(exercise, decision.variant), limits, runner)
    res = dataclasses.replace(res, notes=(*res.notes, f"graded on the variant of learner {decision.learner}"))
    return _zeroed(res, decision.message, decision.diagnosis) if decision.diagnosis else res


def grade_variant_file(path: str | Path, exercise: Exercise, learner: str | None, secret: bytes | None,
                       limits: Limits | None = None, runner: Runner | None = None) -> ExerciseResult:
    """Grade ``path`` on its learner's instance of ``exercise`` (exercises without variants: as ``grade_file``).

    The learner is ``learner`` (a batch layout's name, ``--learner``) or else the
    file's authenticated ``# grader-variant:`` line. A line that does not
    authenticate, or that names another learner than ``learner``, zeroes every
    item with a message saying so: the file was not written for this variant.
    """
    if not exercise.parameters:
        return grade_file(path, exercise, limits, runner)
    return grade_on_variant(path, exercise, variant_decision(path, exercise, learner, secret), limits, runner)
