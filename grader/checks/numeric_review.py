"""Second look at a numeric item's verdict: authored mistakes, convergence, warnings.

``review(item, run, exercise, verdict)`` takes the plain entry-by-entry verdict
of :mod:`grader.checks.numeric` and refines it with what the item's spec asks:

* ``mistakes=[mistake(callable, feedback, tag)]``: when the learner's outputs
  match a known wrong function's outputs on every case, the authored feedback
  replaces the generic "entries differ" line;
* ``converges_to=value``: for trajectory items such as gradient descent, a
  wrong trajectory is also judged by where it ends;
* ``no_warnings=True`` or a hint string: a warning raised
  during the learner's call (overflow in ``np.exp``) fails an otherwise right
  answer; underflow to 0 is ignored.

Pure: it only decodes plain results and runs reference-side callables.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..encoding import decode_value
from ..errors import DecodeError
from ..numeric import compare_values
from ..results import ItemResult
from ..runtypes import RunResult
from ..spec import Mistake, NumericItem
from .diagnose import Diagnosis, diagnose_values, transposed

#: verdicts this module (and the kit's numeric check) may refine; errors, timeouts and forbidden helpers are left alone
REFINABLE = (None, "numeric_values", "numeric_shape", "numeric_length", "numeric_type",
              "numeric_nonfinite", "numeric_keys", "numeric_dtype")


def learner_outputs(item: NumericItem, run: RunResult, n_cases: int) -> list[Any] | None:
    """The decoded output of every case, or None when any call failed or cannot be read."""
    outputs = []
    for i in range(n_cases):
        outcome = run.outcomes.get(f"{item.name}#{i}")
        if outcome is None or outcome.status != "ok":
            return None
        try:
            outputs.append(decode_value(outcome.value))
        except DecodeError:
            return None
    return outputs


def _quietly(func: Any, case: tuple[Any, ...]) -> Any:
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return func(*copy.deepcopy(case))


def matching_mistake(item: NumericItem, cases: Sequence[tuple[Any, ...]], outputs: Sequence[Any]) -> Mistake | None:
    """The first authored mistake whose outputs equal the learner's on every case."""
    for m in item.mistakes:
        if not callable(m.answer):
            continue
        try:
            if all(compare_values(_quietly(m.answer, case), got, "output", item.rtol, item.atol) is None
                   for case, got in zip(cases, outputs)):
                return m
        except Exception:  # an authored callable that does not fit this case is no match
            continue
    return None


def generic_diagnosis(item: NumericItem, cases: Sequence[tuple[Any, ...]], outputs: Sequence[Any]) -> Diagnosis | None:
    """Sign, a constant factor (named), transposed: the same network-free diagnoses every stage gets, for
    items whose outputs are single arrays or numbers."""
    wants, gots = [], []
    for case, got in zip(cases, outputs):
        try:
            want = _quietly(item.reference, case)
        except Exception:  # a reference that fails on its own case: nothing to diagnose with
            return None
        w, g = np.asarray(want), got
        if not (isinstance(g, (np.ndarray, float, int)) and not isinstance(g, bool)) or w.dtype.kind not in "iuf":
            return None
        g = np.asarray(g)
        if g.shape != w.shape:
            if g.ndim == 2 and compare_values(w, g.T, "output", item.rtol, item.atol) is None:
                return transposed(item.name, g, w, True)
            return None
        wants.append(np.atleast_1d(w.astype(np.float64)))
        gots.append(np.atleast_1d(g))
    if not wants or all(compare_values(w, g, "output", item.rtol, item.atol) is None for w, g in zip(wants, gots)):
        return None
    found = diagnose_values(item.name, gots, wants, None, [1] * len(wants), what="the right answer")
    return found if found is not None and found.factor is not None else None


def _last_number(value: Any) -> float | None:
    if isinstance(value, np.ndarray) and value.ndim == 1 and value.size:
        value = list(value)
    if isinstance(value, (list, tuple)) and value:
        last = value[-1]
        if isinstance(last, np.ndarray) and last.size == 1:
            last = last.reshape(())[()]
        if isinstance(last, (int, float, np.integer, np.floating)) and not isinstance(last, bool):
            return float(last)
    return None


def convergence_note(item: NumericItem, cases: Sequence[tuple[Any, ...]], outputs: Sequence[Any]) -> str | None:
    """Where a wrong trajectory ends, when the reference's own trajectory reaches ``converges_to``."""
    target = item.converges_to
    if target is None:
        return None
    for case, got in zip(cases, outputs):
        ref_last = _last_number(_quietly(item.reference, case))
        if ref_last is None or abs(ref_last - target) > 1e-3 * max(1.0, abs(target)):
            continue
        last = _last_number(got)
        if last is None:
            return f"the result should be a list of θ values ending near {target:g}"
        if not math.isfinite(last) or abs(last - target) > 1e-3 * max(1.0, abs(target)):
            return (f"with arguments {', '.join(repr(a) for a in case)} the reference reaches {ref_last:.6g} "
                    f"(the minimum is {target:g}), but your last value is {last:.6g}: it does not converge to "
                    f"{target:g}")
    return None


def warning_lines(item: NumericItem, run: RunResult, n_cases: int) -> list[str]:
    """Distinct NumPy warnings the learner's calls raised, as ``test input N: warning`` lines."""
    seen: dict[str, str] = {}
    for i in range(n_cases):
        outcome = run.outcomes.get(f"{item.name}#{i}")
        for w in getattr(outcome, "warnings", ()) or ():
            # NumPy reports floating-point trouble as RuntimeWarning; underflow to 0 is the right float answer
            if w.startswith("RuntimeWarning") and "underflow" not in w:
                seen.setdefault(w, f"test input {i + 1}: {w}")
    return list(seen.values())


def review(item: NumericItem, run: RunResult, exercise: str, verdict: ItemResult,
           cases: Sequence[tuple[Any, ...]]) -> ItemResult:
    """Refine ``verdict`` (judged on ``cases``) with the item's authored mistakes, convergence target and
    warning rule."""
    if verdict.status not in ("passed", "failed") or verdict.diagnosis not in REFINABLE:
        return verdict
    outputs = learner_outputs(item, run, len(cases))
    warned = tuple(warning_lines(item, run, len(cases))) if item.no_warnings else ()
    if verdict.status == "failed" and outputs is not None:
        found = matching_mistake(item, cases, outputs)
        if found is not None:
            return dataclasses.replace(verdict, feedback=found.feedback, diagnosis=found.tag,
                                       details=verdict.details + (verdict.feedback,) + warned)
        generic = generic_diagnosis(item, cases, outputs)
        if generic is not None:
            return dataclasses.replace(verdict, feedback=f"{verdict.feedback}: {generic.message}",
                                       diagnosis=generic.tag,
                                       evidence={**verdict.evidence, "factor": generic.factor})
        note = convergence_note(item, cases, outputs)
        if note:
            return dataclasses.replace(verdict, details=verdict.details + (note,) + warned,
                                       evidence={**verdict.evidence, "converges": False})
    if warned and verdict.status == "passed":
        first = warned[0].split(": ", 1)[1]
        rule = item.no_warnings
        hint = rule if isinstance(rule, str) else "make it work without warnings for large inputs"
        return dataclasses.replace(
            verdict, status="failed", points=0.0, diagnosis="runtime_warning", details=warned,
            feedback=f"{item.name} gives the right values but NumPy warned while computing them ({first}): {hint}")
    return dataclasses.replace(verdict, details=verdict.details + warned) if warned else verdict
