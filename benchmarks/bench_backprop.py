"""How long the grader's own process spends checking one backprop submission.

Target (issue 5): at most 50 ms of checking time for the whole ``backprop``
exercise per submission, on this machine. Checking time is everything the
grader does in its own process: planning the calls (``calls``), decoding the
learner's results and judging them (``check``), for all four items. It is
measured as CPU time of this process (``time.process_time``), which a busy
shared machine does not inflate; wall-clock time is shown beside it. The
learner's code runs in the sandbox and is timed separately (child time).
"cold" clears the grader's caches of encoded inputs first (the first
submission of a batch); "warm" keeps them (every later one).

Each submission is run once in the real sandbox; its plain results are then
checked REPEAT times. Baseline, measured in the same run: decoding every
outcome of that run once (the least any checker must do with the data).

``--exercise NAME`` measures another stage exercise of the catalogue on its
reference solution (the backprop corpus files exist for ``backprop`` only).

Run by hand:  python benchmarks/bench_backprop.py [--repeat 30] [--exercise backprop]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from grader.catalogue import find_catalogue, get_exercise
from grader.checks import checker_for
from grader.checks import stage_cases, stage_gradient, stage_update, stages
from grader.encoding import decode_value
from grader.sandbox import run_calls

ROOT = Path(__file__).resolve().parent.parent
SUBMISSIONS = [ROOT / "solutions" / "backprop.py",
               ROOT / "tests" / "backprop_corpus" / "correct_float32_backprop.py",
               ROOT / "tests" / "backprop_corpus" / "wrong_missing_sigmoid_prime_backprop.py",
               ROOT / "tests" / "backprop_corpus" / "wrong_regularisation_half_backprop.py",
               ROOT / "tests" / "backprop_corpus" / "ecf_loss_without_regularisation_backprop.py"]
TARGET_MS = 50.0


def _clear_caches() -> None:
    for cached in (stage_cases.cases_of, stage_cases.case_wire, stage_cases._leaf_wire, stage_gradient.fd_calls,
                   stage_update._gradients, stage_update._gradients_wire, stages.role):
        cached.cache_clear()


def _checking(exercise, run, cold: bool) -> tuple[float, float]:
    """(CPU ms, wall ms) to plan and check every item of one submission."""
    if cold:
        _clear_caches()
    stage_cases._DECODED.clear()  # a new submission's results are never already decoded
    cpu, wall = time.process_time(), time.perf_counter()
    for item in exercise.items:
        checker = checker_for(item.kind)
        checker.calls(item)
        checker.check(item, run, exercise.name)
    return (time.process_time() - cpu) * 1000, (time.perf_counter() - wall) * 1000


def _decoding(run) -> float:
    start = time.process_time()
    for outcome in run.outcomes.values():
        if outcome.status == "ok":
            decode_value(outcome.value)
            for arg in outcome.args_after or ():
                decode_value(arg)
    return (time.process_time() - start) * 1000


def _medians(samples: list[tuple[float, float]]) -> tuple[float, float]:
    return statistics.median(s[0] for s in samples), statistics.median(s[1] for s in samples)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--exercise", default="backprop")
    args = parser.parse_args()
    exercise = get_exercise(args.exercise, find_catalogue())
    submissions = SUBMISSIONS if args.exercise == "backprop" else [ROOT / "solutions" / f"{args.exercise}.py"]
    calls = [c for item in exercise.items for c in checker_for(item.kind).calls(item)]
    print(f"{len(calls)} learner calls per submission; target {TARGET_MS:g} ms of checking time\n")
    print(f"{'submission':45s} {'child s':>7s} {'cold cpu':>8s} {'warm cpu':>8s} {'cold wall':>9s} "
          f"{'decode':>6s} {'ratio':>5s}   (ms; ratio = cold cpu / decode)")
    worst = 0.0
    for path in submissions:
        started = time.perf_counter()
        run = run_calls(path, calls)
        child = time.perf_counter() - started
        cold_cpu, cold_wall = _medians([_checking(exercise, run, True) for _ in range(args.repeat)])
        warm_cpu, _ = _medians([_checking(exercise, run, False) for _ in range(args.repeat)])
        base = statistics.median(_decoding(run) for _ in range(args.repeat))
        worst = max(worst, cold_cpu)
        print(f"{path.name:45s} {child:7.2f} {cold_cpu:8.1f} {warm_cpu:8.1f} {cold_wall:9.1f} {base:6.1f} "
              f"{cold_cpu / base:5.2f}")
    verdict = "meets" if worst <= TARGET_MS else "MISSES"
    print(f"\nworst median checking time (cold caches, CPU): {worst:.1f} ms: {verdict} the {TARGET_MS:g} ms target")
    return 0 if worst <= TARGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())
