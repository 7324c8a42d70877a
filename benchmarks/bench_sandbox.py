"""Per-submission cost of running learner code: a fresh sandboxed child vs a fork from the pool.

Runs every call of one exercise against one submission, ``--repeat`` times per
way, in each sandbox mode available here, and prints the median wall time and
the ratio fresh/pool (both measured in the same run). Run by hand:

    python benchmarks/bench_sandbox.py [--repeat 15] [--submission FILE] [--exercise NAME]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from grader import isolation
from grader.catalogue import find_catalogue, load_catalogue
from grader.checks import checker_for
from grader.forkserver import SandboxPool
from grader.runtypes import Limits
from grader.sandbox import run_calls

ROOT = Path(__file__).resolve().parent.parent


def _median_ms(fn, repeat: int) -> tuple[float, list[float]]:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times), times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--submission", type=Path, default=ROOT / "tests" / "submissions" / "partly_wrong_derivatives.py")
    ap.add_argument("--exercise", default="derivatives")
    args = ap.parse_args()
    ex = {e.name: e for e in load_catalogue(find_catalogue(ROOT))}[args.exercise]
    calls = [c for item in ex.items for c in checker_for(item.kind).calls(item)]
    modes = ["rlimits"] + (["bwrap"] if isolation.bwrap_works() is None else [])
    print(f"{len(calls)} calls of {args.exercise} on {args.submission.name}, {args.repeat} runs each")
    for mode in modes:
        limits = Limits(sandbox=mode)
        t = time.perf_counter()
        with SandboxPool(limits) as pool:
            start_ms = (time.perf_counter() - t) * 1000
            pool.run(args.submission, calls, limits)  # warm-up
            for label, todo in (("import only", []), ("all calls", calls)):
                fresh, _ = _median_ms(lambda: run_calls(args.submission, todo, limits), args.repeat)
                pooled, _ = _median_ms(lambda: pool.run(args.submission, todo, limits), args.repeat)
                print(f"{mode:8s} {label:11s} fresh run_calls median {fresh:7.1f} ms | pool.run median "
                      f"{pooled:6.1f} ms | ratio {fresh / pooled:5.1f}x")
        print(f"{mode:8s} pool start (sandbox + imports, once) {start_ms:.0f} ms")

if __name__ == "__main__":
    main()
