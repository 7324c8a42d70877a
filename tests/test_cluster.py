"""``grader batch --scheduler``: a real Dask scheduler and ``dask worker`` processes on this machine (loopback only).

Each test starts its own scheduler on a free 127.0.0.1 port and its workers as separate processes, and
stops every one of them in the fixture's finaliser, also when the test fails. Every wait has a timeout.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from grader import batch, isolation
from grader.catalogue import find_catalogue, load_catalogue
from grader.cli import main
from grader.gradebook import Gradebook

try:
    import distributed

    from grader import cluster
except ImportError:  # the cluster extra is not installed: only the test of the install hint runs
    distributed = cluster = None  # type: ignore[assignment]

needs_dask = pytest.mark.skipif(distributed is None, reason="the cluster tests need pip install 'grader[cluster]'")

ROOT = Path(__file__).resolve().parent.parent
CATALOGUE = find_catalogue(None)
KILL_MARK = "# KILL-MY-WORKER"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_class(root: Path, learners: int) -> Path:
    """``learners`` learners, each with derivatives.py (reference, template or a mistake) and the quiz."""
    derivatives = (CATALOGUE / "solutions" / "derivatives.py").read_text()
    template = (CATALOGUE / "exercises" / "derivatives.py").read_text()
    quiz = (ROOT / "tests" / "submissions" / "partly_right_quiz.toml").read_text()
    wrong = (ROOT / "tests" / "submissions" / "partly_wrong_derivatives.py").read_text()
    for i in range(learners):
        folder = root / f"learner{i:02d}"
        folder.mkdir(parents=True)
        text = (derivatives, template, wrong)[i % 3]
        (folder / "derivatives.py").write_text(f"# learner {i}\n{text}")
        (folder / "quiz.toml").write_text(f"# learner {i}\n{quiz}")
    return root


def grades(out: Path) -> dict[tuple[str, str], tuple]:
    """What the gradebook says of each learner and exercise, without timings."""
    with Gradebook(out / "gradebook.sqlite") as book:
        return {(s.learner, s.exercise): (s.path, s.sha256, s.grader_version, s.status, s.result.score,
                                          tuple((i.item, i.points, i.status, i.diagnosis, i.feedback)
                                                for i in s.result.items))
                for s in book.submissions()}


def run(class_dir: Path, out: Path, scheduler: str | None = None,
        progress: Callable[[int, int, str], None] | None = None, log: list[str] | None = None) -> batch.BatchOutcome:
    options = batch.BatchOptions(out, jobs=2, scheduler=scheduler)
    return batch.run_batch(class_dir, None, options, progress, log=(log.append if log is not None else print))


@pytest.fixture(scope="module")
def local_reference(tmp_path_factory) -> tuple[Path, dict]:
    """The class graded by the local pool, uninterrupted: what every cluster run must equal."""
    root = tmp_path_factory.mktemp("reference")
    class_dir = make_class(root / "class", 8)
    outcome = run(class_dir, root / "out")
    assert not outcome.run.interrupted and not outcome.run.problems
    return class_dir, grades(root / "out")


# ---------------------------------------------------------------- without distributed


def test_scheduler_without_distributed_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # importing it now fails as if it were not installed
    monkeypatch.delitem(sys.modules, "grader.cluster", raising=False)
    class_dir = make_class(tmp_path / "class", 1)
    monkeypatch.setenv("GRADER_SCHEDULER", "tcp://127.0.0.1:9")
    got = CliRunner().invoke(main, ["batch", str(class_dir), "--out", str(tmp_path / "out")])
    assert got.exit_code == 2, got.output
    assert "pip install 'grader[cluster]'" in got.output


# ---------------------------------------------------------------- with a real cluster


class LocalCluster:
    """A ``dask scheduler`` and ``dask worker`` processes on 127.0.0.1, each a separate process."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.procs: list[subprocess.Popen[bytes]] = []
        self.address = ""
        self.scheduler: subprocess.Popen[bytes] | None = None

    def _spawn(self, args: list[str], name: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        with open(self.tmp / f"{name}.log", "wb") as log:  # the child keeps its own copy
            proc = subprocess.Popen([sys.executable, "-m", "dask", *args], stdout=log, stderr=subprocess.STDOUT,
                                    env={**os.environ, **(env or {})}, start_new_session=True)
        self.procs.append(proc)
        return proc

    def start_scheduler(self, allowed_failures: int = 1) -> str:
        port = free_port()
        self.address = f"tcp://127.0.0.1:{port}"
        self.scheduler = self._spawn(["scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
                                     f"scheduler-{port}",
                                     {"DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": str(allowed_failures)})
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    return self.address
            assert self.scheduler.poll() is None, "the scheduler did not start"
            time.sleep(0.2)
        raise AssertionError("the scheduler did not listen within 60 s")

    def start_worker(self, name: str, nanny: bool = True, preload: str = "",
                     nthreads: int = 1) -> subprocess.Popen[bytes]:
        args = ["worker", self.address, "--host", "127.0.0.1", "--nthreads", str(nthreads), "--no-dashboard",
                "--name", name, "--nanny" if nanny else "--no-nanny"]
        if preload:
            script = self.tmp / f"preload_{name}.py"
            script.write_text(preload)
            args += ["--preload", str(script)]
        return self._spawn(args, f"worker-{name}")

    def wait_for_workers(self, n: int) -> None:
        with distributed.Client(self.address, timeout=60, set_as_default=False) as client:
            client.wait_for_workers(n, timeout=90)

    def log(self, name: str) -> str:
        return (self.tmp / f"{name}.log").read_text(errors="replace")

    def stop(self) -> None:
        """Workers first (a worker whose scheduler closes under it can hang in Dask's own shutdown), then the
        scheduler; whatever is still running after a few seconds is killed."""
        workers = [p for p in self.procs if p is not self.scheduler]
        for group in (workers, [self.scheduler] if self.scheduler else []):
            for proc in group:
                if proc.poll() is None:
                    with _quiet():
                        os.killpg(proc.pid, signal.SIGTERM)
            deadline = time.monotonic() + 5
            for proc in group:
                try:
                    proc.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    with _quiet():
                        os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(timeout=10)


class _quiet:
    """Ignore a process that is already gone."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: object, exc: object, tb: object) -> bool:
        return kind is ProcessLookupError


@pytest.fixture
def dask_cluster(tmp_path) -> Iterator[LocalCluster]:
    c = LocalCluster(tmp_path)
    try:
        yield c
    finally:
        c.stop()


@needs_dask
@pytest.mark.slow
def test_a_worker_killed_part_way_leaves_the_gradebook_of_an_uninterrupted_local_run(
        dask_cluster, local_reference, tmp_path):
    class_dir, expected = local_reference
    address = dask_cluster.start_scheduler()
    doomed = dask_cluster.start_worker("doomed", nanny=False)
    dask_cluster.start_worker("steady", nanny=False)
    dask_cluster.wait_for_workers(2)
    killed = []

    def kill_part_way(done: int, total: int, label: str) -> None:
        if done == 3 and not killed:
            os.kill(doomed.pid, signal.SIGKILL)
            killed.append(label)

    outcome = run(class_dir, tmp_path / "out", address, kill_part_way)
    assert killed and doomed.wait(timeout=10) == -signal.SIGKILL
    assert not outcome.run.interrupted and not outcome.run.problems
    assert grades(tmp_path / "out") == expected
    assert (tmp_path / "out" / "reports" / "learner05" / "quiz.html").exists()


@needs_dask
@pytest.mark.slow
@pytest.mark.parametrize("chunked", [False, True], ids=["alone", "in-a-task-of-8"])
def test_a_submission_that_kills_its_workers_is_charged_and_the_others_graded(dask_cluster, tmp_path, monkeypatch,
                                                                             chunked):
    sizes: list[int] = []
    take = cluster.DaskExecutor._take

    def tasks_of_8(self, waiting, jobs):  # every submission in one task: the culprit takes seven innocents down
        chunk, here = take(self, waiting, 0.25 if chunked else jobs)
        sizes.append(len(chunk))
        return chunk, here

    monkeypatch.setattr(cluster.DaskExecutor, "_take", tasks_of_8)
    class_dir = make_class(tmp_path / "class", 4)
    culprit = class_dir / "learner01" / "derivatives.py"
    culprit.write_text(culprit.read_text() + f"\n{KILL_MARK}\n")
    preload = ("import os\nimport grader.cluster as c\nreal = getattr(c, 'real_grade', c.grade_submission)\n"
               "c.real_grade = real\n"
               "def killer(ex, name, data, relpath, *rest):\n"
               f"    if {KILL_MARK.encode()!r} in data:\n        os._exit(9)\n"
               "    return real(ex, name, data, relpath, *rest)\n"
               "c.grade_submission = killer\n")
    address = dask_cluster.start_scheduler(allowed_failures=1)
    dask_cluster.start_worker("a", preload=preload)
    dask_cluster.start_worker("b", preload=preload)
    dask_cluster.wait_for_workers(2)
    outcome = run(class_dir, tmp_path / "out", address)
    got = grades(tmp_path / "out")
    assert len(got) == 8 and outcome.run.graded == 8
    charged = got[("learner01", "derivatives")]
    assert charged[4] == 0 and {item[3] for item in charged[5]} == {"crashed"}
    assert outcome.run.problems == ("learner01/derivatives.py: stopped or broke the grader's worker process",)
    assert max(sizes) == (8 if chunked else 1)
    assert all(item[3] != "crashed" for key, row in got.items() if key[0] != "learner01" for item in row[5])


@needs_dask
@pytest.mark.slow
def test_losing_the_scheduler_stops_the_batch_and_a_rerun_resumes(tmp_path, local_reference):
    class_dir, expected = local_reference
    first = LocalCluster(tmp_path / "first")
    (tmp_path / "first").mkdir()
    try:
        address = first.start_scheduler()
        first.start_worker("w", nanny=False)
        first.wait_for_workers(1)

        def lose_scheduler(done: int, total: int, label: str) -> None:
            if done == 2 and first.scheduler is not None and first.scheduler.poll() is None:
                os.killpg(first.scheduler.pid, signal.SIGKILL)

        with pytest.raises(cluster.ClusterLost, match="run the same command again to resume"):
            run(class_dir, tmp_path / "out", address, lose_scheduler)
    finally:
        first.stop()
    kept = grades(tmp_path / "out")
    assert 2 <= len(kept) < len(expected)
    assert all(expected[key] == row for key, row in kept.items())
    second = LocalCluster(tmp_path / "second")
    (tmp_path / "second").mkdir()
    try:
        address = second.start_scheduler()
        second.start_worker("w", nanny=False)
        second.wait_for_workers(1)
        outcome = run(class_dir, tmp_path / "out", address)
    finally:
        second.stop()
    assert outcome.run.skipped == len(kept) and outcome.run.graded == len(expected) - len(kept)
    assert grades(tmp_path / "out") == expected


@needs_dask
@pytest.mark.slow
@pytest.mark.skipif(isolation.bwrap_works() is not None, reason="needs bubblewrap here to refuse a worker without it")
def test_workers_with_another_version_or_without_the_sandbox_are_refused_at_connection(dask_cluster, tmp_path,
                                                                                        monkeypatch):
    # the batch must ask for bwrap (CI's second pass forces rlimits)
    monkeypatch.delenv("GRADER_SANDBOX", raising=False)
    class_dir = make_class(tmp_path / "class", 2)
    address = dask_cluster.start_scheduler()
    dask_cluster.start_worker("good")
    old = dask_cluster.start_worker("old", preload="import grader\ngrader.__version__ = '0.0.1-old'\n")
    bare = dask_cluster.start_worker(
        "bare", preload="import grader.isolation as i\ni.bwrap_works = lambda: 'bwrap is not installed'\n")
    dask_cluster.wait_for_workers(3)
    log: list[str] = []
    outcome = run(class_dir, tmp_path / "out", address, log=log)
    assert not outcome.run.problems and outcome.run.graded == 4
    refusals = [line for line in log if line.startswith("refused Dask worker")]
    assert len(refusals) == 2
    assert any("grader 0.0.1-old" in line for line in refusals)
    assert any("bwrap sandbox is missing" in line and "bwrap is not installed" in line for line in refusals)
    assert old.wait(timeout=60) is not None and bare.wait(timeout=60) is not None  # refused workers shut down
    assert "1 workers, 1 threads" in "\n".join(log)


@needs_dask
def test_an_unreachable_scheduler_is_a_usage_error_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("GRADER_SCHEDULER", f"tcp://127.0.0.1:{free_port()}")
    monkeypatch.setenv("GRADER_CLUSTER_WAIT", "2")
    class_dir = make_class(tmp_path / "class", 1)
    got = CliRunner().invoke(main, ["batch", str(class_dir), "--out", str(tmp_path / "out")])
    assert got.exit_code == 2, got.output
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:" in got.output


# ---------------------------------------------------------------- the catalogue copy


@needs_dask
def test_the_catalogue_copy_is_named_by_its_content_and_refuses_a_tampered_copy(tmp_path):
    copy = cluster.CatalogueCopy.of(CATALOGUE)
    assert copy == cluster.CatalogueCopy.of(CATALOGUE)
    exercises = copy.unpack(tmp_path)
    assert set(exercises) == {e.name for e in load_catalogue(CATALOGUE)}
    changed = dict(copy.files)
    changed["solutions/derivatives.py"] += b"\n# edited\n"
    tampered = cluster.CatalogueCopy(copy.digest, tuple(changed.items()))
    (tmp_path / "elsewhere").mkdir()
    with pytest.raises(cluster.WorkerRefused, match="does not match its digest"):
        tampered.unpack(tmp_path / "elsewhere")
    edited = tmp_path / "edited"
    for rel, data in changed.items():
        (edited / rel).parent.mkdir(parents=True, exist_ok=True)
        (edited / rel).write_bytes(data)
    assert cluster.CatalogueCopy.of(edited).digest != copy.digest


@needs_dask
def test_a_task_for_a_batch_this_worker_was_not_accepted_for_is_sent_elsewhere(monkeypatch, tmp_path):
    job = ("derivatives", "derivatives.py", b"", "a/derivatives.py", None)
    with pytest.raises(distributed.Reschedule):  # not set up for the batch at all
        cluster.grade_task("grader-batch", [job])
    plugin = cluster.GraderPlugin(grader_version(), batch.BatchOptions(tmp_path, jobs=1).limits,
                                  cluster.CatalogueCopy.of(CATALOGUE), "grader-batch")
    worker = type("FakeWorker", (), {"plugins": {"grader-batch": plugin}})()
    monkeypatch.setattr(distributed, "get_worker", lambda: worker)
    monkeypatch.setattr(cluster, "_STATE", cluster._WorkerState(tmp_path, 1))
    with pytest.raises(distributed.Reschedule):  # its plugin is there, but it refused this worker
        cluster.grade_task("grader-batch", [job])


@needs_dask
@pytest.mark.slow
def test_a_batch_whose_every_worker_is_gone_stops_instead_of_waiting_forever(dask_cluster, tmp_path, monkeypatch):
    class_dir = make_class(tmp_path / "class", 6)
    monkeypatch.setenv("GRADER_CLUSTER_WAIT", "5")
    address = dask_cluster.start_scheduler()
    only = dask_cluster.start_worker("only", nanny=False)
    dask_cluster.wait_for_workers(1)

    def kill_the_only_worker(done: int, total: int, label: str) -> None:
        if done == 2 and only.poll() is None:
            os.kill(only.pid, signal.SIGKILL)

    started = time.monotonic()
    with pytest.raises(cluster.ClusterLost, match="no Dask worker has been connected"):
        run(class_dir, tmp_path / "out", address, kill_the_only_worker)
    assert time.monotonic() - started < 120
    kept = grades(tmp_path / "out")
    assert 2 <= len(kept) < 12  # what was graded before the worker died is kept for the resume


@needs_dask
def test_tasks_carry_several_submissions_while_many_wait_and_one_at_the_end(tmp_path):
    from grader.grading import MAX_SUBMISSION_BYTES
    from grader.layouts import Submission

    exercises = {e.name: e for e in load_catalogue(CATALOGUE)}
    executor = cluster.DaskExecutor("tcp://127.0.0.1:9", exercises, batch.BatchOptions(tmp_path / "out", jobs=2),
                                    lambda m: None)
    subs = []
    for i in range(100):
        path = tmp_path / f"l{i:02d}" / "derivatives.py"
        path.parent.mkdir()
        path.write_text(f"# {i}\n" + ("#" * (MAX_SUBMISSION_BYTES + 1) if i == 50 else ""))
        subs.append(Submission(f"l{i:02d}", "derivatives", path, f"l{i:02d}/derivatives.py", "", path.stat().st_size))
    waiting = deque(subs)
    sizes, here = [], []
    while waiting:
        chunk, graded_here = executor._take(waiting, 2)
        sizes.append(len(chunk))
        here += graded_here
        assert all(job == (s.exercise, "derivatives.py", s.path.read_bytes(), s.relpath, None) for s, job in chunk)
    assert sizes[0] == cluster.MAX_CHUNK and sizes[-4:] == [1, 1, 1, 1]
    assert sizes == sorted(sizes, reverse=True) and sum(sizes) == 99
    assert [s.learner for s, _ in here] == ["l50"]  # too large to send: refused on this machine
    assert f"submissions are limited to {MAX_SUBMISSION_BYTES} bytes" in here[0][1][0]


@needs_dask
def test_a_grader_failure_on_one_submission_of_a_task_spares_the_others(monkeypatch, tmp_path):
    state = cluster._WorkerState(tmp_path, 1)
    copy = cluster.CatalogueCopy("d" * 64, ())
    state.catalogues[copy.digest] = {"derivatives": object()}
    plugin = cluster.GraderPlugin(grader_version(), batch.BatchOptions(tmp_path, jobs=1).limits, copy, "p")
    plugin.ready = True
    monkeypatch.setattr(cluster, "_STATE", state)
    monkeypatch.setattr(cluster, "_ready_plugin", lambda name: plugin if name == "p" else None)
    monkeypatch.setattr(cluster, "make_runner", lambda limits: (None, lambda: None))

    def grade(ex, name, data, relpath, box, scratch, decision):
        if data == b"boom":
            raise RuntimeError("the grader broke")
        return ("{}", "now", "<html>", "")

    monkeypatch.setattr(cluster, "grade_submission", grade)
    jobs = [("derivatives", "derivatives.py", data, f"{i}/derivatives.py", None)
            for i, data in enumerate([b"a", b"boom", b"c"])]
    got = cluster.grade_task("p", jobs)
    assert got[0] == got[2] == ("{}", "now", "<html>", "")
    assert got[1] == "RuntimeError: the grader broke"


@needs_dask
@pytest.mark.slow
def test_a_preloaded_worker_keeps_its_sandbox_from_one_batch_to_the_next(dask_cluster, tmp_path, local_reference):
    class_dir, expected = local_reference
    address = dask_cluster.start_scheduler()
    dask_cluster.start_worker("kept", nanny=False, preload="from grader.cluster import dask_setup\n")
    dask_cluster.wait_for_workers(1)

    def the_worker() -> list[object]:
        with distributed.Client(address, timeout=60, set_as_default=False) as client:
            return list(client.run(lambda dask_worker: (
                id(cluster._STATE), sorted(cluster._STATE.catalogues), [id(b) for b in cluster._STATE.idle],
                sorted(n for n in dask_worker.periodic_callbacks if n.startswith("profile")),
                sorted(n for n in dask_worker.plugins if n.startswith("grader-")))).values())

    run(class_dir, tmp_path / "first", address)
    first = the_worker()
    outcome = run(class_dir, tmp_path / "second", address)
    assert not outcome.run.problems and grades(tmp_path / "second") == expected
    assert the_worker() == first and len(first) == 1
    state, catalogues, sandboxes, profiler, plugins = first[0]
    assert len(catalogues) == 1 and len(sandboxes) == 1  # one sandbox served both batches
    assert profiler == []  # the statistical profiler never samples a grading worker
    assert plugins == []  # each batch took its plugin away when it ended


@needs_dask
@pytest.mark.slow
def test_a_worker_with_two_threads_grades_as_the_local_pool_does(dask_cluster, tmp_path, local_reference):
    class_dir, expected = local_reference
    address = dask_cluster.start_scheduler()
    dask_cluster.start_worker("wide", nanny=False, nthreads=2)
    dask_cluster.wait_for_workers(1)
    log: list[str] = []
    outcome = run(class_dir, tmp_path / "out", address, log=log)
    assert not outcome.run.problems and grades(tmp_path / "out") == expected
    assert any("1 workers, 2 threads" in line for line in log), log
    with distributed.Client(address, timeout=60, set_as_default=False) as client:
        idle = list(client.run(lambda: [b.limits for b in cluster._STATE.idle]).values())[0]
    assert 1 <= len(idle) <= 2


@needs_dask
@pytest.mark.slow
def test_a_worker_that_joins_while_a_batch_runs_is_set_up_and_never_profiled(dask_cluster, tmp_path):
    address = dask_cluster.start_scheduler()
    dask_cluster.start_worker("early", nanny=False)
    dask_cluster.wait_for_workers(1)
    limits = batch.BatchOptions(tmp_path, jobs=1).limits
    with distributed.Client(address, timeout=60, set_as_default=False) as client:
        client.register_plugin(cluster.GraderPlugin(grader_version(), limits, cluster.CatalogueCopy.of(CATALOGUE),
                                                    "grader-running"))
        dask_cluster.start_worker("late")  # under a nanny, as a restarted worker would be
        client.wait_for_workers(2, timeout=90)
        deadline = time.monotonic() + 60
        while True:
            got = client.run(lambda dask_worker: (
                getattr(dask_worker.plugins.get("grader-running"), "ready", False),
                sorted(n for n in dask_worker.periodic_callbacks if n.startswith("profile"))))
            if all(ready for ready, _ in got.values()) or time.monotonic() > deadline:
                break
            time.sleep(0.2)
    assert len(got) == 2 and all(value == (True, []) for value in got.values()), got


@needs_dask
def test_a_worker_keeps_its_sandboxes_and_last_catalogues_until_it_closes(monkeypatch, tmp_path):
    import dataclasses

    made: list[object] = []
    closed: list[object] = []

    def runner(limits):
        made.append(limits)
        return object(), lambda: closed.append(limits)

    monkeypatch.setattr(cluster, "_STATE", None)
    monkeypatch.setattr(cluster, "make_runner", runner)

    class Callback:
        running = True

        def is_running(self) -> bool:
            return self.running

        def stop(self) -> None:
            self.running = False

    callbacks = {"profile": Callback(), "profile-cycle": Callback(), "heartbeat": Callback()}
    profiler = callbacks["profile"]
    worker = type("FakeWorker", (), {"local_directory": str(tmp_path), "status": "Status.running",
                                     "periodic_callbacks": callbacks, "nthreads": 1})()
    base = cluster.CatalogueCopy.of(CATALOGUE)
    copies = []
    for i in range(cluster.KEPT_CATALOGUES + 1):
        files = (*base.files, (f"exercises/notes-{i}.txt", b"another edition"))
        copies.append(cluster.CatalogueCopy(cluster.CatalogueCopy._digest(files), files))
    limits = batch.BatchOptions(tmp_path, jobs=1).limits
    for i, copy in enumerate(copies):
        plugin = cluster.GraderPlugin(grader_version(), limits, copy, f"grader-{i}")
        plugin.setup(worker)
        assert plugin.ready
        plugin.teardown(worker)  # the batch ended: the sandbox stays for the next one
    state = cluster._STATE
    assert state is not None and made == [limits] and not closed
    assert sorted(callbacks) == ["heartbeat"] and not profiler.running and callbacks["heartbeat"].running
    assert list(state.catalogues) == [c.digest for c in copies[1:]]
    assert not (state.scratch / f"catalogue-{copies[0].digest[:16]}").exists()
    assert (state.scratch / f"catalogue-{copies[-1].digest[:16]}").is_dir()
    assert "derivatives" in state.exercises(copies[0])  # asked for again: unpacked again, the oldest goes
    assert copies[0].digest in state.catalogues and copies[1].digest not in state.catalogues

    with state.sandbox(limits) as one, state.sandbox(limits) as two:  # two grading threads at once
        assert one is not two and one.runner is not two.runner
    assert made == [limits, limits] and not closed
    other = dataclasses.replace(limits, wall_seconds=limits.wall_seconds * 2)
    with state.sandbox(other) as third:
        assert third.limits == other
    assert made == [limits, limits, other] and closed == [limits]  # two idle kept: the least recent stopped
    worker.status = "Status.closing"
    plugin.teardown(worker)
    assert cluster._STATE is None and sorted(map(repr, closed)) == sorted(map(repr, made))
    assert not state.scratch.exists()


def grader_version() -> str:
    import grader

    return grader.__version__


# ---------------------------------------------------------------- per-learner variants: the key stays here

VARIANTS = ROOT / "examples" / "variants"
VARIANT_KEY = b"course-2026-cluster-variant-key-0123456789"


def _variant_answer(template: str) -> str:
    """A correct answer to the variants example: its kit's template with both functions written."""
    first, second, rest = template.split("raise NotImplementedError", 2)
    return first + "return 2 * A * x + B * y" + second + "return B * x + 2 * C * y" + rest


def make_variant_class(root: Path) -> Path:
    """A class for the variants example: alice and bob honest, erin honest without her id line, carol handing
    in alice's file, dave claiming alice's id line with a made-up tag. The kits come from a real release."""
    from grader.commands import ReleaseCommand, release_kit

    (root / "roster.csv").parent.mkdir(parents=True, exist_ok=True)
    (root / "roster.csv").write_text("id,name,email\n" + "".join(f"{w},{w.title()} X,{w}@uni.org\n" for w in
                                                                  ("alice", "bob", "erin")), encoding="utf-8")
    (root / "KEY").write_bytes(VARIANT_KEY + b"\n")
    release_kit(ReleaseCommand(out=root / "kit", catalog=VARIANTS, roster=root / "roster.csv",
                               secret_file=root / "KEY", seed=7))
    answer = {w: _variant_answer((root / "kit" / w / "quadratic.py").read_text(encoding="utf-8"))
              for w in ("alice", "bob", "erin")}
    files = {"alice": answer["alice"], "bob": answer["bob"], "carol": answer["alice"],
             "dave": f"# grader-variant: alice {'0' * 20}\n" + answer["bob"].split("\n", 1)[1],
             "erin": answer["erin"].split("\n", 1)[1]}
    class_dir = root / "class"
    for who, text in files.items():
        (class_dir / who).mkdir(parents=True)
        (class_dir / who / "quadratic.py").write_text(text, encoding="utf-8")
    return class_dir


def take_all(executor: cluster.DaskExecutor, waiting: deque) -> list:
    """Every (submission, job) the executor would send, none graded here."""
    chunk = []
    while waiting:
        taken, here = executor._take(waiting, 1)
        assert not here
        chunk += taken
    return chunk


def run_variants(class_dir: Path, out: Path, scheduler: str | None = None) -> batch.BatchOutcome:
    options = batch.BatchOptions(out, jobs=2, scheduler=scheduler, variant_secret=VARIANT_KEY)
    return batch.run_batch(class_dir, VARIANTS, options, log=print)


@pytest.fixture(scope="module")
def variant_reference(tmp_path_factory) -> tuple[Path, dict]:
    """The variant class graded by the local pool (-j 2): what the cluster run must equal."""
    root = tmp_path_factory.mktemp("variants")
    class_dir = make_variant_class(root)
    outcome = run_variants(class_dir, root / "out")
    assert not outcome.run.interrupted and not outcome.run.problems
    return class_dir, grades(root / "out")


def test_the_local_variant_reference_grades_each_case_as_it_should(variant_reference):
    _, expected = variant_reference
    scores = {learner: row[4] for (learner, _), row in expected.items()}
    assert scores == {"alice": 2, "bob": 2, "erin": 2, "carol": 0, "dave": 0}
    assert {item[3] for item in expected[("carol", "quadratic")][5]} == {"variant_other_learner"}
    assert {item[3] for item in expected[("dave", "quadratic")][5]} == {"variant_forged"}


def variant_task(class_dir: Path, tmp_path: Path) -> tuple[dict, cluster.DaskExecutor, list]:
    """The variant class as the coordinator would send it: its exercises (with the key), executor and one task."""
    from grader.layouts import Submission

    exercises = {e.name: dataclasses.replace(e, secret=VARIANT_KEY) for e in load_catalogue(VARIANTS)}
    executor = cluster.DaskExecutor("tcp://127.0.0.1:9", exercises, batch.BatchOptions(tmp_path / "out", jobs=1),
                                    lambda m: None)
    subs = deque(Submission(p.parent.name, "quadratic", p, f"{p.parent.name}/quadratic.py", "", p.stat().st_size)
                 for p in sorted(class_dir.glob("*/quadratic.py")))
    return exercises, executor, take_all(executor, subs)


@needs_dask
def test_what_is_sent_to_the_workers_holds_no_variant_key(variant_reference, tmp_path):
    import pickle

    from distributed.protocol import pickle as dask_pickle

    from grader.variants import instance

    class_dir, _ = variant_reference
    exercises, executor, chunk = variant_task(class_dir, tmp_path)
    assert len(chunk) == 5
    jobs = [job for _, job in chunk]
    decided = {sub.learner: job[4] for sub, job in chunk}
    assert {who: d.diagnosis for who, d in decided.items()} == {
        "alice": "", "bob": "", "carol": "variant_other_learner", "dave": "variant_forged", "erin": ""}
    for who, decision in decided.items():  # each graded on its folder's learner's numbers
        assert decision.variant == instance(exercises["quadratic"].parameters, who, "quadratic", VARIANT_KEY)
    plugin = cluster.GraderPlugin(grader_version(), executor.limits, executor.copy, executor.plugin)
    for sent in (jobs, plugin, executor.copy):
        for dump in (pickle.dumps(sent), dask_pickle.dumps(sent)):
            assert VARIANT_KEY not in dump and VARIANT_KEY.hex().encode() not in dump
    unpacked = executor.copy.unpack(tmp_path)
    assert unpacked["quadratic"].parameters and unpacked["quadratic"].secret is None


@needs_dask
def test_a_worker_grades_variants_from_the_decisions_alone_as_the_local_pool_does(variant_reference, tmp_path,
                                                                                 monkeypatch):
    from grader.gradebook import result_from_json

    class_dir, expected = variant_reference
    _, executor, chunk = variant_task(class_dir, tmp_path)
    (tmp_path / "worker").mkdir()
    keyless = executor.copy.unpack(tmp_path / "worker")  # what a worker holds: the catalogue without the key
    state = cluster._WorkerState(tmp_path / "worker", 1)
    state.catalogues[executor.copy.digest] = keyless
    plugin = cluster.GraderPlugin(grader_version(), executor.limits, executor.copy, executor.plugin)
    plugin.ready = True
    monkeypatch.setattr(cluster, "_STATE", state)
    monkeypatch.setattr(cluster, "_ready_plugin", lambda name: plugin if name == executor.plugin else None)
    monkeypatch.setattr(cluster, "make_runner", lambda limits: (None, lambda: None))
    done = cluster.grade_task(executor.plugin, [job for _, job in chunk])
    for (sub, _), remote in zip(chunk, done, strict=True):
        assert not isinstance(remote, str), remote
        got = result_from_json(remote[0])
        want = expected[(sub.learner, "quadratic")]
        assert (got.score, tuple((i.item, i.points, i.status, i.diagnosis, i.feedback) for i in got.items)) == \
            (want[4], want[5]), sub.learner


@needs_dask
def test_a_catalogue_holding_the_variant_key_is_not_sent(tmp_path):
    from grader.errors import UsageError

    shutil.copytree(VARIANTS, tmp_path / "course")
    (tmp_path / "course" / "exercises" / "variants.key").write_bytes(VARIANT_KEY + b"\n")
    exercises = {e.name: dataclasses.replace(e, secret=VARIANT_KEY) for e in load_catalogue(tmp_path / "course")}
    with pytest.raises(UsageError, match=r"the variant key is in the catalogue \(exercises/variants.key\)"):
        cluster.DaskExecutor("tcp://127.0.0.1:9", exercises, batch.BatchOptions(tmp_path / "out", jobs=1),
                             lambda m: None)


@needs_dask
@pytest.mark.slow
def test_a_cluster_grades_variants_as_the_local_pool_does(dask_cluster, variant_reference, tmp_path):
    class_dir, expected = variant_reference
    address = dask_cluster.start_scheduler()
    dask_cluster.start_worker("a", nanny=False)
    dask_cluster.start_worker("b", nanny=False)
    dask_cluster.wait_for_workers(2)
    outcome = run_variants(class_dir, tmp_path / "out", address)
    assert not outcome.run.interrupted and not outcome.run.problems and outcome.run.graded == 5
    assert grades(tmp_path / "out") == expected
    report = (tmp_path / "out" / "reports" / "carol" / "quadratic.html").read_text(encoding="utf-8")
    assert "written for alice" in report
    logs = dask_cluster.log("worker-a") + dask_cluster.log("worker-b")
    assert VARIANT_KEY.decode() not in logs


@needs_dask
def test_two_grading_threads_never_share_a_sandbox_and_one_still_in_use_at_close_is_stopped(monkeypatch, tmp_path):
    import threading

    made: list[object] = []
    closed: list[object] = []

    def runner(limits):
        token = object()
        made.append(token)
        return token, lambda: closed.append(token)

    monkeypatch.setattr(cluster, "make_runner", runner)
    state = cluster._WorkerState(tmp_path / "scratch", 2)
    (tmp_path / "scratch").mkdir()
    limits = batch.BatchOptions(tmp_path, jobs=1).limits
    state.warm(limits)
    both = threading.Barrier(2, timeout=10)
    used: list[object] = []

    def task() -> None:
        with state.sandbox(limits) as box:
            used.append(box.runner)
            both.wait()  # both tasks hold a sandbox at the same moment

    threads = [threading.Thread(target=task) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=20)
    assert len(used) == 2 and used[0] is not used[1] and len(made) == 2 and not closed
    with state.sandbox(limits) as box:
        state.close()  # the worker closes while this task still grades
        assert box.runner not in closed
    assert sorted(map(id, closed)) == sorted(map(id, made)) and not (tmp_path / "scratch").exists()


@needs_dask
def test_a_worker_that_cannot_be_set_up_is_refused_instead_of_left_half_ready(monkeypatch, tmp_path):
    monkeypatch.setattr(cluster, "_STATE", None)
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("")
    worker = type("FakeWorker", (), {"local_directory": str(not_a_folder), "periodic_callbacks": {}})()
    plugin = cluster.GraderPlugin(grader_version(), batch.BatchOptions(tmp_path, jobs=1).limits,
                                  cluster.CatalogueCopy.of(CATALOGUE), "grader-x@Client-1")
    with pytest.raises(cluster.WorkerRefused, match="cannot be set up for this batch: NotADirectoryError"):
        plugin.setup(worker)
    assert not plugin.ready


@needs_dask
def test_what_a_finished_future_became_is_read_without_waiting_forever_or_mistaking_a_failure(tmp_path):
    executor = cluster.DaskExecutor("tcp://127.0.0.1:9", {e.name: e for e in load_catalogue(CATALOGUE)},
                                    batch.BatchOptions(tmp_path / "out", jobs=1), lambda m: None, lost_seconds=0.1)

    class Future:
        def __init__(self, status: str, result: object = None, error: BaseException | None = None) -> None:
            self.status, self._result, self._error = status, result, error

        def exception(self) -> BaseException | None:
            return self._error

        def result(self, timeout: float | None = None) -> object:
            if self._error is not None:
                raise self._error
            return self._result

    assert executor._outcome(Future("finished", ["r"])) == ("done", ["r"])
    assert executor._outcome(Future("cancelled")) == ("forgotten", None)
    failed = TimeoutError("the learner's socket timed out")  # a task that raised TimeoutError itself
    assert executor._outcome(Future("error", error=failed)) == ("failed", failed)
    killed = distributed.KilledWorker("grade-1", "tcp://w", 3)
    assert executor._outcome(Future("error", error=killed)) == ("failed", killed)
    lost = Future("finished", error=TimeoutError())  # its result went with its worker: fetching it timed out
    assert executor._outcome(lost) == ("pending", None)
    assert executor._outcome(Future("finished", error=distributed.client.FutureCancelledError(
        "grade-1", reason="scheduler-connection-lost"))) == ("forgotten", None)


@needs_dask
def test_only_the_plugins_of_coordinators_that_are_gone_are_stale():
    scheduler = type("FakeScheduler", (), {
        "clients": {"Client-live": object(), "fire-and-forget": object()},
        "worker_plugins": {"grader-abc@Client-live": b"", "grader-abc@Client-dead": b"", "shuffle": b"",
                           "grader-old-style": b"", "other@Client-dead": b""}})()
    assert cluster._stale_plugins(scheduler) == ["grader-abc@Client-dead"]


@needs_dask
@pytest.mark.slow
def test_a_plugin_left_by_a_killed_coordinator_of_another_version_does_not_lock_workers_out(
        dask_cluster, tmp_path, local_reference):
    import threading

    class_dir, expected = local_reference
    address = dask_cluster.start_scheduler()
    limits = batch.BatchOptions(tmp_path, jobs=1).limits
    stale = cluster.GraderPlugin("0.0.0-old", limits, cluster.CatalogueCopy.of(CATALOGUE), "")
    with distributed.Client(address, timeout=60, set_as_default=False) as gone:
        stale.name = cluster._plugin_name(stale.catalogue.digest, gone.id)
        gone.register_plugin(stale)  # no worker yet: it waits on the scheduler for every worker that joins
    # its coordinator is gone now; a worker that joined would be refused by it and shut down
    starter = threading.Timer(3, lambda: dask_cluster.start_worker("joins-later", nanny=False))
    starter.start()
    log: list[str] = []
    try:
        outcome = run(class_dir, tmp_path / "out", address, log=log)
    finally:
        starter.join()
    assert not outcome.run.problems and grades(tmp_path / "out") == expected
    assert any("removed 1 worker plugin(s) left by batches" in line for line in log), log
    with distributed.Client(address, timeout=60, set_as_default=False) as client:
        left = client.run_on_scheduler(lambda dask_scheduler: sorted(dask_scheduler.worker_plugins))
    assert not [name for name in left if name.startswith("grader-")]


@needs_dask
def test_the_variant_key_is_looked_for_in_the_catalogue_even_when_no_variant_is_graded(tmp_path):
    from grader.errors import UsageError

    shutil.copytree(VARIANTS, tmp_path / "course")
    (tmp_path / "course" / "solutions" / "course.key").write_bytes(VARIANT_KEY)
    keyless = {e.name: e for e in load_catalogue(tmp_path / "course")}  # a batch of exercises without variants
    options = batch.BatchOptions(tmp_path / "out", jobs=1, variant_secret=VARIANT_KEY)
    with pytest.raises(UsageError, match=r"the variant key is in the catalogue \(solutions/course.key\)"):
        cluster.DaskExecutor("tcp://127.0.0.1:9", keyless, options, lambda m: None)
