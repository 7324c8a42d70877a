"""Time the HTML feedback report (target: at most 100 ms per report).

Usage: python benchmarks/bench_report.py [REPEATS]   (default 200)

Grades ``tests/submissions/partly_wrong_derivatives.py`` once (plots, MathML,
counterexamples) and builds a synthetic backprop result with three error maps
(one 30 x 30, pooled), then renders each REPEATS times. As a baseline from the
same run it times the Gradescope JSON renderer on the same results and prints
the ratio. It also times the checker-side work the report adds (MathML and
curve sampling in ``grader.render.illustrate``) per wrong symbolic item, with the
MathML cache cleared (first learner) and warm (repeated trees in a class).
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path
from typing import Callable

import sympy as sp

from grader.catalogue import find_catalogue, load_catalogue
from grader.grading import grade_file
from grader.render.illustrate import illustrate
from grader.render import gradescope, html, mathml
from grader.results import ExerciseResult, ItemResult

ROOT = Path(__file__).resolve().parents[1]


def timed(fn: Callable[[], object], repeats: int) -> list[float]:
    """Milliseconds for each of ``repeats`` calls."""
    out = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        out.append((time.perf_counter() - started) * 1000)
    return out


def backprop_result() -> ExerciseResult:
    maps = {"dW1": [[1e-12, 0.4, 1e-9, 0.0], [2e-5, 1e-3, 3.0, 0.0], [0.0] * 4],
            "db1": [1e-10, 0.02, 0.0, 0.0], "dW2": [[0.001 * (i + j) for j in range(30)] for i in range(30)]}
    return ExerciseResult("backprop", "One backprop step", "bob_backprop.py", (
        ItemResult("backprop", "backward", "numeric", 4, 0, "failed", "dW1: 3 of 12 entries differ",
                   evidence={"error_maps": maps}),))


def report_line(name: str, ms: list[float]) -> str:
    ms = sorted(ms)
    return (f"{name:<34} median {statistics.median(ms):7.2f} ms   p95 {ms[int(0.95 * (len(ms) - 1))]:7.2f} ms"
            f"   max {ms[-1]:7.2f} ms")


def main(argv: list[str]) -> int:
    repeats = int(argv[1]) if len(argv) > 1 else 200
    exercise = next(e for e in load_catalogue(find_catalogue(None)) if e.name == "derivatives")
    graded = grade_file(ROOT / "tests" / "submissions" / "partly_wrong_derivatives.py", exercise)
    cases = {"derivatives (partly wrong)": graded, "backprop (3 heatmaps)": backprop_result()}
    html.render(graded)  # template compilation is a one-off cost per process; not part of a report
    print(f"{repeats} renders each; Python {sys.version.split()[0]}")
    worst = 0.0
    for name, result in cases.items():
        page = html.render(result, show_solutions=True)
        h = timed(lambda: html.render(result, show_solutions=True), repeats)
        j = timed(lambda: gradescope.render(result), repeats)
        worst = max(worst, statistics.median(h))
        print(f"\n{name}: {len(page) / 1024:.1f} KiB of HTML")
        print(report_line("HTML report", h))
        print(report_line("baseline: Gradescope JSON", j))
        print(f"{'ratio HTML / JSON (medians)':<34} {statistics.median(h) / statistics.median(j):7.1f}x")
    wrong = []
    for item in exercise.items:
        if len(item.variables) == 1:
            var = sp.Symbol(item.variables[0].name, **item.variables[0].assumptions())
            ref = item.reference(var)
            wrong.append((item, ref, ref + sp.sin(var)))
    plots = sum(illustrate(i.variables, ref, ans).plot is not None for i, ref, ans in wrong)
    def cold() -> None:
        mathml._scalar_body.cache_clear()
        for i, ref, ans in wrong:
            illustrate(i.variables, ref, ans)

    cold_ms = [t / len(wrong) for t in timed(cold, 20)]
    warm_ms = [t / len(wrong) for t in timed(lambda: [illustrate(i.variables, ref, ans) for i, ref, ans in wrong], 20)]
    print(f"\nchecker side, per wrong symbolic item (MathML of both sides + curve samples; "
          f"{plots} of {len(wrong)} items plotted):")
    print(report_line("grader.render.illustrate, MathML uncached", cold_ms))
    print(report_line("grader.render.illustrate, MathML cached", warm_ms))
    verdict = "meets" if worst <= 100 else "MISSES"
    print(f"\nslowest median report {worst:.2f} ms: {verdict} the 100 ms target "
          f"(1,000 reports ≈ {worst:.0f} ms x 1000 = {worst:.1f} s)")
    return 0 if worst <= 100 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
