"""Time the parts of grading issue 3 added: the static scan and the quiz.

Usage: python benchmarks/bench_curriculum.py [REPEATS]   (default 50)

* Static scan of the reference ``solutions/derivatives.py`` and of a synthetic
  ~1 MiB submission (the size cap), against ``ast.parse`` of the same text as
  the baseline from the same run: the ratio is what the scan adds to parsing.
* Grading a filled-in quiz (``tests/submissions/partly_right_quiz.toml``) end
  to end with ``grade_file`` (no sandbox: a quiz runs no learner code), cold
  (first time, empty equivalence cache) and warm.
Prints medians in milliseconds.
"""

from __future__ import annotations

import ast
import statistics
import sys
import time
from pathlib import Path
from typing import Callable

from grader.catalogue import find_catalogue, get_exercise
from grader.grading import grade_file
from grader.static_scan import enforce, scan_source

ROOT = Path(__file__).resolve().parents[1]


def timed(fn: Callable[[], object], repeats: int) -> list[float]:
    """Milliseconds for each of ``repeats`` calls."""
    out = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        out.append((time.perf_counter() - started) * 1000)
    return out


def big_submission(target_bytes: int = 1 << 20) -> str:
    """Many helper functions calling each other, some using sympy.diff: a worst case near the size cap."""
    parts = ["import sympy as sp\n"]
    i = 0
    while sum(map(len, parts)) < target_bytes:
        body = "sp.diff(x, x)" if i % 50 == 0 else f"_h{i - 1}(x) + x**2" if i else "x"
        parts.append(f"def _h{i}(x):\n    y = {body}\n    return y * 2 + sp.exp(-x)\n\n")
        i += 1
    parts.append(f"def d_exp(x):\n    return _h{i - 1}(x)\n")
    return "".join(parts)


def main(repeats: int) -> None:
    root = find_catalogue(ROOT)
    deriv = get_exercise("derivatives", root)
    for label, text in (("reference derivatives.py", deriv.solution.read_text()),
                        ("synthetic 1 MiB file", big_submission())):
        reps = repeats if len(text) < 100_000 else max(3, repeats // 10)
        base = statistics.median(timed(lambda: ast.parse(text), reps))
        scan = statistics.median(timed(lambda: scan_source(text), reps))
        scanned = scan_source(text)
        results = grade_file(deriv.solution, deriv).items
        apply = statistics.median(timed(lambda: enforce(deriv.items, results, scanned), reps))
        print(f"{label} ({len(text) / 1024:.0f} KiB): ast.parse {base:.2f} ms, scan {scan:.2f} ms "
              f"(ratio {scan / base:.2f}), enforce {apply:.2f} ms  [median of {reps}]")

    quiz = get_exercise("quiz", root)
    sheet = ROOT / "tests" / "submissions" / "partly_right_quiz.toml"
    started = time.perf_counter()
    grade_file(sheet, quiz)
    cold = (time.perf_counter() - started) * 1000
    warm = statistics.median(timed(lambda: grade_file(sheet, quiz), repeats))
    print(f"quiz of {len(quiz.items)} questions: cold {cold:.1f} ms, warm median {warm:.1f} ms "
          f"[median of {repeats}]")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 50)
