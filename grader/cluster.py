"""Batch grading on a Dask cluster (``grader batch --scheduler tcp://HOST:8786``): both sides of it.

The coordinating machine (this process) keeps the gradebook and the output
folder; each Dask worker grades with its own fork-server sandbox, set up once
per worker by :class:`GraderPlugin`, never per task. What travels:

- the catalogue, once per worker, inside the plugin, as a :class:`CatalogueCopy`
  named by the SHA-256 of its files; every task names the digest it must be
  graded with, so a worker holding another copy (an older catalogue, another
  batch's) never grades with it;
- each submission's bytes with its task (a worker need not see the coordinator's
  files); the result comes back as JSON with its rendered HTML report, and the
  coordinator writes both, as it does for the local pool.

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
import contextlib
import dataclasses
import hashlib
import logging
import os
import queue
import shutil
import tempfile
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
from .batch_worker import grade_path, make_runner, report_path, write_atomic
from .catalogue import Exercise, load_catalogue
from .checks import Runner
from .errors import EXIT_INTERRUPTED, GraderError, UsageError
from .gradebook import now, result_to_json
from .grading import MAX_SUBMISSION_BYTES
from .layouts import Submission
from .runtypes import Limits

_Payload = tuple[str, str, str]
_Remote = tuple[str, str, str, str]  # result JSON, start time, HTML report ('' if it failed), report problem
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
class _WorkerState:
    limits: Limits
    runner: Runner | None
    close: Callable[[], None]
    scratch: Path
    catalogues: dict[str, dict[str, Exercise]]


_STATE: _WorkerState | None = None  # one per Dask worker process, made by the first GraderPlugin set up there


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
    """Set up once per Dask worker: check it, start its fork-server sandbox, unpack the catalogue copy."""

    def __init__(self, version: str, limits: Limits, catalogue: CatalogueCopy) -> None:
        self.version, self.limits, self.catalogue = version, limits, catalogue
        self.name = f"grader-{catalogue.digest[:16]}-{limits.sandbox}"

    def setup(self, worker: Any) -> None:
        """Refuse (and shut down) a worker that cannot grade alike; otherwise make it ready to grade."""
        global _STATE  # noqa: PLW0603 - one sandbox per worker process, shared by every batch it serves
        why = check_worker(self.version, self.limits.sandbox)
        if why:
            logger.error("grader: this worker is refused: %s", why)
            _shut_down(worker, why)
            raise WorkerRefused(why)
        if _STATE is None or _STATE.limits != self.limits:
            if _STATE is not None:
                _STATE.close()
            runner, close = make_runner(self.limits)
            scratch = Path(tempfile.mkdtemp(prefix="grader-", dir=getattr(worker, "local_directory", None)))
            _STATE = _WorkerState(self.limits, runner, close, scratch, {})
        if self.catalogue.digest not in _STATE.catalogues:
            try:
                _STATE.catalogues[self.catalogue.digest] = self.catalogue.unpack(_STATE.scratch)
            except GraderError as exc:
                _shut_down(worker, str(exc))
                raise WorkerRefused(f"the catalogue cannot be loaded there: {exc}") from None

    def teardown(self, worker: Any) -> None:
        """Stop this worker's fork server."""
        global _STATE  # noqa: PLW0603 - see setup
        if _STATE is not None:
            _STATE.close()
            shutil.rmtree(_STATE.scratch, ignore_errors=True)
            _STATE = None


def _shut_down(worker: Any, why: str) -> None:
    """Close a refused worker (and its nanny) soon, once the refusal has been answered."""
    with contextlib.suppress(RuntimeError):  # no running loop: not inside a real worker
        loop = asyncio.get_running_loop()
        loop.call_later(0.5, lambda: asyncio.ensure_future(worker.close(nanny=True, reason=f"grader: {why}")))


def grade_submission(ex: Exercise, name: str, data: bytes, relpath: str) -> _Remote:
    """Grade one submission's bytes on this worker; the result and its rendered report."""
    from .render import html

    st = _STATE
    assert st is not None
    began = now()
    folder = Path(tempfile.mkdtemp(dir=st.scratch))
    try:
        path = folder / name
        path.write_bytes(data)
        result = grade_path(ex, str(path), relpath, st.limits, st.runner)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    try:
        page, problem = html.render(result), ""
    except Exception as exc:
        page, problem = "", f"report not written: {type(exc).__name__}: {exc}"
    return result_to_json(result), began, page, problem


def grade_task(digest: str, exercise: str, name: str, data: bytes, relpath: str) -> _Remote:
    """The Dask task: grade with the catalogue ``digest`` names, or send the task elsewhere if it is not here."""
    st = _STATE
    if st is None or digest not in st.catalogues:  # a refused worker, or one set up for another catalogue
        raise Reschedule()
    return grade_submission(st.catalogues[digest][exercise], name, data, relpath)


# ---------------------------------------------------------------- coordinator side


class DaskExecutor:
    """Grades a batch's submissions on the Dask cluster at ``address`` (see :class:`grader.batch.Executor`)."""

    def __init__(self, address: str, exercises: dict[str, Exercise], options: Any,
                 log: Callable[[str], None], wait_seconds: float | None = None, lost_seconds: float = 10.0) -> None:
        self.address, self.exercises, self.log = address, exercises, log
        self.limits: Limits = options.limits
        self.out: Path = options.out
        self.wait_seconds = wait_seconds if wait_seconds is not None else float(
            os.environ.get("GRADER_CLUSTER_WAIT", "60"))
        self.lost_seconds = lost_seconds
        self.client: Client | None = None
        self.threads = 0
        self.copy = CatalogueCopy.of(catalogue_root(exercises.values()))

    def __enter__(self) -> DaskExecutor:
        try:
            self.client = Client(self.address, timeout=self.wait_seconds, set_as_default=False)
        except (OSError, TimeoutError, ValueError) as exc:
            raise UsageError(f"cannot reach the Dask scheduler at {self.address}: {exc}") from None
        try:
            self._connect_workers(self.client)
        except BaseException:
            self.client.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        if self.client is not None:
            with contextlib.suppress(Exception):
                self.client.close(timeout=5)
            self.client = None

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
            client.register_plugin(GraderPlugin(grader.__version__, self.limits, self.copy))
        workers = client.scheduler_info(n_workers=-1)["workers"]
        self.threads = sum(w.get("nthreads", 1) for addr, w in workers.items() if addr not in refused)
        if not self.threads:
            raise UsageError(f"no usable Dask worker at {self.address}: every worker was refused")
        self.log(f"cluster: {self.address}, {len(workers) - len(refused)} workers, {self.threads} threads")

    def slots(self, wanted: int) -> int:
        """The cluster grades as many at once as its accepted workers have threads (``--jobs`` is not used)."""
        return self.threads

    def _local(self, sub: Submission) -> _Payload | None:
        """A file too large or unreadable here is graded here (it is refused before any learner code runs)."""
        try:
            if sub.path.stat().st_size <= MAX_SUBMISSION_BYTES:
                return None
        except OSError:
            pass
        result = grade_path(self.exercises[sub.exercise], str(sub.path), sub.relpath, self.limits, None)
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

    def _submit(self, client: Client, sub: Submission) -> distributed.Future:
        data = sub.path.read_bytes()
        return client.submit(grade_task, self.copy.digest, sub.exercise, sub.path.name, data, sub.relpath,
                             key=f"grade-{sub.exercise}-{uuid.uuid4().hex}", pure=False)

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

    def stream(self, todo: Iterable[Submission], jobs: int) -> Iterator[tuple[Submission, _Payload | None]]:
        """Grade ``todo`` with at most ``2 * jobs`` tasks queued; a task Dask gave up on is a suspect."""
        client = self.client
        assert client is not None
        waiting: deque[Submission] = deque(todo)
        window: dict[distributed.Future, Submission] = {}
        finished: queue.SimpleQueue[distributed.Future] = queue.SimpleQueue()  # filled by the client's thread
        down: float | None = None
        starved: float | None = None
        try:
            while waiting or window:
                while waiting and len(window) < 2 * jobs:
                    sub = waiting.popleft()
                    local = self._local(sub)
                    if local is not None:
                        yield sub, local
                        continue
                    try:
                        future = self._submit(client, sub)
                    except OSError:  # the file went away since discovery: graded (as unreadable) here
                        yield sub, self._local(sub)
                        continue
                    window[future] = sub
                    future.add_done_callback(finished.put)
                if not window:
                    continue
                done = []
                with contextlib.suppress(queue.Empty):
                    done.append(finished.get(timeout=1))
                    while True:
                        done.append(finished.get_nowait())
                down = self._lost(client, down)
                starved = self._starved(client, starved)
                for fut in done:
                    sub = window.pop(fut)
                    if fut.status == "finished":
                        yield sub, self._deliver(sub, fut.result())
                    elif fut.status == "cancelled":  # the scheduler forgot it: lost, or send it again
                        self._lost(client, down, now_lost=True)
                        waiting.appendleft(sub)
                    else:
                        exc = fut.exception()
                        if not isinstance(exc, KilledWorker):
                            self.log(f"{sub.relpath}: a Dask worker failed on it: {type(exc).__name__}: {exc}")
                        yield sub, None
        finally:
            for fut in window:
                fut.cancel()


def _render(result: Any) -> str:
    from .render import html

    try:
        return html.render(result)
    except Exception:
        return ""
