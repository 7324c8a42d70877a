"""Run the equivalence engine over the shared labelled corpus and report accuracy and time.

Usage: python benchmarks/bench_equivalence.py [CORPUS.jsonl]
(default ../shared/corpus/equivalence_public.jsonl beside the project root).
Prints accuracy, false "equivalent", false "not equivalent", undecided, and the
median and maximum seconds per pair, cold (empty cache) and warm (cached);
as a baseline from the same run it times SymPy's ``simplify(a - b) == 0`` on the
same pairs (each bounded to the first 20 pairs: it can take minutes).
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

import sympy as sp

from grader import equivalence
from grader.parsing import parse_expression
from grader.spec import Variable

DEFAULT = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "equivalence_public.jsonl"


def main(argv: list[str]) -> int:
    path = Path(argv[1]) if len(argv) > 1 else DEFAULT
    if not path.exists():
        print(f"corpus not found at {path}: nothing to measure (pass a JSONL file of a/b/vars/expected)")
        return 0
    cases = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    # one throw-away comparison first: SymPy imports some modules lazily on first use (~0.1 s)
    equivalence.compare(parse_expression("(x+1)/x"), parse_expression("1 + 1/x"), [Variable("x")])
    equivalence.clear_cache()
    rows, times, warm = [], [], []
    for case in cases:
        names = case.get("vars", [])
        a, b = parse_expression(case["a"], []), parse_expression(case["b"], [])
        variables = [Variable(n) for n in names]
        t = time.perf_counter()
        v = equivalence.compare(a, b, variables)
        times.append(time.perf_counter() - t)
        t = time.perf_counter()
        equivalence.compare(a, b, variables)
        warm.append(time.perf_counter() - t)
        rows.append((case, v))
    wrong = [(c, v) for c, v in rows if v.status != "undecided" and (v.status == "equivalent") != c["expected"]]
    false_eq = [c["id"] for c, v in wrong if v.status == "equivalent"]
    false_neq = [c["id"] for c, v in wrong if v.status == "not_equivalent"]
    undecided = [c["id"] for c, v in rows if v.status == "undecided"]
    right = len(rows) - len(wrong) - len(undecided)
    print(f"corpus: {path} ({len(rows)} pairs)")
    print(f"accuracy: {right}/{len(rows)} = {right / len(rows):.1%}")
    print(f"false equivalent: {len(false_eq)} {false_eq}")
    print(f"false not-equivalent: {len(false_neq)} {false_neq}")
    print(f"undecided: {len(undecided)} {undecided}")
    print(f"cold: median {statistics.median(times) * 1e3:.2f} ms, max {max(times) * 1e3:.1f} ms "
          f"({rows[times.index(max(times))][0]['id']})")
    print(f"warm (cache hit): median {statistics.median(warm) * 1e6:.0f} us")
    base = []
    for case in cases[:20]:
        a, b = sp.sympify(case["a"]), sp.sympify(case["b"])  # trusted corpus text, baseline only
        t = time.perf_counter()
        sp.simplify(a - b)
        base.append(time.perf_counter() - t)
    med_engine = statistics.median(times[:20])
    print(f"baseline simplify(a - b) on the first 20 pairs: median {statistics.median(base) * 1e3:.1f} ms; "
          f"engine median on the same pairs {med_engine * 1e3:.2f} ms "
          f"(ratio {statistics.median(base) / med_engine:.1f}x)")
    hostile = ["(x+1)^(10^6)", "x^(10^(10^6))", "2^(2^(2^(2^100)))", "sin(10^(10^5) x)",
               "exp(exp(exp(exp(exp(x)))))", "+".join(["sin(x)^2"] * 200),
               "((((((((((x+1)^2+1)^2+1)^2+1)^2+1)^2+1)^2+1)^2+1)^2+1)^2+1)^2"]
    worst = []
    for text in hostile:
        equivalence.clear_cache()
        t = time.perf_counter()
        v = equivalence.compare(parse_expression("x"), parse_expression(text), [Variable("x")])
        worst.append((time.perf_counter() - t, text[:30], v.status))
    slowest = max(worst)
    print(f"hostile answers ({len(hostile)}): max {slowest[0] * 1e3:.1f} ms ({slowest[1]!r} -> {slowest[2]}), "
          f"median {statistics.median(w[0] for w in worst) * 1e3:.1f} ms")
    for c, v in wrong + [(c, v) for c, v in rows if v.status == "undecided"]:
        print(f"  {c['id']}: expected {c['expected']}, got {v.status}: {v.evidence}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
