"""Batch grading throughput and memory on a synthetic class, against fresh ``grader grade`` processes.

Usage: python benchmarks/bench_batch.py [--submissions 1000] [--jobs N] [--timeout 2] [--sample 20] [--notebooks]

``--notebooks`` also grades, in the same run, a copy of the class where every
other learner hands in each ``.py`` file as a notebook (``NAME.ipynb``, its
top-level blocks in separate code cells between markdown cells, with an output),
and prints the added time per notebook submission against ``.py`` only.

The class is generated from whatever exercises the catalogue has when it runs:
each learner hands in every exercise (so ``--submissions 1000`` with five
exercises is 200 learners). Per item a learner gives the reference answer
(about 70%), one of the spec's authored mistakes (about 25%, symbolic and quiz
items), or a wrong/unfinished answer; about 3% of files do not parse and a few
are hostile (an endless loop, a memory hog, output spam, prying outside the
sandbox). ``--timeout`` is the per-call limit passed to both sides.

Measured in the same run: ``grader batch`` wall time, submissions per second,
peak memory of its whole process tree (sum of PSS, sampled), the workers'
equivalence-cache hit rate; and, as the baseline, ``grader grade FILE --html``
in a fresh process per submission on a stratified sample, run ``--jobs`` at a
time, extrapolated to the whole class. Prints both and their ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import sympy as sp

from grader.catalogue import Exercise, find_catalogue, load_catalogue

GRADER = shutil.which("grader") or f"{sys.executable} -m grader.cli"

HOSTILE = {
    "loop": "\n\ndef {name}(*args):\n    while True:\n        pass\n",
    "memory": "\n\ndef {name}(*args):\n    hog = bytearray(8 << 30)\n    return hog\n",
    "spam": "\nprint('spam ' * 200000)\n",
    "pry": "\nimport os\ntry:\n    _seen = os.listdir('..'), open('/etc/passwd').read()\nexcept Exception:\n    pass\n",
}


# ---------------------------------------------------------------- synthetic class


def _symbols(item: Any) -> list[sp.Symbol]:
    variables = {v.name: v for v in getattr(item, "variables", ())}
    return [sp.Symbol(n, **variables[n].assumptions()) if n in variables else sp.Symbol(n, real=True)
            for n in item.parameters]


def _python_override(item: Any, expr: Any) -> str:
    """``def item(params): return expr`` with the SymPy names it needs imported."""
    expr = sp.sympify(expr)
    names = sorted({type(f).__name__ for f in expr.atoms(sp.Function)} | {"E", "pi"})
    params = ", ".join(item.parameters)
    return f"\nfrom sympy import {', '.join(names)}\n\n\ndef {item.name}({params}):\n    return {sp.sstr(expr)}\n"


def _wrong_numeric(item: Any) -> str:
    """A plausible wrong answer for a numeric item: the reference's output scaled, else unfinished."""
    return (f"\n_ref_{item.name} = {item.name}\n\n\ndef {item.name}(*args, **kwargs):\n"
            f"    import numpy as _np\n    out = _ref_{item.name}(*args, **kwargs)\n"
            f"    return out * 1.5 if isinstance(out, (_np.ndarray, float)) else out\n")


def _py_submission(ex: Exercise, rng: random.Random) -> str:
    text = ex.solution.read_text()
    for item in ex.items:
        roll = rng.random()
        if roll < 0.70:
            continue
        callables = [m for m in item.mistakes if callable(m.answer)]
        if item.kind == "symbolic" and callables and roll < 0.95:
            try:
                text += _python_override(item, rng.choice(callables).answer(*_symbols(item)))
                continue
            except Exception:
                pass
        if item.kind == "numeric" and roll < 0.95:
            text += _wrong_numeric(item)
        else:
            text += f"\n\ndef {item.name}(*args):\n    raise NotImplementedError\n"
    return text


def _quiz_submission(ex: Exercise, rng: random.Random) -> str:
    from grader.checks.quiz import reference_text

    lines = []
    for item in ex.items:
        roll, typed = rng.random(), ""
        if roll < 0.70:
            typed = reference_text(item)  # type: ignore[arg-type]
        elif roll < 0.95 and item.mistakes:
            typed = str(rng.choice(item.mistakes).answer)
        lines += [f"[{item.name}]", f"answer = {json.dumps(typed, ensure_ascii=False)}", ""]
    return "\n".join(lines)


def make_class(root: Path, exercises: tuple[Exercise, ...], submissions: int, seed: int = 1) -> list[Path]:
    """Write the synthetic class under ``root`` (one folder per learner); returns every file written."""
    rng = random.Random(seed)
    files: list[Path] = []
    learners = -(-submissions // len(exercises))
    hostile_kinds = list(HOSTILE)
    for n in range(learners):
        for ex in exercises:
            if len(files) >= submissions:
                return files
            path = root / f"learner{n:04d}" / f"{ex.name}{ex.submission_suffix}"
            path.parent.mkdir(parents=True, exist_ok=True)
            if ex.submission_suffix == ".toml":
                text = _quiz_submission(ex, rng)
            elif n % 97 == 13 and hostile_kinds:  # a few hostile files, one of each kind
                kind = hostile_kinds.pop()
                text = ex.solution.read_text() + HOSTILE[kind].format(name=ex.items[0].name)
            elif rng.random() < 0.03:
                text = _py_submission(ex, rng) + "\ndef broken(:\n    pass\n"
            else:
                text = _py_submission(ex, rng)
            path.write_text(text)
            files.append(path)
    return files


# ---------------------------------------------------------------- measuring


def _tree(root_pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
                ppid = int(stat.rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [root_pid]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo += children.get(pid, [])
    return out


def _pss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of one process so far (its own, not its children's)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0


class TreeSampler(threading.Thread):
    """Samples a process tree every 0.1 s: the peak of its summed PSS (KiB) and each process's CPU time.

    CPU time is read from /proc per process (the last value seen), because the
    sandboxes' processes are reaped inside their own PID namespace and never
    reach this process's ``RUSAGE_CHILDREN``; a process living under 0.1 s may be missed.
    """

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak, self.stop = pid, 0, threading.Event()
        self.cpu: dict[tuple[int, str], float] = {}

    def run(self) -> None:
        while not self.stop.is_set():
            pids = _tree(self.pid)
            self.peak = max(self.peak, sum(_pss_kib(p) for p in pids))
            for p in pids:
                try:
                    started = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()[19]
                except (OSError, IndexError):
                    continue
                self.cpu[(p, started)] = _cpu_seconds(p)
            self.stop.wait(0.1)

    @property
    def cpu_seconds(self) -> float:
        return sum(self.cpu.values())


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_batch_cli(class_dir: Path, out: Path, jobs: int, timeout: float,
                  stats: Path) -> tuple[float, int, float, str]:
    """``grader batch`` in a subprocess (plus a hook that saves each worker's cache counters)."""
    cmd = [sys.executable, __file__, "--as-cli", str(stats), "batch", str(class_dir), "--out", str(out),
           "--jobs", str(jobs), "--timeout", str(timeout)]
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    sampler = TreeSampler(proc.pid)
    sampler.start()
    stdout, _ = proc.communicate()
    seconds = time.perf_counter() - started
    sampler.stop.set()
    sampler.join()
    if proc.returncode != 0:
        raise SystemExit(f"grader batch failed ({proc.returncode}): {stdout}")
    return seconds, sampler.peak, sampler.cpu_seconds, stdout


def as_notebook(text: str) -> str:
    """A ``.py`` submission as a learner's notebook: its blocks in code cells between markdown, one with output."""
    cells: list[dict[str, Any]] = []
    for n, block in enumerate(b for b in text.split("\n\n\n") if b.strip()):
        cells.append({"cell_type": "markdown", "id": f"m{n}", "metadata": {}, "source": f"Step {n}"})
        cells.append({"cell_type": "code", "id": f"c{n}", "metadata": {}, "source": block, "execution_count": n,
                      "outputs": [{"output_type": "stream", "name": "stdout", "text": "ok\n"}]})
    return json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": cells})


def make_mixed(files: list[Path], class_dir: Path, mixed_dir: Path) -> int:
    """Copy the class into ``mixed_dir``, every other learner's ``.py`` files as notebooks; how many notebooks."""
    shutil.copytree(class_dir, mixed_dir)
    learners = sorted({f.parent.name for f in files})
    count = 0
    for f in files:
        if f.suffix == ".py" and learners.index(f.parent.name) % 2 == 0:
            target = mixed_dir / f.relative_to(class_dir)
            target.with_suffix(".ipynb").write_text(as_notebook(target.read_text()))
            target.unlink()
            count += 1
    return count


def run_fresh(files: list[Path], jobs: int, timeout: float, scratch: Path) -> float:
    """Wall seconds to grade ``files`` with one fresh ``grader grade`` process each, ``jobs`` at a time."""
    def one(path: Path) -> None:
        html = scratch / f"{path.parent.name}-{path.stem}.html"
        subprocess.run([*GRADER.split(), "grade", str(path), "--quiet", "--html", str(html),
                        "--timeout", str(timeout)], capture_output=True, check=False)

    started = time.perf_counter()
    with ThreadPoolExecutor(jobs) as pool:
        list(pool.map(one, files))
    return time.perf_counter() - started


def _as_cli(stats_dir: str, args: list[str]) -> None:
    """Run the grader CLI with each batch worker saving its equivalence-cache counters at exit."""
    import multiprocessing.util

    from grader import batch, cli, equivalence

    original = batch.init_worker

    def init_and_count(*a: Any) -> None:
        original(*a)

        def save() -> None:
            info = equivalence.cache_info()
            Path(stats_dir, f"{os.getpid()}.json").write_text(json.dumps({"hits": info.hits, "misses": info.misses}))

        multiprocessing.util.Finalize(None, save, exitpriority=20)

    batch.init_worker = init_and_count  # type: ignore[assignment]
    cli.main(args, prog_name="grader")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=1000)
    parser.add_argument("--jobs", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--timeout", type=float, default=2.0)
    parser.add_argument("--sample", type=int, default=20)
    parser.add_argument("--notebooks", action="store_true", help="also grade a mix of .py and .ipynb files")
    args = parser.parse_args()
    exercises = load_catalogue(find_catalogue(None))
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as tmp:
        tmpdir = Path(tmp)
        files = make_class(tmpdir / "class", exercises, args.submissions)
        print(f"synthetic class: {len(files)} submissions, {len({f.parent for f in files})} learners, "
              f"exercises {', '.join(e.name for e in exercises)}; jobs {args.jobs}, timeout {args.timeout:g} s")
        stats = tmpdir / "stats"
        stats.mkdir()
        seconds, peak_kib, batch_cpu, stdout = run_batch_cli(tmpdir / "class", tmpdir / "out", args.jobs,
                                                             args.timeout, stats)
        counters = [json.loads(p.read_text()) for p in stats.glob("*.json")]
        with sqlite3.connect(tmpdir / "out" / "gradebook.sqlite") as db:
            slowest = db.execute("SELECT learner, exercise, seconds, status FROM submissions "
                                 "ORDER BY seconds DESC LIMIT 3").fetchall()
            busy, distinct = db.execute("SELECT sum(s), count(*) FROM (SELECT max(seconds) AS s FROM submissions "
                                        "GROUP BY exercise, sha256)").fetchone()  # identical files: graded once
        hits, misses = sum(c["hits"] for c in counters), sum(c["misses"] for c in counters)
        rerun, _, _, _ = run_batch_cli(tmpdir / "class", tmpdir / "out", args.jobs, args.timeout, stats)
        if args.notebooks:
            notebooks = make_mixed(files, tmpdir / "class", tmpdir / "mixed")
            mixed, _, _, _ = run_batch_cli(tmpdir / "mixed", tmpdir / "out-mixed", args.jobs, args.timeout, stats)
            print(f"notebooks: .py only {seconds:.1f} s; the same class with {notebooks} of {len(files)} files as "
                  f".ipynb {mixed:.1f} s; added time per notebook submission "
                  f"{(mixed - seconds) / max(notebooks, 1) * 1000:+.0f} ms (wall, {args.jobs} jobs)")

        rng = random.Random(7)
        by_exercise: dict[str, list[Path]] = {}
        for f in files:
            by_exercise.setdefault(f.name, []).append(f)
        sample = [f for group in by_exercise.values()
                  for f in rng.sample(group, min(len(group), max(1, args.sample // len(by_exercise))))]
        (tmpdir / "fresh").mkdir()
        cpu0 = _children_cpu()
        fresh = run_fresh(sample, args.jobs, args.timeout, tmpdir / "fresh")
        fresh_cpu = _children_cpu() - cpu0

    batch_rate = len(files) / seconds
    fresh_rate = len(sample) / fresh
    print(f"grader batch:  {seconds:.1f} s for {len(files)} submissions = {batch_rate:.1f} submissions/s "
          f"(target: {len(files)} in <= 60 s: {'met' if seconds <= 60 else 'NOT met'})")
    print(f"  CPU time of the process tree, sampled (a lower bound: short-lived sandboxes are missed): "
          f"{batch_cpu:.1f} s = {1000 * batch_cpu / len(files):.0f} ms per submission, "
          f"{batch_cpu / args.jobs:.1f} s over {args.jobs} idle cores")
    print(f"  peak memory of the whole process tree (sum of PSS): {peak_kib / 1024:.0f} MiB")
    print(f"  equivalence cache over {len(counters)} workers: {hits} hits, {misses} misses "
          f"({100 * hits / max(hits + misses, 1):.0f}% hit rate)")
    print(f"  rerun with nothing to grade: {rerun:.1f} s")
    print(f"  {distinct} distinct files graded (identical files share one grading), {busy:.0f} s of worker time; "
          f"slowest: " +
          ", ".join(f"{learner}/{ex} {secs:.1f} s ({status})" for learner, ex, secs, status in slowest))
    print(f"  {stdout.strip().splitlines()[0]}")
    print(f"fresh process per submission: {fresh:.1f} s for a sample of {len(sample)} = {fresh_rate:.2f} "
          f"submissions/s, {statistics.fmean([fresh / len(sample)]):.2f} s each -> {len(files) / fresh_rate:.0f} s "
          f"extrapolated to {len(files)}")
    print(f"  CPU time (rusage of the finished processes): {fresh_cpu:.1f} s = "
          f"{1000 * fresh_cpu / len(sample):.0f} ms per submission")
    ratio = batch_rate / fresh_rate
    print(f"ratio (batch / fresh processes, wall time): {ratio:.1f}x "
          f"(target >= 10x: {'met' if ratio >= 10 else 'NOT met'})")
    print(f"machine load average during the run: {os.getloadavg()[0]:.1f} (other processes slow both sides)")
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--as-cli":
        _as_cli(sys.argv[2], sys.argv[3:])
    else:
        sys.exit(main())
