"""Numeric items: the learner's function is run on generated inputs and compared entrywise."""

from __future__ import annotations

import copy
import zlib
from typing import Any

import numpy as np

from ..encoding import decode_value, encode_value
from ..errors import DecodeError
from ..numeric import compare_values, error_map
from ..results import ItemResult
from ..runtypes import Call, RunResult
from ..spec import NumericItem
from .common import outcome_problem, result
from .in_place import Change, changed_arguments, charge
from .numeric_review import review


def item_cases(item: NumericItem) -> list[tuple[Any, ...]]:
    """The item's input cases, from a generator seeded by the item's name (same every run)."""
    rng = np.random.default_rng(zlib.crc32(item.name.encode()))
    return [tuple(c) for c in item.cases(rng)] if item.cases else [()]


def calls(item: NumericItem) -> list[Call]:
    """One call per generated case."""
    return [Call(f"{item.name}#{i}", item.name, tuple(encode_value(a) for a in case),
                 timeout=item.timeout, report_args=item.check_unmodified)
            for i, case in enumerate(item_cases(item))]


def _fmt_args(case: tuple[Any, ...]) -> str:
    parts = []
    for a in case:
        if isinstance(a, np.ndarray):
            parts.append(f"array of shape {a.shape}" if a.size > 4 else np.array2string(a, precision=4))
        elif isinstance(a, dict):
            parts.append("{" + ", ".join(f"{k}: shape {getattr(v, 'shape', '')}" for k, v in a.items()) + "}")
        else:
            parts.append(repr(a))
    return ", ".join(parts)


def check(item: NumericItem, run: RunResult, exercise: str) -> ItemResult:
    """All cases must match the reference; then authored mistakes, convergence and warnings are reviewed,
    and a change to the caller's arguments is charged (:mod:`.in_place`)."""
    cases = item_cases(item)
    verdict = review(item, run, exercise, _check_cases(item, run, exercise, cases), cases)
    return charge(item, verdict, _changes(item, run, cases))


def _check_cases(item: NumericItem, run: RunResult, exercise: str, cases: list[tuple[Any, ...]]) -> ItemResult:
    """All cases must match the reference; the first failing case is described."""
    for i, case in enumerate(cases):
        outcome = run.outcomes.get(f"{item.name}#{i}")
        problem = outcome_problem(item, exercise, outcome)
        if problem:
            return problem
        assert outcome is not None  # outcome_problem reports a missing outcome
        try:
            got = decode_value(outcome.value)
        except DecodeError as exc:
            return result(item, exercise, passed=False, diagnosis="unreadable",
                          feedback=f"{item.name} returned something the grader refuses to read: {exc}")
        want = item.reference(*copy.deepcopy(case))
        mismatch = compare_values(want, got, "output", item.rtol, item.atol)
        if mismatch:
            evidence: dict[str, Any] = {"case": i, "max_abs_error": mismatch.max_abs_error,
                                        "max_rel_error": mismatch.max_rel_error}
            evidence.update(_error_map(want, got, item))
            return result(item, exercise, passed=False, diagnosis=f"numeric_{mismatch.kind}",
                          feedback=f"{item.name}({_fmt_args(case)}): {mismatch.message}",
                          details=mismatch.table, evidence=evidence)
    return result(item, exercise, passed=True, feedback=f"correct on all {len(cases)} test inputs")


def _changes(item: NumericItem, run: RunResult, cases: list[tuple[Any, ...]]) -> list[Change]:
    """The arguments the learner's calls changed in place, over every case."""
    if not item.check_unmodified:
        return []
    changes = []
    for i, case in enumerate(cases):
        names = [*item.parameters, *(f"argument {j + 1}" for j in range(len(item.parameters), len(case)))]
        changes += changed_arguments(names, case, run.outcomes.get(f"{item.name}#{i}"))
    return changes


def _error_map(want: Any, got: Any, item: NumericItem) -> dict[str, Any]:
    """Per-entry relative errors of an array output, for the report's heatmap (empty when not an array)."""
    if not (isinstance(want, np.ndarray) and isinstance(got, np.ndarray) and want.shape == got.shape
            and 1 <= want.ndim <= 2 and got.dtype.kind in "iuf" and want.size <= 10_000):
        return {}
    errors, rtol = error_map(want.reshape(1, -1) if want.ndim == 1 else want,
                             got.reshape(1, -1) if got.ndim == 1 else got, item.rtol, item.atol)
    return {"error_maps": {"output": errors}, "rtol": rtol}
