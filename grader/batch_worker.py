"""The worker side of batch grading: a long-lived process that grades submissions one after another.

A worker is forked from the batch's parent after the heavy imports, keeps one
sandbox runner (a pool when the sandbox offers one) for its whole life so
caches stay warm, writes each learner's HTML report, and sends the result back
as JSON text. It ignores Ctrl-C (the parent handles it), stops its sandboxed
run on SIGTERM, and dies with the parent: the kernel sends it SIGTERM when the
parent dies (``kill -9``, the OOM killer), and it then stops its sandboxed run
and exits at once (its fork server follows when the control socket closes). It
never holds the output folder's lock: the parent's lock file descriptor, inherited
by the fork, is closed first thing.
"""

from __future__ import annotations

import ctypes
import dataclasses
import hashlib
import multiprocessing.util
import os
import signal
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from . import __version__
from .catalogue import Exercise
from .checks import Runner
from .checks.common import result as item_result
from .errors import UsageError
from .gradebook import now, result_to_json
from .grading import grade_file, grade_on_variant, grade_variant_file, variant_decision
from .layouts import safe_component
from .results import ErrorInfo, ExerciseResult
from .runtypes import Limits
from .variants import VariantDecision, fold_id


def exercise_version(ex: Exercise) -> str:
    """The grader version plus a digest of the exercise's template and reference, so editing them regrades."""
    digest = hashlib.sha256()
    for path in (ex.template, ex.solution):
        digest.update(path.read_bytes())
    if ex.parameters and ex.secret is not None:  # another variant key gives other numbers: grade again
        digest.update(hashlib.sha256(b"grader-variant-key\0" + ex.secret).digest())
    return f"{__version__}+{digest.hexdigest()[:12]}"


def report_path(out: Path, learner: str, exercise: str) -> Path:
    """Where a learner's HTML report goes: always inside ``out/reports``, whatever the learner's name."""
    return out / "reports" / safe_component(learner) / f"{safe_component(exercise)}.html"


def unreadable_result(ex: Exercise, submission: str, message: str, diagnosis: str = "unreadable") -> ExerciseResult:
    """A zero result for a file that could not be graded at all (too large, not UTF-8, grader failure)."""
    items = tuple(item_result(it, ex.name, passed=False, status="error", diagnosis=diagnosis, feedback=message)
                  for it in ex.items)
    return ExerciseResult(ex.name, ex.title, submission, items, import_error=ErrorInfo("Unreadable", message))


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file, so readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def write_report(out: Path, learner: str, result: ExerciseResult) -> None:
    """Render and write one learner's HTML report."""
    from .render import html

    write_atomic(report_path(out, learner, result.exercise), html.render(result))


@dataclasses.dataclass
class _Worker:
    exercises: dict[str, Exercise]
    limits: Limits
    runner: Runner | None
    out: Path
    parent: int
    close: Callable[[], None] = lambda: None  # stops this worker's fork server


_STATE: _Worker | None = None


def make_runner(limits: Limits) -> tuple[Runner | None, Callable[[], None]]:
    """This worker's fork-server sandbox (imports paid once) and how to stop it; (None, no-op) for a fresh
    sandboxed child per run."""
    try:
        from .forkserver import SandboxPool

        pool = SandboxPool(limits)
        pool.__enter__()
    except Exception:  # no fork server on this machine: grading still works, one fresh child per submission
        return None, lambda: None
    multiprocessing.util.Finalize(pool, pool.close, exitpriority=10)
    return pool.run, pool.close


_PR_SET_PDEATHSIG = 1


def _die_with_parent(parent: int) -> None:
    """Ask the kernel for SIGTERM when the parent dies; exit now if it already has (it died before we asked)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):  # no prctl: the watchdog thread below still notices, a little later
        pass
    if os.getppid() != parent:
        os._exit(1)


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(0.3)
    os.kill(os.getpid(), signal.SIGTERM)  # unwinds the sandboxed run's cleanup in the main thread
    time.sleep(3)
    os._exit(1)


class _Orphaned(SystemExit):
    """Raised in the main thread when the parent died: unwinds the current run's cleanup, then the worker ends."""


def _on_term(signum: int, frame: Any) -> None:
    st = _STATE
    if st is not None and os.getppid() != st.parent:
        raise _Orphaned(128 + signum)
    raise SystemExit(128 + signum)  # run_calls' ``finally`` kills the sandboxed process group


def init_worker(exercises: dict[str, Exercise], limits: Limits, out: Path, parent: int,
                lock_fd: int | None = None) -> None:
    """Process-pool initializer: drop the parent's lock, die with the parent, signals, this worker's sandbox."""
    global _STATE  # noqa: PLW0603 - one worker state per process, set once by the pool's initializer
    if lock_fd is not None:  # the output folder's lock belongs to the parent alone
        try:
            os.close(lock_fd)
        except OSError:
            pass
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _on_term)
    _die_with_parent(parent)
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    runner, close = make_runner(limits)
    _STATE = _Worker(exercises, limits, runner, out, parent, close)


@dataclasses.dataclass(frozen=True)
class VariantLearners:
    """Whose numbers a batch learner's variant files are graded on: the learner's own name, or with ``--roster``
    the id of the roster person the name matched. Used on the coordinating machine, which alone holds the key."""

    #: batch learner -> roster id (empty without a roster: each learner is graded as their own name)
    ids: Mapping[str, str] = dataclasses.field(default_factory=dict)
    #: batch learner -> why no single roster person is theirs
    unmatched: Mapping[str, str] = dataclasses.field(default_factory=dict)

    def decide(self, ex: Exercise, learner: str, path: Path, data: bytes | None = None) -> VariantDecision | None:
        """The instance ``learner``'s file at ``path`` (its bytes ``data`` when read already) is graded on; None
        without variants, or when it cannot be decided (the grading then says why)."""
        if not ex.parameters:
            return None
        if learner in self.unmatched:
            return VariantDecision(learner, None, f"no variant: the learner {learner!r} matches no single person of "
                                   f"the roster ({self.unmatched[learner]}), so whose numbers this file is for is "
                                   f"unknown and its items score zero; flagged for your instructor",
                                   "variant_unmatched")
        try:
            return variant_decision(path, ex, self.ids.get(learner, learner), ex.secret, data)
        except UsageError:
            return None

    def mark(self, learner: str) -> str:
        """What a variant submission's gradebook version adds for ``learner``: '' when graded as their own name,
        else a digest of the roster id, or ``+unmatched``, so a changed mapping (and only that) regrades: a learner
        who stays unmatched is not regraded because the roster's other rows changed why."""
        if learner in self.unmatched:
            return "+unmatched"
        graded_as = fold_id(self.ids.get(learner, learner))
        return "" if graded_as == fold_id(learner) else "+as-" + hashlib.sha256(graded_as.encode()).hexdigest()[:8]


def grade_path(ex: Exercise, path: str, relpath: str, limits: Limits, runner: Runner | None,
               learner: str | None = None, decision: VariantDecision | None = None) -> ExerciseResult:
    """Grade the file at ``path`` as ``relpath``; a file the grader cannot read or fails on becomes a zero result.

    A variant exercise is graded on ``decision``'s instance (made by :meth:`VariantLearners.decide`), or else
    decided here with the exercise's key. Shared by the local workers and the Dask workers (:mod:`grader.cluster`),
    so both grade alike.
    """
    try:
        if decision is not None:
            graded = grade_on_variant(path, ex, decision, limits, runner)
        elif ex.parameters:
            graded = grade_variant_file(path, ex, learner, ex.secret, limits, runner)
        else:
            graded = grade_file(path, ex, limits, runner=runner)
        return dataclasses.replace(graded, submission=relpath)
    except UsageError as exc:
        return unreadable_result(ex, relpath, str(exc).replace(path, relpath))
    except Exception as exc:  # a grader bug costs this submission, never the batch
        return unreadable_result(ex, relpath, f"the grader failed on this file ({type(exc).__name__}: {exc}); "
                                              f"flagged for your instructor", diagnosis="grader_error")


def grade_one(learner: str, exercise: str, path: str, relpath: str,
              decision: VariantDecision | None = None) -> tuple[str, str, str]:
    """Grade one file (a variant exercise on ``decision``'s instance); returns (result as JSON, start time,
    report problem or '')."""
    st = _STATE
    if st is None:
        raise RuntimeError("grade_one called outside an initialised worker")
    ex = st.exercises[exercise]
    started = now()
    try:
        result = grade_path(ex, path, relpath, st.limits, st.runner, learner, decision)
    except _Orphaned:  # the run's sandbox is stopped; nobody is left to send a result to
        st.close()
        os._exit(1)
    problem = ""
    try:
        write_report(st.out, learner, result)
    except Exception as exc:
        problem = f"report not written: {type(exc).__name__}: {exc}"
    return result_to_json(result), started, problem
