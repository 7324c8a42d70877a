"""Grade a whole class: discover submissions, grade them in parallel, record them, write the outputs.

The parent process owns the SQLite gradebook and is its only writer: each
result is committed as soon as it arrives, so an interrupt (Ctrl-C, ``kill
-9``) loses at most the submissions in flight, and a rerun skips everything
already graded with the same content hash and grader version. Grading happens
in ``jobs`` long-lived worker processes (:mod:`grader.batch_worker`), fed a
few submissions at a time. If a worker process dies, the submissions it might
have been holding are graded again one by one in a fresh worker, so only the
one that kills its worker is charged for it.

Where the grading happens is behind one small seam, :class:`Executor`: the local
process pool here (:class:`LocalPool`), or a Dask cluster (``--scheduler``,
:mod:`grader.cluster`). Either way the results stream back to this process,
which records them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import multiprocessing
import os
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Protocol

from . import isolation
from .batch_worker import (
    VariantLearners,
    exercise_version,
    grade_one,
    init_worker,
    report_path,
    unreadable_result,
    write_atomic,
    write_report,
)
from .catalogue import Exercise
from .errors import UsageError
from .gradebook import Gradebook, ItemChange, now, result_from_json, result_to_json
from .layouts import Discovery, Submission
from .overrides import Override
from .render.text import printable
from .runtypes import Limits

ProgressHook = Callable[[int, int, str], None]
CLUSTER_HINT = ("--scheduler grades on a Dask cluster, which needs Dask's distributed package: "
                "pip install 'grader[cluster]'")
_Payload = tuple[str, str, str]


@dataclasses.dataclass(frozen=True)
class BatchOptions:
    """What ``grader batch`` was asked to do."""

    out: Path
    jobs: int
    regrade: bool = False
    limits: Limits = dataclasses.field(default_factory=Limits)
    #: targeted regrades: only these learners (every exercise) and these ``exercise.item`` s (every learner)
    regrade_learners: tuple[str, ...] = ()
    regrade_items: tuple[str, ...] = ()
    #: undo the manual overrides of the submissions this run covers (kept otherwise)
    drop_overrides: bool = False
    #: the key per-learner variants were released with (``--secret-file``); None: no variants graded
    variant_secret: bytes | None = None
    #: ``--roster``: variant files are graded on the numbers of the roster person each learner (folder) matches
    roster: Path | None = None

    @property
    def targeted(self) -> bool:
        """Whether only some learners or items are regraded."""
        return bool(self.regrade_learners or self.regrade_items)

    def only_items(self, sub: Submission) -> frozenset[str] | None:
        """The items of ``sub`` this run may change (None: all of them)."""
        if not self.targeted or sub.learner in self.regrade_learners:
            return None
        return frozenset(t.partition(".")[2] for t in self.regrade_items if t.partition(".")[0] == sub.exercise)

    @property
    def mode(self) -> tuple[str, str]:
        """What the run was asked, for the gradebook's ``runs`` row: (mode, targets)."""
        if self.targeted:
            kind = "+".join(k for k, v in (("regrade-learner", self.regrade_learners),
                                           ("regrade-item", self.regrade_items)) if v)
            return kind, " ".join((*self.regrade_learners, *self.regrade_items))
        return ("regrade" if self.regrade else "resume"), ""
    scheduler: str | None = None  # a Dask scheduler's address: grade on that cluster instead of the local pool


@dataclasses.dataclass(frozen=True)
class BatchRun:
    """How the grading part of a batch went (the grades are in the gradebook)."""

    graded: int
    skipped: int
    problems: tuple[str, ...]
    interrupted: bool
    seconds: float
    #: item grades this run changed (earlier grade -> new), in the order recorded
    changes: tuple[ItemChange, ...] = ()
    #: manual overrides in force after the run, and those ``--drop-overrides`` undid
    overrides: tuple[Override, ...] = ()
    dropped: tuple[Override, ...] = ()


def default_jobs() -> int:
    """The number of cores this process may use."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:
        return os.cpu_count() or 1


def check_targets(discovery: Discovery, exercises: dict[str, Exercise], options: BatchOptions) -> None:
    """Refuse a ``--regrade LEARNER`` or ``--regrade-item EXERCISE.ITEM`` that names nothing found."""
    learners = set(discovery.learners)
    unknown = [name for name in options.regrade_learners if name not in learners]
    if unknown:
        raise UsageError(f"--regrade {unknown[0]}: no such learner in this folder (learners: "
                         f"{', '.join(sorted(learners)[:10])}{', ...' if len(learners) > 10 else ''})")
    for target in options.regrade_items:
        name, dot, item = target.partition(".")
        ex = exercises.get(name)
        if not dot or ex is None:
            raise UsageError(f"--regrade-item {target}: write EXERCISE.ITEM with an exercise of the catalogue "
                             f"({', '.join(exercises)})")
        if item not in {it.name for it in ex.items}:
            raise UsageError(f"--regrade-item {target}: {name} has no item {item!r} (items: "
                             f"{', '.join(it.name for it in ex.items)})")


def plan(discovery: Discovery, version: Callable[[Submission], str], book: Gradebook,
         regrade: bool, options: BatchOptions | None = None) -> tuple[list[Submission], int]:
    """The submissions still to grade (new, changed, or graded by another version) and how many are skipped.

    With targeted regrades (``options``), exactly the targeted submissions, whatever the gradebook holds."""
    if options is not None and options.targeted:
        todo = [s for s in discovery.submissions if s.learner in options.regrade_learners or options.only_items(s)]
        return todo, len(discovery.submissions) - len(todo)
    if regrade:
        return list(discovery.submissions), 0
    done = book.graded_versions()
    todo = [s for s in discovery.submissions
            if done.get((s.learner, s.exercise)) != (s.sha256, version(s))]
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


class Executor(Protocol):
    """Where submissions are graded: the local process pool or a cluster.

    ``stream`` grades ``todo`` with at most ``jobs`` at a time (``jobs`` 1: alone, in a fresh worker) and
    yields each submission as it finishes, with its payload (result JSON, start time, report problem), or
    with None when the worker died or failed on it (a suspect, graded again alone). The report is written
    by the time a payload is yielded.
    """

    def slots(self, wanted: int) -> int:
        """How many submissions this executor grades at once, for a batch that asked for ``wanted``."""
        ...

    def stream(self, todo: Iterable[Submission], jobs: int) -> Iterator[tuple[Submission, _Payload | None]]:
        """Grade ``todo``, yielding each submission with its payload or None (see the class docstring)."""
        ...


class LocalPool:
    """Long-lived worker processes forked from this one, fed a few submissions at a time."""

    def __init__(self, exercises: dict[str, Exercise], options: BatchOptions, lock_fd: int | None,
                 learners: VariantLearners | None = None) -> None:
        self.exercises, self.options = exercises, options
        self.learners = learners or VariantLearners()  # variants are decided here, where the key is
        self.lock_fd = lock_fd  # the workers close their inherited copy: the lock is the parent's alone

    def slots(self, wanted: int) -> int:
        """The local pool grades as many at once as it was asked to."""
        return wanted

    def _pool(self, jobs: int) -> ProcessPoolExecutor:
        ctx = multiprocessing.get_context("fork")  # workers inherit the parent's sympy/numpy imports
        return ProcessPoolExecutor(jobs, mp_context=ctx, initializer=init_worker,
                                   initargs=(self.exercises, self.options.limits, self.options.out, os.getpid(),
                                             self.lock_fd))

    def stream(self, todo: Iterable[Submission], jobs: int) -> Iterator[tuple[Submission, _Payload | None]]:
        """Grade ``todo`` in a pool of ``jobs`` processes; a dead worker makes everything in flight a suspect."""
        queue: deque[Submission] = deque(todo)
        window: dict[Future[_Payload], Submission] = {}
        pool = self._pool(jobs)
        try:
            while queue or window:
                broken = False
                while queue and len(window) < 2 * jobs:
                    sub = queue[0]
                    try:
                        future = pool.submit(grade_one, sub.learner, sub.exercise, str(sub.path), sub.relpath,
                                             self.learners.decide(self.exercises[sub.exercise], sub.learner,
                                                                  sub.path))
                    except BrokenProcessPool:  # a worker died after the last results came in
                        broken = True
                        break
                    window[future] = queue.popleft()
                done, _ = wait(window, return_when=FIRST_COMPLETED) if not broken else (set(), set())
                for fut in done:
                    sub = window.pop(fut)
                    try:
                        payload = fut.result()
                    except BrokenProcessPool:
                        broken = True
                        yield sub, None
                    except (Exception, SystemExit):  # the worker failed on this file but lives on
                        yield sub, None
                    else:
                        yield sub, payload
                if broken:  # a worker died: the rest of the window is suspect too; carry on with a new pool
                    suspects = list(window.values())
                    window.clear()
                    pool.shutdown(wait=True, cancel_futures=True)
                    pool = self._pool(jobs)
                    for sub in suspects:
                        yield sub, None
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown(wait=True)


class _Scheduler:
    """Hands submissions to an executor and records each result as it arrives."""

    def __init__(self, book: Gradebook, exercises: dict[str, Exercise], version: Callable[[Submission], str],
                 options: BatchOptions, total: int, progress: ProgressHook | None, executor: Executor,
                 learners: VariantLearners | None = None) -> None:
        self.book, self.exercises, self.options = book, exercises, options
        self.executor = executor
        self.version = version
        self.learners = learners or VariantLearners()
        self.total, self.progress = total, progress
        self.graded = 0
        self.problems: list[str] = []
        self.run_id: int | None = None  # the gradebook's runs row, for the change history
        self.changes: list[ItemChange] = []
        self.twins: dict[tuple[str, str], list[Submission]] = {}

    def leaders(self, todo: Sequence[Submission]) -> list[Submission]:
        """One submission per distinct file content and exercise; the others wait to share its result."""
        seen: set[tuple[str, str]] = set()
        leaders = []
        for sub in todo:
            key = (sub.exercise, sub.sha256)
            if key in seen and not sub.sha256.startswith("too-large:") \
                    and not self.exercises[sub.exercise].parameters:  # variants: same bytes, other learner's grade
                self.twins.setdefault(key, []).append(sub)
            else:
                seen.add(key)
                leaders.append(sub)
        return leaders

    def _record(self, sub: Submission, payload: _Payload) -> None:
        text, began, problem = payload
        result = result_from_json(text)
        self.changes += self.book.record(sub.learner, sub.relpath, sub.sha256, self.version(sub), result,
                                         began, text, self.run_id, self.options.only_items(sub))
        why = self.learners.unmatched.get(sub.learner) if self.exercises[sub.exercise].parameters else None
        if why is not None:
            self.problems.append(f"{sub.relpath}: scored zero, no variant: the learner matches no single roster "
                                 f"person ({why})")
        self._count(sub, problem)
        for twin in self.twins.pop((sub.exercise, sub.sha256), []):  # same bytes, same exercise: same grade
            copy = dataclasses.replace(result, submission=twin.relpath)
            try:
                write_report(self.options.out, twin.learner, copy)
                problem = ""
            except OSError as exc:
                problem = f"report not written: {exc}"
            self.changes += self.book.record(twin.learner, twin.relpath, twin.sha256, self.version(twin),
                                             copy, began, None, self.run_id, self.options.only_items(twin))
            self._count(twin, problem)

    def _count(self, sub: Submission, problem: str) -> None:
        self.graded += 1
        if problem:
            self.problems.append(f"{sub.relpath}: {problem}")
        if self.progress:
            self.progress(self.graded, self.total, f"{sub.learner}/{sub.exercise}")

    def _charge(self, sub: Submission, why: str) -> None:
        """Record a zero for a submission that stopped its worker process twice."""
        ex = self.exercises[sub.exercise]
        result = unreadable_result(ex, sub.relpath, f"grading this file {why}; flagged for your instructor",
                                   diagnosis="crashed")
        try:
            write_report(self.options.out, sub.learner, result)
        except OSError as exc:
            self.problems.append(f"{sub.relpath}: report not written: {exc}")
        self._record(sub, (result_to_json(result), now(), ""))
        self.problems.append(f"{sub.relpath}: {why}")

    def run(self, todo: Iterable[Submission], jobs: int) -> list[Submission]:
        """Grade ``todo``; returns the submissions whose worker died or failed on them (the suspects)."""
        suspects: list[Submission] = []
        for sub, payload in self.executor.stream(todo, jobs):
            if payload is None:
                suspects.append(sub)
            else:
                self._record(sub, payload)
        return suspects

    def isolate(self, suspects: Sequence[Submission]) -> None:
        """Grade each suspect alone in a fresh worker; one that fails there too is charged for it."""
        for sub in suspects:
            if self.run([sub], 1):
                self._charge(sub, "stopped or broke the grader's worker process")


def _warm_up(exercises: Iterable[Exercise]) -> None:
    """Compile the report renderer's templates once, before forking the workers (the checkers are imported
    with :mod:`grader.checks`)."""
    from .render import html

    for ex in exercises:  # a failure here is left for the workers to meet (and report) on real results
        with contextlib.suppress(Exception):
            html.render(unreadable_result(ex, "warm-up", "warm-up"))


@contextlib.contextmanager
def _exclusive(out: Path) -> Iterator[int]:
    """Hold a lock on the output folder so two batches never grade into it at once (released even on kill -9).

    Yields the lock's file descriptor: forked workers inherit it and must close it (a ``flock`` lasts
    as long as any copy of the descriptor is open), so the lock dies with this process alone.
    """
    with open(out / ".batch.lock", "a") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise UsageError(f"another grader batch is writing to {out}; wait for it to finish") from None
        yield fh.fileno()


@contextlib.contextmanager
def _executor(exercises: dict[str, Exercise], options: BatchOptions, lock_fd: int,
              log: Callable[[str], None], learners: VariantLearners) -> Iterator[Executor]:
    """The local pool, or the Dask cluster at ``options.scheduler`` (connected, its workers checked)."""
    if options.scheduler is None:
        yield LocalPool(exercises, options, lock_fd, learners)
        return
    try:
        from .cluster import DaskExecutor
    except ModuleNotFoundError as exc:
        if exc.name not in ("dask", "distributed"):
            raise
        raise UsageError(CLUSTER_HINT) from None
    with DaskExecutor(options.scheduler, exercises, options, log, learners=learners) as executor:
        yield executor


def grade_batch(discovery: Discovery, exercises: dict[str, Exercise], options: BatchOptions,
                progress: ProgressHook | None = None, log: Callable[[str], None] = lambda m: None,
                learners: VariantLearners | None = None) -> BatchRun:
    """Grade what ``discovery`` found into ``options.out`` (gradebook and reports), resuming earlier runs;
    variant files on the numbers ``learners`` names (default: each learner's own name)."""
    started = time.monotonic()
    # decided once, here: a sandbox that cannot be had is the instructor's error (exit 2), never a zero per file
    limits = dataclasses.replace(options.limits, sandbox=isolation.resolve_mode(options.limits.sandbox))
    options = dataclasses.replace(options, limits=limits)
    options.out.mkdir(parents=True, exist_ok=True)
    used = {s.exercise: exercises[s.exercise] for s in discovery.submissions}
    check_targets(discovery, exercises, options)
    learners = learners or VariantLearners()
    interrupted = True  # until the run ends normally: a run cut short by anything is recorded as interrupted
    with _exclusive(options.out) as lock_fd, Gradebook(options.out / "gradebook.sqlite") as book, \
            _executor(used, options, lock_fd, log, learners) as executor:
        versions = {name: exercise_version(ex) for name, ex in used.items()}  # hashes each file once

        def version(sub: Submission) -> str:  # a variant's also says whose numbers, when a roster changed them
            mark = learners.mark(sub.learner) if used[sub.exercise].parameters else ""
            return versions[sub.exercise] + mark

        todo, skipped = plan(discovery, version, book, options.regrade, options)
        run_id = book.start_run(options.jobs, len(todo), skipped, *options.mode)
        dropped = _drop_overrides(book, discovery, todo, options, run_id)
        sched = _Scheduler(book, used, version, options, len(todo), progress, executor, learners)
        sched.run_id = run_id
        try:
            if todo:
                _warm_up(used.values())
                leaders = sched.leaders(todo)
                sched.isolate(sched.run(leaders, max(1, min(executor.slots(options.jobs), len(leaders)))))
            interrupted = False
        except KeyboardInterrupt:
            _stop_workers()
        except BaseException:  # e.g. the reader closed our output: record the run, then let it propagate
            _stop_workers()
            book.finish_run(run_id, sched.graded, interrupted)
            raise
        book.finish_run(run_id, sched.graded, interrupted)
        kept = tuple(book.overrides())
    return BatchRun(sched.graded, skipped, tuple(sched.problems), interrupted, time.monotonic() - started,
                    tuple(sched.changes), kept, tuple(dropped))


def _drop_overrides(book: Gradebook, discovery: Discovery, todo: Sequence[Submission], options: BatchOptions,
                    run_id: int) -> list[Override]:
    """With ``--drop-overrides``: undo the overrides of the submissions this run covers (the targeted ones, or
    every submission found); they stay in the history, marked undone by this run."""
    if not options.drop_overrides:
        return []
    covered = todo if options.targeted else discovery.submissions
    return book.drop_overrides({(s.learner, s.exercise) for s in covered},
                               by=f"grader batch --drop-overrides (run {run_id})")


def write_outputs(discovery: Discovery, exercises: Sequence[Exercise], out: Path,
                  refresh: frozenset[tuple[str, str]] = frozenset()) -> tuple[Path, ...]:
    """Write grades.csv, grades.json, summary.html and any missing report, from the gradebook.

    Only the submissions found this time are exported (a learner removed from the folder drops out).
    Manual overrides are applied (and marked) everywhere; the reports of ``refresh`` (learner, exercise)
    pairs and of every submission with an override, in force or undone, are written again.
    """
    from .overrides import apply
    from .render import csv as exports
    from .render import summary

    current = {(s.learner, s.exercise) for s in discovery.submissions}
    with _exclusive(out):
        with Gradebook(out / "gradebook.sqlite") as book:
            every = book.overrides(include_undone=True)
            stored = [dataclasses.replace(s, result=apply(s.result, [o for o in every if o.learner == s.learner]))
                      for s in book.submissions() if (s.learner, s.exercise) in current]
        touched = refresh | {(o.learner, o.exercise) for o in every}
        for s in stored:
            if (s.learner, s.exercise) in touched or not report_path(out, s.learner, s.exercise).exists():
                write_report(out, s.learner, s.result)
        files = {
            out / "grades.csv": exports.render_csv(stored, exercises),
            out / "grades.json": exports.render_json(stored, exercises),
            out / "summary.html": summary.render(summary.build(stored, exercises, discovery.unmatched)),
        }
        for path, text in files.items():
            write_atomic(path, text)
    return tuple(files)


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
    exercises = tuple(dataclasses.replace(e, secret=options.variant_secret) if e.parameters else e
                      for e in load_catalogue(find_catalogue(catalog)))
    found = discover(root, exercises)
    for u in found.unmatched[:20]:
        log(f"not graded: {printable(u.relpath, 80)}: {u.reason}")
    if len(found.unmatched) > 20:
        log(f"... and {len(found.unmatched) - 20} more files not graded (all listed in summary.html)")
    if not found.submissions:
        raise UsageError(f"no submissions found in {submissions}: name files after an exercise "
                         f"({', '.join(e.name + e.submission_suffix for e in exercises)}) inside one folder per "
                         f"learner, or <learner>_<exercise> in one folder")
    varying = sorted({s.exercise for s in found.submissions} & {e.name for e in exercises if e.parameters})
    if varying and options.variant_secret is None:
        raise UsageError(f"exercise {varying[0]} has per-learner variants: pass --secret-file KEY (the file "
                         f"grader release --roster used)")
    log(f"layout: {found.layout}; {len(found.learners)} learners, {len(found.submissions)} submissions")
    learners = _variant_learners(found, varying, options.roster, log)
    run = grade_batch(found, {e.name: e for e in exercises}, dataclasses.replace(options, out=out), progress, log,
                      learners)
    # a one-item regrade's worker wrote the whole new result: its report is written again from the merged grade
    refresh = frozenset((s.learner, s.exercise) for s in found.submissions if options.only_items(s))
    outputs = () if run.interrupted else write_outputs(found, exercises, out, refresh)
    return BatchOutcome(found, run, outputs)


def _variant_learners(found: Discovery, varying: Sequence[str], roster: Path | None,
                      log: Callable[[str], None]) -> VariantLearners:
    """With ``--roster``: each learner's roster id, for the variant exercises; a learner matching no single
    person is logged (their variant items will score zero)."""
    if roster is None:
        return VariantLearners()
    if not varying:
        log(f"--roster {roster}: no exercise found here has per-learner variants, so the roster is not used")
        return VariantLearners()
    from .lms.files import read_roster
    from .roster import map_learners
    from .variants import check_roster_ids

    people = read_roster(roster)
    check_roster_ids([(p.id, p.line) for p in people], str(roster))
    with_variants = sorted({s.learner for s in found.submissions if s.exercise in varying})
    ids: dict[str, str] = {}
    unmatched: dict[str, str] = {}
    for match in map_learners(with_variants, people):
        if match.person is None:
            unmatched[match.learner] = match.how
            log(f"variants: {printable(match.learner, 80)} matches no single person of {roster.name} ({match.how}); "
                f"their variant items score zero")
        else:
            ids[match.learner] = match.person.id
    log(f"variants: {len(ids)} of {len(with_variants)} learners matched to {roster.name}")
    return VariantLearners(ids, unmatched)
