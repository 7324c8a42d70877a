"""Batch grading on a Dask cluster (``grader batch --scheduler tcp://HOST:8786``): both sides of it.

The coordinating machine (this process) keeps the gradebook and the output
folder; each Dask worker grades with its own fork-server sandboxes, set up once
per worker by :class:`GraderPlugin`, never per task. What travels:

- the catalogue, once per worker, inside the plugin, as a :class:`CatalogueCopy`
  named by the SHA-256 of its files; every task names the digest it must be
  graded with, so a worker holding another copy (an older catalogue, another
  batch's) never grades with it;
- each submission's bytes with its task (a worker need not see the coordinator's
  files); the result comes back as JSON with its rendered HTML report, and the
  coordinator writes both, as it does for the local pool;
- for an exercise with per-learner variants, the instance to grade on: the
  coordinator reads the file's id line and decides with the key
  (:class:`grader.batch_worker.VariantLearners`), and the task carries only the decision
  (the parameter values, and why the file scores zero when it does). The key
  never leaves this machine: the workers' catalogue has none, and a batch whose
  catalogue files hold it is refused.

A task grades a few submissions, not one: a Dask task costs about 10 ms of CPU
between client, scheduler and worker (measured on a 2-core machine), a tenth of
grading one submission, so each task carries up to :data:`MAX_CHUNK` of them
while many are waiting, and fewer towards the end so that no worker is left
with a long last task while the others idle.

Faults: a worker that dies mid-task has its tasks retried elsewhere by Dask;
after ``distributed.scheduler.allowed-failures`` deaths Dask gives up on a task
(``KilledWorker``) and the batch grades it again alone: if it kills a worker
there too, it is charged as the culprit (:mod:`grader.batch`). Losing the
scheduler stops the batch with :class:`ClusterLost` (what was recorded is kept;
the same command resumes). A worker with another grader version, or without
the sandbox the batch uses, is refused when it connects: the coordinator says
why and the worker shuts down.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import dataclasses
import hashlib
import logging
import os
import queue
import shutil
import tempfile
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import distributed
from distributed import Client, KilledWorker, Reschedule, WorkerPlugin

import grader

from . import isolation
from .batch_worker import VariantLearners, grade_path, make_runner, report_path, write_atomic
from .catalogue import Exercise, load_catalogue
from .checks import Runner
from .errors import EXIT_INTERRUPTED, GraderError, UsageError
from .gradebook import now, result_to_json
from .grading import MAX_SUBMISSION_BYTES
from .layouts import Submission
from .runtypes import Limits
from .variants import VariantDecision

_Payload = tuple[str, str, str]
_Remote = tuple[str, str, str, str]  # result JSON, start time, HTML report ('' if it failed), report problem
#: exercise, file name, the file's bytes, its path as the batch names it, and for a variant exercise the
#: instance it is graded on (decided here: the key never travels)
_Job = tuple[str, str, bytes, str, VariantDecision | None]
MAX_CHUNK = 8  # submissions per Dask task while many wait: the task's own cost is then ~1% of grading them
KEPT_CATALOGUES = 8  # catalogue copies a worker keeps unpacked for the batches it serves
WORKER_CHECK_SECONDS = 1.0  # how often the coordinator asks the scheduler whether any worker is left
logger = logging.getLogger("grader.cluster")


class ClusterLost(GraderError):
    """The connection to the Dask scheduler was lost mid-batch: every result received is recorded; the same
    command resumes (exit status 130, as for an interrupted batch)."""

    exit_code = EXIT_INTERRUPTED


class WorkerRefused(GraderError):
    """A Dask worker cannot grade for this batch (another grader version, no sandbox, unreadable catalogue)."""


@dataclasses.dataclass(frozen=True)
class CatalogueCopy:
    """A catalogue's files (``exercises/`` and ``solutions/``), named by the SHA-256 of their paths and bytes."""

    digest: str
    files: tuple[tuple[str, bytes], ...]

    @staticmethod
    def _digest(files: Iterable[tuple[str, bytes]]) -> str:
        sha = hashlib.sha256()
        for rel, data in sorted(files):
            sha.update(f"{rel}\0{len(data)}\0".encode())
            sha.update(data)
        return sha.hexdigest()

    @classmethod
    def of(cls, root: Path) -> CatalogueCopy:
        """Every regular file of the catalogue at ``root`` (hidden entries and ``__pycache__`` left out)."""
        files = []
        for folder in ("exercises", "solutions"):
            for path in sorted((root / folder).rglob("*")):
                rel = path.relative_to(root)
                if path.is_file() and not any(p.startswith(".") or p == "__pycache__" for p in rel.parts):
                    files.append((rel.as_posix(), path.read_bytes()))
        return cls(cls._digest(files), tuple(files))

    def unpack(self, into: Path) -> dict[str, Exercise]:
        """Write the files under ``into/<digest>`` and load them; WorkerRefused if they do not match the digest."""
        if self._digest(self.files) != self.digest:
            raise WorkerRefused(f"the catalogue copy does not match its digest {self.digest[:12]}")
        root = into / f"catalogue-{self.digest[:16]}"
        if not root.is_dir():
            staging = Path(tempfile.mkdtemp(prefix=".catalogue-", dir=into))
            for rel, data in self.files:
                target = staging / rel
                if ".." in Path(rel).parts:
                    raise WorkerRefused(f"the catalogue copy names a file outside itself: {rel!r}")
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
            try:
                os.rename(staging, root)
            except OSError:  # another plugin of this worker unpacked it first
                shutil.rmtree(staging, ignore_errors=True)
        return {e.name: e for e in load_catalogue(root)}


def catalogue_root(exercises: Iterable[Exercise]) -> Path:
    """The catalogue directory the exercises were loaded from (``exercises/`` and ``solutions/`` inside)."""
    roots = {ex.solution.parent.parent for ex in exercises}
    if len(roots) != 1:
        raise UsageError("the exercises of one batch must come from one catalogue")
    return roots.pop()


# ---------------------------------------------------------------- worker side


@dataclasses.dataclass
class _Sandbox:
    """One fork-server sandbox of a worker, used by one task at a time."""

    limits: Limits
    runner: Runner | None
    close: Callable[[], None]


class _WorkerState:
    """What a Dask worker process keeps from task to task and batch to batch: its sandboxes (at most one per
    grading thread in use, the idle ones kept for the next task) and the catalogue copies it has unpacked."""

    def __init__(self, scratch: Path, threads: int) -> None:
        self.scratch = scratch
        self.keep = max(2, threads)  # idle sandboxes kept: one per thread of this worker, at least two
        self.lock = threading.Lock()
        self.closed = False
        self.idle: list[_Sandbox] = []
        self.catalogues: dict[str, dict[str, Exercise]] = {}

    def warm(self, limits: Limits) -> None:
        """Start a sandbox for ``limits`` now unless one is idle, so the first task need not wait for it."""
        with self.lock:
            if any(box.limits == limits for box in self.idle):
                return
        self._put_back(_Sandbox(limits, *make_runner(limits)))

    @contextlib.contextmanager
    def sandbox(self, limits: Limits) -> Iterator[_Sandbox]:
        """An idle sandbox for ``limits`` (started if there is none), this task's alone until it returns."""
        with self.lock:
            box = next((b for b in reversed(self.idle) if b.limits == limits), None)
            if box is not None:
                self.idle.remove(box)
        if box is None:
            box = _Sandbox(limits, *make_runner(limits))
        try:
            yield box
        finally:
            self._put_back(box)

    def _put_back(self, box: _Sandbox) -> None:
        with self.lock:
            self.idle.append(box)
            surplus, self.idle = self.idle[:-self.keep], self.idle[-self.keep:]
            if self.closed:  # a task that ran on while the worker closed: its sandbox goes too
                surplus, self.idle = surplus + self.idle, []
        for old in surplus:  # the least recently used, under limits no task asked for lately
            old.close()

    def exercises(self, copy: CatalogueCopy) -> dict[str, Exercise]:
        """The exercises of ``copy``, unpacked on first use; the least recently used copy beyond
        :data:`KEPT_CATALOGUES` is forgotten (a task that needs it again unpacks it again)."""
        with self.lock:
            found = self.catalogues.pop(copy.digest, None)
            if found is not None:
                self.catalogues[copy.digest] = found
                return found
        found = copy.unpack(self.scratch)
        forgotten = []
        with self.lock:
            self.catalogues[copy.digest] = found
            while len(self.catalogues) > KEPT_CATALOGUES:
                oldest = next(iter(self.catalogues))
                del self.catalogues[oldest]
                forgotten.append(oldest)
        for digest in forgotten:  # grading never reads these files: the exercises are loaded in memory
            shutil.rmtree(self.scratch / f"catalogue-{digest[:16]}", ignore_errors=True)
        return found

    def close(self) -> None:
        """Stop every sandbox and remove the scratch folder (the worker is closing)."""
        with self.lock:
            boxes, self.idle, self.closed = self.idle, [], True
        for box in boxes:
            box.close()
        shutil.rmtree(self.scratch, ignore_errors=True)


_STATE: _WorkerState | None = None  # one per Dask worker process, made by the first GraderPlugin set up there
_STATE_LOCK = threading.Lock()


def _worker_state(worker: Any) -> _WorkerState:
    """This worker process's state, made on first use."""
    global _STATE  # noqa: PLW0603 - one per worker process, shared by every batch it serves
    with _STATE_LOCK:
        if _STATE is None:
            scratch = Path(tempfile.mkdtemp(prefix="grader-", dir=getattr(worker, "local_directory", None)))
            threads = getattr(getattr(worker, "state", None), "nthreads", None) or getattr(worker, "nthreads", 1)
            _STATE = _WorkerState(scratch, int(threads or 1))
        return _STATE


def check_worker(version: str, sandbox: str) -> str:
    """Why this worker cannot grade for a batch of grader ``version`` in ``sandbox`` mode ('' when it can)."""
    mine = grader.__version__
    if mine != version:
        return f"it runs grader {mine}, this batch needs grader {version} (install the same version everywhere)"
    try:
        isolation.resolve_mode(sandbox)
    except UsageError as exc:
        return f"the {sandbox} sandbox is missing there: {exc}"
    return ""


class GraderPlugin(WorkerPlugin):
    """Set up once per Dask worker: check it, start a fork-server sandbox, unpack the catalogue copy."""

    def __init__(self, version: str, limits: Limits, catalogue: CatalogueCopy, name: str) -> None:
        self.version, self.limits, self.catalogue, self.name = version, limits, catalogue, name
        self.ready = False  # set on the worker's own copy once it has been accepted

    def setup(self, worker: Any) -> None:
        """Refuse (and shut down) a worker that cannot grade alike; otherwise make it ready to grade."""
        why = check_worker(self.version, self.limits.sandbox)
        if why:
            logger.error("grader: this worker is refused: %s", why)
            _shut_down(worker, why)
            raise WorkerRefused(why)
        _stop_profiler(worker)
        try:
            state = _worker_state(worker)
            state.exercises(self.catalogue)
            state.warm(self.limits)
        except Exception as exc:  # a full disk, an unwritable directory, an unreadable catalogue...
            why = f"it cannot be set up for this batch: {type(exc).__name__}: {exc}"
            logger.error("grader: this worker is refused: %s", why)
            _shut_down(worker, why)
            raise WorkerRefused(why) from None
        self.ready = True

    def teardown(self, worker: Any) -> None:
        """Stop this worker's sandboxes when the worker closes; a plugin replaced by the next batch's keeps
        them (and the catalogues unpacked so far), so a worker pays its sandbox's start once."""
        global _STATE  # see _worker_state
        closing = str(getattr(worker, "status", "")).rpartition(".")[2] in ("closing", "closed",
                                                                            "closing_gracefully", "failed")
        with _STATE_LOCK:
            state, _STATE = (_STATE, None) if closing else (None, _STATE)
        if state is not None:
            state.close()


_PLUGIN_PREFIX = "grader-"


def _plugin_name(digest: str, client_id: str) -> str:
    """A batch's plugin name: its catalogue, and the connection it lives as long as (see _stale_plugins)."""
    return f"{_PLUGIN_PREFIX}{digest[:16]}@{client_id}"


def _stale_plugins(dask_scheduler: Any) -> list[str]:
    """Run on the scheduler: the grader plugins whose coordinator is no longer connected."""
    live = set(dask_scheduler.clients)
    return [name for name in dask_scheduler.worker_plugins
            if name.startswith(_PLUGIN_PREFIX) and "@" in name and name.rpartition("@")[2] not in live]


def dask_setup(worker: Any) -> None:
    """``dask worker --preload grader.cluster``: import the grading code and compile the report templates when
    the worker starts, so its first batch does not wait for them (the rest is set up by :class:`GraderPlugin`)."""
    from . import checks  # noqa: F401 - imports every checker and the symbolic engine
    from .render import html

    _stop_profiler(worker)
    html.environment()


def _stop_profiler(worker: Any) -> None:
    """Stop the worker's statistical profiler: sampling the grading thread's stack every 10 ms slowed grading
    by about 5% on a 2-core machine, and the profile of a grading worker serves nobody. The callbacks are
    removed too, so a worker set up before it starts them (a late joiner, a restarted one) never starts them."""
    callbacks = getattr(worker, "periodic_callbacks", None)
    for name in ("profile", "profile-cycle"):
        callback = callbacks.pop(name, None) if isinstance(callbacks, dict) else None
        if callback is not None:
            if callback.is_running():
                callback.stop()
            logger.info("grader: stopped this worker's %s callback", name)


def _shut_down(worker: Any, why: str) -> None:
    """Close a refused worker (and its nanny) soon, once the refusal has been answered."""
    with contextlib.suppress(RuntimeError):  # no running loop: not inside a real worker
        loop = asyncio.get_running_loop()
        loop.call_later(0.5, lambda: asyncio.ensure_future(worker.close(nanny=True, reason=f"grader: {why}")))


def grade_submission(ex: Exercise, name: str, data: bytes, relpath: str, box: _Sandbox, scratch: Path,
                     decision: VariantDecision | None = None) -> _Remote:
    """Grade one submission's bytes in ``box`` (a variant exercise on ``decision``'s instance); the result and
    its rendered report."""
    from .render import html

    began = now()
    folder = Path(tempfile.mkdtemp(dir=scratch))
    try:
        path = folder / name
        path.write_bytes(data)
        result = grade_path(ex, str(path), relpath, box.limits, box.runner, decision=decision)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    try:
        page, problem = html.render(result), ""
    except Exception as exc:
        page, problem = "", f"report not written: {type(exc).__name__}: {exc}"
    return result_to_json(result), began, page, problem


def _ready_plugin(name: str) -> GraderPlugin | None:
    """This worker's plugin ``name`` if it was set up and accepted here (None: refused, or never set up)."""
    try:
        worker = distributed.get_worker()
    except ValueError:  # not inside a Dask worker
        return None
    plugin = worker.plugins.get(name)
    return plugin if isinstance(plugin, GraderPlugin) and plugin.ready else None


def grade_task(name: str, jobs: list[_Job]) -> list[_Remote | str]:
    """The Dask task: grade each job with the catalogue and limits of the batch's plugin ``name`` (or send the
    task elsewhere if that plugin was not accepted here); a job the grader failed on comes back as the
    failure's text, and the others are kept."""
    plugin = _ready_plugin(name)
    st = _STATE
    if plugin is None or st is None:  # a refused worker, or one that joined without the batch's plugin
        raise Reschedule()
    exercises = st.exercises(plugin.catalogue)
    done: list[_Remote | str] = []
    with st.sandbox(plugin.limits) as box:
        for exercise, file_name, data, relpath, decision in jobs:
            try:
                done.append(grade_submission(exercises[exercise], file_name, data, relpath, box, st.scratch,
                                             decision))
            except Exception as exc:
                done.append(f"{type(exc).__name__}: {exc}")
    return done


# ---------------------------------------------------------------- coordinator side


class DaskExecutor:
    """Grades a batch's submissions on the Dask cluster at ``address`` (see :class:`grader.batch.Executor`)."""

    def __init__(self, address: str, exercises: dict[str, Exercise], options: Any,
                 log: Callable[[str], None], wait_seconds: float | None = None, lost_seconds: float = 10.0,
                 learners: VariantLearners | None = None) -> None:
        self.address, self.exercises, self.log = address, exercises, log
        self.learners = learners or VariantLearners()  # variants are decided here: the key stays on this machine
        self.limits: Limits = options.limits
        self.out: Path = options.out
        self.wait_seconds = wait_seconds if wait_seconds is not None else float(
            os.environ.get("GRADER_CLUSTER_WAIT", "60"))
        self.lost_seconds = lost_seconds
        self.client: Client | None = None
        self.threads = 0
        self.copy = CatalogueCopy.of(catalogue_root(exercises.values()))
        self.plugin = ""  # this batch's worker plugin, named after the connection (see _plugin_name)
        keys = {ex.secret for ex in exercises.values() if ex.secret}
        if getattr(options, "variant_secret", None):  # also when this batch holds no variant submission
            keys.add(options.variant_secret)
        for rel, data in self.copy.files:
            if any(key in data for key in keys):
                raise UsageError(f"the variant key is in the catalogue ({rel}), which is sent to every Dask "
                                 f"worker: keep the key file outside exercises/ and solutions/")

    def __enter__(self) -> DaskExecutor:
        try:
            self.client = Client(self.address, timeout=self.wait_seconds, set_as_default=False)
        except (OSError, TimeoutError, ValueError) as exc:
            raise UsageError(f"cannot reach the Dask scheduler at {self.address}: {exc}") from None
        self.plugin = _plugin_name(self.copy.digest, self.client.id)
        try:
            self._forget_stale_plugins(self.client)
            self._connect_workers(self.client)
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        if self.client is not None:
            if self.client.status == "running":  # the workers keep their sandboxes; the plugin goes
                with contextlib.suppress(Exception):
                    self.client.unregister_worker_plugin(self.plugin)
            with contextlib.suppress(Exception):
                self.client.close(timeout=5)
            self.client = None

    def _forget_stale_plugins(self, client: Client) -> None:
        """Take away the plugins of batches whose coordinator is gone (killed, or cut off from the scheduler):
        the scheduler would otherwise set each of them up on every worker that joins, and an old grader
        version's plugin would refuse them all."""
        try:
            stale = client.run_on_scheduler(_stale_plugins)
        except Exception as exc:  # a scheduler that runs no functions of ours: nothing to tidy
            self.log(f"cluster: could not list the scheduler's worker plugins: {type(exc).__name__}: {exc}")
            return
        for name in stale:
            with contextlib.suppress(Exception):
                client.unregister_worker_plugin(name)
        if stale:
            self.log(f"cluster: removed {len(stale)} worker plugin(s) left by batches that ended without them")

    def _connect_workers(self, client: Client) -> None:
        """Check every connected worker, refuse the ones that cannot grade alike, set up the others."""
        try:
            client.wait_for_workers(1, timeout=self.wait_seconds)
        except (TimeoutError, OSError):
            raise UsageError(f"no Dask worker joined the scheduler at {self.address} within {self.wait_seconds:g} s; "
                             f"start some with: dask worker {self.address}") from None
        answers = client.run(check_worker, grader.__version__, self.limits.sandbox, on_error="return")
        refused = {addr: (why if isinstance(why, str) else f"{type(why).__name__}: {why}")
                   for addr, why in answers.items() if why}
        for addr, why in sorted(refused.items()):
            self.log(f"refused Dask worker {addr}: {why}")
        with contextlib.suppress(WorkerRefused):  # raised for a worker refused above: it shuts itself down
            client.register_plugin(GraderPlugin(grader.__version__, self.limits, self.copy, self.plugin))
        workers = client.scheduler_info(n_workers=-1)["workers"]
        self.threads = sum(w.get("nthreads", 1) for addr, w in workers.items() if addr not in refused)
        if not self.threads:
            raise UsageError(f"no usable Dask worker at {self.address}: every worker was refused")
        self.log(f"cluster: {self.address}, {len(workers) - len(refused)} workers, {self.threads} threads")

    def slots(self, wanted: int) -> int:
        """The cluster grades as many at once as its accepted workers have threads (``--jobs`` is not used)."""
        return self.threads

    def _here(self, sub: Submission) -> _Payload:
        """Grade a file too large or unreadable on this machine (it is refused before any learner code runs)."""
        ex = self.exercises[sub.exercise]
        result = grade_path(ex, str(sub.path), sub.relpath, self.limits, None, sub.learner,
                            self.learners.decide(ex, sub.learner, sub.path))
        return self._deliver(sub, (result_to_json(result), now(), _render(result), ""))

    def _deliver(self, sub: Submission, remote: _Remote) -> _Payload:
        """Write the report the worker rendered; the payload the gradebook records."""
        text, began, page, problem = remote
        if page:
            try:
                write_atomic(report_path(self.out, sub.learner, sub.exercise), page)
            except OSError as exc:
                problem = f"report not written: {exc}"
        return text, began, problem

    def _submit(self, client: Client, jobs: list[_Job]) -> distributed.Future:
        return client.submit(grade_task, self.plugin, jobs, key=f"grade-{uuid.uuid4().hex}", pure=False)

    def _take(self, waiting: deque[Submission], jobs: int) -> tuple[list[tuple[Submission, _Job]],
                                                                   list[tuple[Submission, _Payload]]]:
        """The next task's submissions, taken from ``waiting``: up to MAX_CHUNK while many wait, tapering to one
        at the end; and those met on the way that are graded here (too large, gone since discovery, or a variant
        that cannot be decided: each is refused before any learner code runs)."""
        size = max(1, min(MAX_CHUNK, len(waiting) // (4 * jobs)))
        chunk: list[tuple[Submission, _Job]] = []
        here: list[tuple[Submission, _Payload]] = []
        while waiting and len(chunk) < size:
            sub = waiting.popleft()
            try:
                if sub.path.stat().st_size <= MAX_SUBMISSION_BYTES:
                    data = sub.path.read_bytes()
                    decision = self.learners.decide(self.exercises[sub.exercise], sub.learner, sub.path, data)
                    if decision is not None or not self.exercises[sub.exercise].parameters:
                        chunk.append((sub, (sub.exercise, sub.path.name, data, sub.relpath, decision)))
                        continue
            except OSError:  # gone or unreadable since discovery
                pass
            here.append((sub, self._here(sub)))
        return chunk, here

    def _starved(self, client: Client, since: float | None) -> float | None:
        """When the cluster was left without a worker (None while it has one); ClusterLost once none came back
        within the wait: a batch never waits forever for workers that are gone or were all refused."""
        if client.status != "running":
            return since  # the scheduler itself is gone: _lost says so
        try:
            workers = client.scheduler_info(n_workers=-1)["workers"]
        except Exception:
            return since
        if workers:
            return None
        since = since or time.monotonic()
        if time.monotonic() - since > self.wait_seconds:
            raise ClusterLost(f"no Dask worker has been connected to {self.address} for {self.wait_seconds:g} s; "
                              f"every result received is in the gradebook: start workers "
                              f"(dask worker {self.address}) and run the same command again to resume")
        return since

    def _lost(self, client: Client, since: float | None, now_lost: bool = False) -> float | None:
        """When the scheduler connection went away (None while it is up); ClusterLost once it stayed away."""
        if client.status == "running":
            return None
        since = since or time.monotonic()
        if now_lost or client.status in ("closed", "closing") or time.monotonic() - since > self.lost_seconds:
            raise ClusterLost(f"lost the Dask scheduler at {self.address}; every result received is in the "
                              f"gradebook: run the same command again to resume")
        return since

    def _outcome(self, fut: distributed.Future) -> tuple[str, Any]:
        """What a future that called back has become: ("done", results), ("failed", exception), ("forgotten",
        None) when the scheduler cancelled it, or ("pending", None) when its result was lost with a worker
        after it finished (Dask computes it again) or could not be fetched in time."""
        if fut.status == "cancelled":
            return "forgotten", None
        if fut.status == "error":
            return "failed", fut.exception()
        try:
            return "done", fut.result(timeout=self.lost_seconds)
        except (Exception, asyncio.CancelledError) as exc:
            if fut.status == "cancelled" or isinstance(exc, (asyncio.CancelledError,
                                                             concurrent.futures.CancelledError)):
                return "forgotten", None
            if fut.status == "error" or not isinstance(exc, TimeoutError):
                return "failed", exc
            return "pending", None

    def stream(self, todo: Iterable[Submission], jobs: int) -> Iterator[tuple[Submission, _Payload | None]]:
        """Grade ``todo`` with at most ``2 * jobs`` tasks queued; a task Dask gave up on makes each of its
        submissions a suspect (graded again alone)."""
        client = self.client
        assert client is not None
        waiting: deque[Submission] = deque(todo)
        window: dict[distributed.Future, list[Submission]] = {}
        finished: queue.SimpleQueue[distributed.Future] = queue.SimpleQueue()  # filled by the client's thread
        down: float | None = None
        starved: float | None = None
        checked = time.monotonic()
        try:
            while waiting or window:
                while waiting and len(window) < 2 * jobs:
                    chunk, here = self._take(waiting, jobs)
                    yield from here
                    if chunk:
                        future = self._submit(client, [job for _, job in chunk])
                        window[future] = [sub for sub, _ in chunk]
                        future.add_done_callback(finished.put)
                if not window:
                    continue
                done = []
                with contextlib.suppress(queue.Empty):
                    done.append(finished.get(timeout=1))
                    while True:
                        done.append(finished.get_nowait())
                down = self._lost(client, down)
                if not done or time.monotonic() - checked > WORKER_CHECK_SECONDS:
                    starved, checked = self._starved(client, starved), time.monotonic()
                for fut in done:
                    subs = window.pop(fut)
                    state, got = self._outcome(fut)
                    if state == "forgotten":  # the scheduler forgot it: lost, or send it again
                        self._lost(client, down, now_lost=True)
                        waiting.extendleft(reversed(subs))
                    elif state == "pending":  # its result went with a worker: Dask computes it again
                        window[fut] = subs
                        fut.add_done_callback(finished.put)
                    elif state == "failed":  # Dask gave up on the task (KilledWorker), or the task failed
                        for sub in subs:
                            if not isinstance(got, KilledWorker):
                                self.log(f"{sub.relpath}: a Dask worker failed on it: {type(got).__name__}: {got}")
                            yield sub, None
                    else:
                        for sub, remote in zip(subs, got, strict=True):
                            if isinstance(remote, str):
                                self.log(f"{sub.relpath}: a Dask worker failed on it: {remote}")
                                yield sub, None
                            else:
                                yield sub, self._deliver(sub, remote)
        finally:
            for fut in window:
                fut.cancel()


def _render(result: Any) -> str:
    from .render import html

    try:
        return html.render(result)
    except Exception:
        return ""
