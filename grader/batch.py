"""Grade a whole class: discover submissions, grade them in parallel, record them, write the outputs.

The parent process owns the SQLite gradebook and is its only writer: each
result is committed as soon as it arrives, so an interrupt (Ctrl-C, ``kill
-9``) loses at most the submissions in flight, and a rerun skips everything
already graded with the same content hash and grader version. Grading happens
in ``jobs`` long-lived worker processes (forked after the heavy imports, so
they are paid once); each worker grades submissions one after another with
its own sandbox runner, renders the learner's HTML report and sends back the
result as JSON text. Learner code runs only inside the sandbox, below a worker.
"""

from __future__ import annotations

import dataclasses
import hashlib
import multiprocessing
import os
import signal
import sys
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any, Callable, Sequence

from . import __version__
from .catalogue import Exercise
from .checks.common import result as item_result
from .errors import UsageError
from .gradebook import Gradebook, now, result_to_json
from .grading import Runner, grade_file
from .layouts import Discovery, Submission, safe_component
from .results import ErrorInfo, ExerciseResult
from .sandbox import Limits

ProgressHook = Callable[[int, int, str], None]


@dataclasses.dataclass(frozen=True)
class BatchOptions:
    """What ``grader batch`` was asked to do."""

    out: Path
    jobs: int
    regrade: bool = False
    limits: Limits = dataclasses.field(default_factory=Limits)


@dataclasses.dataclass(frozen=True)
class BatchRun:
    """How a batch run went (the outputs are in the gradebook and the ``out`` folder)."""

    graded: int
    skipped: int
    failed_to_record: tuple[str, ...]
    interrupted: bool
    seconds: float


def exercise_version(ex: Exercise) -> str:
    """The grader version plus a digest of the exercise's template and reference, so editing them regrades."""
    digest = hashlib.sha256()
    for path in (ex.template, ex.solution):
        digest.update(path.read_bytes())
    return f"{__version__}+{digest.hexdigest()[:12]}"


def report_path(out: Path, learner: str, exercise: str) -> Path:
    """Where a learner's HTML report goes: always inside ``out/reports``, whatever the learner's name."""
    return out / "reports" / safe_component(learner) / f"{safe_component(exercise)}.html"


def unreadable_result(ex: Exercise, submission: str, message: str, diagnosis: str = "unreadable") -> ExerciseResult:
    """A zero result for a file that could not be graded at all (too large, not UTF-8, grader failure)."""
    items = tuple(item_result(it, ex.name, passed=False, status="error", diagnosis=diagnosis, feedback=message)
                  for it in ex.items)
    return ExerciseResult(ex.name, ex.title, submission, items, import_error=ErrorInfo("Unreadable", message))


# ---------------------------------------------------------------- worker side


@dataclasses.dataclass
class _Worker:
    exercises: dict[str, Exercise]
    limits: Limits
    runner: Runner | None
    out: Path


_STATE: _Worker | None = None


def _make_runner(limits: Limits) -> Runner | None:
    """A pooled sandbox runner when the sandbox module offers one, else None (a fresh child per run)."""
    from . import sandbox

    pool_cls = getattr(sandbox, "SandboxPool", None)
    if pool_cls is None:
        return None
    try:
        pool = pool_cls(limits)
        pool.__enter__()
    except Exception:  # no pool on this machine: fall back to a fresh sandboxed child per submission
        return None
    multiprocessing.util.Finalize(pool, pool.__exit__, args=(None, None, None), exitpriority=10)
    return lambda path, calls, lim: pool.run(path, calls, lim)


def _watch_parent(parent: int) -> None:
    """End this worker soon after the batch's parent dies (``kill -9``): stop the sandbox, then exit."""
    while os.getppid() == parent:
        time.sleep(0.3)
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(3)
    os._exit(1)


def _on_term(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)  # unwinds run_calls' cleanup, which kills the sandboxed process group


def _init_worker(exercises: dict[str, Exercise], limits: Limits, out: Path, parent: int) -> None:
    global _STATE
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    signal.signal(signal.SIGTERM, _on_term)
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    _STATE = _Worker(exercises, limits, _make_runner(limits), out)


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def write_report(out: Path, learner: str, result: ExerciseResult) -> None:
    """Render and write one learner's HTML report."""
    from .render import html

    _write_atomic(report_path(out, learner, result.exercise), html.render(result))


def _grade_one(learner: str, exercise: str, path: str, relpath: str) -> tuple[str, str, str]:
    """Grade one file in a worker; returns (result JSON, start time, report problem or '')."""
    st = _STATE
    assert st is not None, "worker not initialised"
    ex = st.exercises[exercise]
    started = now()
    try:
        result = dataclasses.replace(grade_file(path, ex, st.limits, runner=st.runner), submission=relpath)
    except UsageError as exc:
        result = unreadable_result(ex, relpath, str(exc).replace(path, relpath))
    except Exception as exc:  # a grader bug costs this submission, never the batch
        result = unreadable_result(ex, relpath, f"the grader failed on this file ({type(exc).__name__}: {exc}); "
                                                f"flagged for your instructor", diagnosis="grader_error")
    problem = ""
    try:
        write_report(st.out, learner, result)
    except Exception as exc:
        problem = f"report not written: {type(exc).__name__}: {exc}"
    return result_to_json(result), started, problem


# ---------------------------------------------------------------- parent side


def default_jobs() -> int:
    """The number of cores this process may use."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:
        return os.cpu_count() or 1


def plan(discovery: Discovery, exercises: dict[str, Exercise], book: Gradebook,
         regrade: bool) -> tuple[list[Submission], int]:
    """The submissions still to grade (new, changed, or graded by another version) and how many are skipped."""
    if regrade:
        return list(discovery.submissions), 0
    done = book.graded_versions()
    versions = {name: exercise_version(ex) for name, ex in exercises.items()}
    todo = [s for s in discovery.submissions
            if done.get((s.learner, s.exercise)) != (s.sha256, versions[s.exercise])]
    return todo, len(discovery.submissions) - len(todo)


def _stop_workers() -> None:
    """Stop this process's worker processes (they clean up their sandboxes on SIGTERM)."""
    children = multiprocessing.active_children()
    for child in children:
        child.terminate()
    for child in children:
        child.join(timeout=5)
        if child.is_alive():
            child.kill()


def grade_batch(discovery: Discovery, exercises: dict[str, Exercise], options: BatchOptions,
                progress: ProgressHook | None = None) -> BatchRun:
    """Grade what ``discovery`` found into ``options.out`` (gradebook and reports), resuming earlier runs."""
    started = time.monotonic()
    options.out.mkdir(parents=True, exist_ok=True)
    used = {s.exercise: exercises[s.exercise] for s in discovery.submissions}
    versions = {name: exercise_version(ex) for name, ex in used.items()}
    graded, lost = 0, []
    with Gradebook(options.out / "gradebook.sqlite") as book:
        todo, skipped = plan(discovery, used, book, options.regrade)
        run_id = book.start_run(options.jobs, len(todo), skipped)
        interrupted = False
        if todo:
            ctx = multiprocessing.get_context("fork")  # workers inherit the parent's sympy/numpy imports
            pool = ProcessPoolExecutor(max(1, min(options.jobs, len(todo))), mp_context=ctx,
                                       initializer=_init_worker,
                                       initargs=(used, options.limits, options.out, os.getpid()))
            try:
                futures: dict[Future[tuple[str, str, str]], Submission] = {
                    pool.submit(_grade_one, s.learner, s.exercise, str(s.path), s.relpath): s for s in todo}
                for fut in as_completed(futures):
                    sub = futures[fut]
                    try:
                        text, began, problem = fut.result()
                    except (BrokenProcessPool, SystemExit, Exception) as exc:
                        lost.append(f"{sub.relpath}: not graded ({type(exc).__name__}: {exc}); run again to retry")
                    else:
                        from .gradebook import result_from_json

                        book.record(sub.learner, sub.relpath, sub.sha256, versions[sub.exercise],
                                    result_from_json(text), began, text)
                        graded += 1
                        if problem:
                            lost.append(f"{sub.relpath}: {problem}")
                    if progress:
                        progress(graded + len(lost), len(todo), f"{sub.learner}/{sub.exercise}")
            except KeyboardInterrupt:
                interrupted = True
            finally:
                pool.shutdown(wait=not interrupted, cancel_futures=True)
                if interrupted:
                    _stop_workers()
        book.finish_run(run_id, graded, interrupted)
    return BatchRun(graded, skipped, tuple(lost), interrupted, time.monotonic() - started)


# ---------------------------------------------------------------- progress


def printable(text: str, limit: int = 80) -> str:
    """Learner-made text made safe for a terminal line (no control characters or escapes), bounded."""
    clean = "".join(ch if ch.isprintable() else "?" for ch in text)
    return clean if len(clean) <= limit else clean[: limit - 1] + "…"


class Progress:
    """A one-line progress bar on a terminal (done/total, rate, ETA); a plain log line per submission otherwise."""

    def __init__(self, stream: Any = None, tty: bool | None = None) -> None:
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self.started = time.monotonic()
        self.last = 0.0

    def __call__(self, done: int, total: int, label: str) -> None:
        elapsed = max(time.monotonic() - self.started, 1e-9)
        rate = done / elapsed
        eta = (total - done) / rate if rate > 0 else 0.0
        stats = f"{done}/{total}  {rate:.1f}/s  ETA {int(eta) // 60}:{int(eta) % 60:02d}"
        if not self.tty:
            self.stream.write(f"[{done}/{total}] graded {printable(label)}  ({rate:.1f}/s)\n")
        elif done == total or time.monotonic() - self.last > 0.1:
            self.last = time.monotonic()
            width = 30
            filled = int(width * done / total) if total else width
            self.stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {stats}\033[K")
            if done == total:
                self.stream.write("\n")
        self.stream.flush()


# ---------------------------------------------------------------- outputs


def write_outputs(discovery: Discovery, exercises: Sequence[Exercise], out: Path) -> tuple[Path, ...]:
    """Write grades.csv, grades.json, summary.html and any missing report, from the gradebook.

    Only the submissions found this time are exported (a learner removed from the folder drops out).
    """
    from .render import csv as exports, summary

    current = {(s.learner, s.exercise) for s in discovery.submissions}
    with Gradebook(out / "gradebook.sqlite") as book:
        stored = [s for s in book.submissions() if (s.learner, s.exercise) in current]
    for s in stored:
        if not report_path(out, s.learner, s.exercise).exists():
            write_report(out, s.learner, s.result)
    files = {
        out / "grades.csv": exports.render_csv(stored, exercises),
        out / "grades.json": exports.render_json(stored, exercises),
        out / "summary.html": summary.render(summary.build(stored, exercises, discovery.unmatched)),
    }
    for path, text in files.items():
        _write_atomic(path, text)
    return tuple(files)


# ---------------------------------------------------------------- the command's one library call


@dataclasses.dataclass(frozen=True)
class BatchOutcome:
    """A whole ``grader batch`` run: what was found, how grading went, the files written."""

    discovery: Discovery
    run: BatchRun
    outputs: tuple[Path, ...]


def run_batch(submissions: Path, catalog: Path | None, options: BatchOptions,
              progress: ProgressHook | None = None, log: Callable[[str], None] = lambda m: None) -> BatchOutcome:
    """Discover, grade (resuming), and write every output; the library call behind ``grader batch``."""
    from .catalogue import find_catalogue, load_catalogue
    from .layouts import discover

    root, out = submissions.resolve(), options.out.resolve()
    if out == root or root in out.parents:
        raise UsageError(f"the output folder {options.out} must not be inside the submissions folder")
    exercises = load_catalogue(find_catalogue(catalog))
    found = discover(root, exercises)
    for u in found.unmatched[:20]:
        log(f"not graded: {printable(u.relpath)}: {u.reason}")
    if len(found.unmatched) > 20:
        log(f"... and {len(found.unmatched) - 20} more files not graded (all listed in summary.html)")
    if not found.submissions:
        raise UsageError(f"no submissions found in {submissions}: name files after an exercise "
                         f"({', '.join(e.name + e.submission_suffix for e in exercises)}) inside one folder per "
                         f"learner, or <learner>_<exercise> in one folder")
    log(f"layout: {found.layout}; {len(found.learners)} learners, {len(found.submissions)} submissions")
    run = grade_batch(found, {e.name: e for e in exercises}, dataclasses.replace(options, out=out), progress)
    outputs = () if run.interrupted else write_outputs(found, exercises, out)
    return BatchOutcome(found, run, outputs)


def summary_lines(outcome: BatchOutcome) -> list[str]:
    """What the command prints at the end."""
    run = outcome.run
    lines = [f"graded {run.graded}, already graded {run.skipped} (skipped), in {run.seconds:.1f} s"]
    lines += [f"problem: {printable(p, 200)}" for p in run.failed_to_record]
    if run.interrupted:
        lines.append("interrupted: everything graded so far is in the gradebook; run the same command to resume")
    for path in outcome.outputs:
        lines.append(f"wrote {path}")
    return lines
