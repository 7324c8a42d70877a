"""The same synthetic class graded by the local pool and by a local Dask cluster of the same size.

Usage: python benchmarks/bench_cluster.py [--submissions 300] [--workers N] [--timeout 2] [--rounds 2]

The class is bench_batch.py's (same generator, same seed). ``--workers`` (default: this process's
cores) is both the local pool's ``--jobs`` and the cluster's size: a ``dask scheduler`` and N
``dask worker --nthreads 1`` processes on 127.0.0.1, each a separate process, started and stopped
here. Each round grades the class from scratch both ways with ``grader batch`` in a subprocess
(alternating which goes first); the cluster's workers are started before its timing begins, as
they would be already running on a real cluster. Reported: wall time per submission for each,
and the cluster's overhead per submission over the local pool (target: under 10%). Both
gradebooks are compared: they must hold the same scores.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_batch import make_class

from grader.catalogue import find_catalogue, load_catalogue


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_cluster(workers: int, logs: Path) -> tuple[str, list[subprocess.Popen[bytes]]]:
    """A scheduler and ``workers`` single-threaded workers on loopback; returns once all have joined."""
    from distributed import Client

    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    procs = []
    commands = [["scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"]]
    commands += [["worker", address, "--host", "127.0.0.1", "--nthreads", "1", "--no-dashboard",
                  "--preload", "grader.cluster"]] * workers
    for i, args in enumerate(commands):
        with open(logs / f"dask-{i}.log", "wb") as log:
            procs.append(subprocess.Popen([sys.executable, "-m", "dask", *args], stdout=log,
                                          stderr=subprocess.STDOUT, start_new_session=True))
        if i == 0:
            time.sleep(2)
    with Client(address, timeout=60, set_as_default=False) as client:
        client.wait_for_workers(workers, timeout=120)
    return address, procs


def stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in reversed(procs):
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=15)


def grade(class_dir: Path, out: Path, args: list[str]) -> float:
    """``grader batch`` into a fresh ``out``; its wall time."""
    cmd = [sys.executable, "-m", "grader.cli", "batch", str(class_dir), "--out", str(out), *args]
    started = time.perf_counter()
    done = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=3600)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"grader batch failed ({done.returncode}): {done.stderr[-2000:]}")
    return seconds


def scores(out: Path) -> dict[tuple[str, str], float]:
    with sqlite3.connect(out / "gradebook.sqlite") as db:
        return {(learner, ex): score for learner, ex, score in
                db.execute("SELECT learner, exercise, score FROM submissions")}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=300)
    parser.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--timeout", type=float, default=2.0)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    exercises = load_catalogue(find_catalogue(None))
    with tempfile.TemporaryDirectory(prefix="bench-cluster-") as tmp:
        tmpdir = Path(tmp)
        files = make_class(tmpdir / "class", exercises, args.submissions)
        n = len(files)
        print(f"synthetic class: {n} submissions, {len({f.parent for f in files})} learners; "
              f"{args.workers} local workers vs a local Dask cluster of {args.workers} single-thread workers; "
              f"timeout {args.timeout:g} s; {args.rounds} rounds")
        address, procs = start_cluster(args.workers, tmpdir)
        local_s: list[float] = []
        cluster_s: list[float] = []
        try:
            for r in range(args.rounds):
                runs = [("local", ["--jobs", str(args.workers)]), ("cluster", ["--scheduler", address])]
                for name, extra in (runs if r % 2 == 0 else runs[::-1]):
                    seconds = grade(tmpdir / "class", tmpdir / f"out-{name}-{r}", [*extra, "--timeout",
                                                                                    str(args.timeout)])
                    (local_s if name == "local" else cluster_s).append(seconds)
                    print(f"round {r + 1} {name:<7}: {seconds:6.1f} s, {1000 * seconds / n:6.1f} ms per submission")
                if scores(tmpdir / f"out-local-{r}") != scores(tmpdir / f"out-cluster-{r}"):
                    print("the two gradebooks differ!")
                    return 1
        finally:
            stop(procs)
        local, dask = statistics.median(local_s), statistics.median(cluster_s)
        over = (dask - local) / n
        print(f"median: local {1000 * local / n:.1f} ms, cluster {1000 * dask / n:.1f} ms per submission; "
              f"overhead {1000 * over:+.1f} ms per submission ({100 * (dask - local) / local:+.1f}%; target < 10%)")
        print("both gradebooks hold the same scores")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
