"""Stages judged value by value (a forward pass's outputs) or as one number (a loss), and what every
stage check shares: the verdict, in-place changes, authored mistakes, "which step first went wrong".

A value stage's outputs (the keys of a dict, the entries of a tuple, or one
array) are each worth an equal share; a key is right when it matches the
reference, or what ``follows[key]`` gives from the learner's own earlier keys
(``carried_forward``). A scalar stage is right when it matches the reference on
every case, or what ``given`` computes from the learner's own output of the
earlier stage; a wrong one is diagnosed (authored mistakes, then the
regularisation / batch-size / sign models of :func:`.diagnose.scalar_models`),
and a non-finite value names the case (a saturating output: ``log(0)``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..numeric import agrees, compare_values, error_map
from ..results import ItemResult
from ..runtypes import RunResult
from ..spec import StageItem
from .common import result
from .diagnose import Diagnosis, scalar_models
from .in_place import Change, changed_arguments, charge
from .stage_cases import (
    arg_names,
    args_wire,
    as_float,
    call_reference,
    cases_of,
    decoded,
    evidence_cases,
    is_number,
    scalars_close,
)


def finish(item: StageItem, exercise: str, earned: float, feedback: str, details: Sequence[str],
           evidence: dict[str, Any], diagnosis: str | None, changes: list[Change]) -> ItemResult:
    """The verdict: passed at full points, the diagnosis kept only when it failed; in-place changes charged."""
    earned = round(earned, 6)
    passed = earned >= item.points
    verdict = result(item, exercise, passed=passed, points=earned, feedback=feedback, details=tuple(details),
                     diagnosis=None if passed else diagnosis, evidence=evidence)
    return charge(item, verdict, changes)


def changes(item: StageItem, run: RunResult, originals: dict[int, tuple[Any, ...]] | None = None) -> list[Change]:
    """The arguments the stage's calls changed in place, over every case (arrays and containers)."""
    names = arg_names(item.reference)
    found: list[Change] = []
    for i, c in enumerate(cases_of(item.net)):
        sent = args_wire(item.net, i, names) if originals is None else None
        given = originals[i] if originals is not None else tuple(c.args[n] for n in names)
        found += changed_arguments(names, given, run.outcomes.get(f"{item.name}#{i}"), sent)
    return found


class Mistakes:
    """The outputs of the stage's authored mistakes per case, computed on first use; a mistake that
    does not fit a case gives None there."""

    def __init__(self, item: StageItem) -> None:
        self.item = item
        self.memo: dict[tuple[int, int], Any] = {}

    def output(self, index: int, case: int) -> Any:
        key = (index, case)
        if key not in self.memo:
            answer = self.item.mistakes[index].answer
            try:
                self.memo[key] = call_reference(answer, cases_of(self.item.net)[case]) if callable(answer) else None
            except Exception:  # an authored callable that does not fit a case is simply no match
                self.memo[key] = None
        return self.memo[key]


def first_wrong_step(item: StageItem, run: RunResult) -> str | None:
    """The first earlier stage (``after``) whose learner output on case 0 differs from its reference."""
    c = cases_of(item.net)[0]
    rtol, atol = item.tolerances
    for earlier in item.after:
        ok, theirs = decoded(run.outcomes.get(f"{earlier.__name__}#0"))
        if not ok:
            continue
        want = call_reference(earlier, c)
        if isinstance(want, (int, float)):
            if not (is_number(theirs) and scalars_close(as_float(theirs), float(want), rtol)):
                return earlier.__name__
        elif compare_values(want, theirs, earlier.__name__, rtol, atol) is not None:
            return earlier.__name__
    return None


def own_earlier(item: StageItem, run: RunResult, index: int) -> tuple[bool, Any]:
    """The learner's own output of the earlier stage ``after[0]`` on case ``index``."""
    if not item.after:
        return False, None
    return decoded(run.outcomes.get(f"{item.after[0].__name__}#{index}"))


# ---------------------------------------------------------------- value stages


def _keys(ref: Any) -> list[Any]:
    if isinstance(ref, dict):
        return list(ref)
    if isinstance(ref, (list, tuple)):
        return list(range(len(ref)))
    return [None]


def _label(item: StageItem, key: Any) -> str:
    return item.name if key is None else f"{key}" if isinstance(key, str) else f"{item.name}[{key}]"


def _entry(value: Any, key: Any) -> Any:
    if key is None:
        return value
    if isinstance(value, dict):
        return value.get(key)
    if isinstance(value, (list, tuple)) and isinstance(key, int) and key < len(value):
        return value[key]
    return None


def _hint(item: StageItem, mistakes: Mistakes, case: int, keys: list[Any], key: Any, value: Any,
          ref: Any) -> tuple[str, str] | None:
    """(tag, feedback) of the first authored mistake whose first wrong key is ``key`` and whose output there
    is the learner's value (so a mistake is named where it starts, not where it carries on)."""
    for index, m in enumerate(item.mistakes):
        out = mistakes.output(index, case)
        mine = _entry(out, key)
        if mine is None or not agrees(mine, value):
            continue
        starts = next((k for k in keys if not agrees(_entry(ref, k), _entry(out, k))), None)
        if starts == key:
            return m.tag, m.feedback
    return None


def check_values(item: StageItem, run: RunResult, exercise: str) -> ItemResult:
    """Each output key against the reference, or against ``follows`` applied to the learner's own keys."""
    cases = cases_of(item.net)
    rtol, atol = item.tolerances
    follows = dict(item.follows)
    mistakes = Mistakes(item)
    keys: list[Any] = []
    status: dict[str, str] = {}
    messages: dict[str, str] = {}
    tags: dict[str, str] = {}
    map_case, maps, rtols = None, {}, [rtol]
    for i, c in enumerate(cases):
        got = decoded(run.outcomes.get(f"{item.name}#{i}"))[1]
        ref = call_reference(item.reference, c)
        if not keys:
            keys = _keys(ref)
            status = {_label(item, k): "ok" for k in keys}
        top = compare_values(ref, got, f"{item.name}'s result", rtol, atol)
        if top is not None and top.kind in ("type", "keys", "length"):
            return finish(item, exercise, 0.0, f"{item.name} on a {item.net.unit} with {c.describe()}: "
                                               f"{top.message}", [], {}, f"numeric_{top.kind}", [])
        own: dict[Any, Any] = {}
        for k in keys:
            label = _label(item, k)
            value, want = _entry(got, k), _entry(ref, k)
            expected = want
            rule = follows.get(label)
            if rule is not None:
                try:
                    theirs = np.asarray(rule(own, *(c.args[n] for n in arg_names(item.reference))))
                    if theirs.shape == np.shape(want):
                        expected = theirs
                except Exception:  # nothing of theirs to build on
                    pass
            own[label] = value if isinstance(value, np.ndarray) else None
            mismatch = compare_values(np.asarray(expected), value, label, rtol, atol)
            if mismatch is None:
                if status[label] == "ok" and not agrees(want, value, rtol, atol):
                    status[label] = "carried_forward"
                continue
            if status[label] != "wrong":
                status[label] = "wrong"
                found = _hint(item, mistakes, i, keys, k, value, ref) if isinstance(value, np.ndarray) else None
                if found:
                    tags[label] = found[0]
                hint = f": {found[1]}" if found else ""
                messages[label] = f"{mismatch.message}{hint} ({item.net.unit} with {c.describe()})"
            if map_case is None and mismatch.kind == "values":
                map_case = i
            if map_case == i and isinstance(value, np.ndarray) and value.shape == np.shape(expected) \
                    and value.ndim <= 2:
                maps[label], applied = error_map(np.atleast_2d(np.asarray(expected)), np.atleast_2d(value), rtol,
                                                 atol)
                rtols.append(applied)
    labels = list(status)
    wrong = [k for k in labels if status[k] == "wrong"]
    earned = item.points * sum(1 for k in labels if status[k] != "wrong") / len(labels)
    evidence: dict[str, Any] = {"cases": evidence_cases(item.net), "keys": status}
    if maps:
        evidence.update(error_maps=maps, map_case=map_case, rtol=max(rtols))
    if tags:
        evidence["diagnoses"] = tags
    if wrong:
        evidence["first_wrong"] = wrong[0]
        rest = f"; {', '.join(wrong[1:])} also wrong" if len(wrong) > 1 else ""
        feedback = f"{messages[wrong[0]]}{rest}"
        details = [messages[k] for k in wrong]
    else:
        carried = [k for k in labels if status[k] == "carried_forward"]
        shown = labels[0] if len(labels) == 1 else f"{', '.join(labels[:-1])} and {labels[-1]}"
        feedback = f"{shown} {'is' if len(labels) == 1 else 'are'} right on all {len(cases)} {item.net.unit}s"
        details = [f"{', '.join(carried)} judged on your own earlier values"] if carried else []
    return finish(item, exercise, earned, feedback, details, evidence,
                  f"{item.name}_{wrong[0]}" if wrong else None, changes(item, run))


# ---------------------------------------------------------------- scalar stages


def _scalar_diagnosis(item: StageItem, values: list[float], expected: list[float]) -> Diagnosis | None:
    cases = cases_of(item.net)
    mistakes = Mistakes(item)
    rtol = item.tolerances[0]
    usable = [i for i, v in enumerate(values) if math.isfinite(v)]
    for index, m in enumerate(item.mistakes):
        outs = [mistakes.output(index, i) for i in usable]
        if usable and all(is_number(o) and scalars_close(values[i], as_float(o), max(rtol, 1e-6))
                          for i, o in zip(usable, outs)):
            return Diagnosis(m.tag, m.feedback)
    reg = item.net.regulariser
    data = [float(call_reference(item.reference, cases[i], **{reg: 0.0})) if reg and reg in cases[i].args
            else expected[i] for i in usable]
    return scalar_models([values[i] for i in usable], [expected[i] for i in usable], data,
                         [cases[i].batch for i in usable], item.name)


def check_scalar(item: StageItem, run: RunResult, exercise: str) -> ItemResult:
    """One number per case against the reference, or against ``given`` on the learner's earlier output."""
    cases = cases_of(item.net)
    rtol = item.tolerances[0]
    values: list[float] = []
    expected: list[float] = []
    for i, c in enumerate(cases):
        got = decoded(run.outcomes.get(f"{item.name}#{i}"))[1]
        if not is_number(got):
            shape = f"an array of shape {got.shape}" if isinstance(got, np.ndarray) else type(got).__name__
            return finish(item, exercise, 0.0, f"{item.name} should return one number (a float); it returned "
                                               f"{shape}", [], {}, "numeric_type", [])
        values.append(as_float(got))
        expected.append(float(call_reference(item.reference, c)))
    evidence: dict[str, Any] = {"cases": evidence_cases(item.net), "values": values, "expected": expected}
    found = changes(item, run)
    bad = [i for i, (v, e) in enumerate(zip(values, expected)) if not scalars_close(v, e, rtol)]
    if not bad:
        return finish(item, exercise, item.points, f"right on all {len(cases)} {item.net.unit}s", [], evidence, None,
                      found)
    theirs = _given_on_own(item, run)
    if theirs and all(o is not None and scalars_close(v, o, rtol) for v, o in zip(values, theirs)):
        earlier = item.after[0].__name__
        evidence.update(keys={item.name: "carried_forward"}, first_wrong_step=earlier)
        return finish(item, exercise, item.points,
                      f"your {item.name} formula is right: it matches the {item.name} of your own {earlier}'s "
                      f"result, which differs from the expected one (fix {earlier} first)", [], evidence, None,
                      found)
    i = bad[0]
    c = cases[i]
    shown = f"on a {item.net.unit} with {c.describe()} your {item.name} is {values[i]:.6g}, expected {expected[i]:.6g}"
    nonfinite = not math.isfinite(values[i])
    if nonfinite:
        shown += (": log(0) or overflow? an output saturated to exactly 0 or 1 there; compute the log from the "
                  "pre-activations (np.logaddexp, log-sum-exp) instead of taking the log of the output")
    diag = _scalar_diagnosis(item, values, expected)
    evidence["keys"] = {item.name: "wrong"}
    feedback = f"{diag.message} ({shown})" if diag else shown
    tag = diag.tag if diag else "saturation" if nonfinite and c.extreme else \
        "numeric_nonfinite" if nonfinite else "numeric_values"
    return finish(item, exercise, 0.0, feedback, [shown], evidence, tag, found)


def _given_on_own(item: StageItem, run: RunResult) -> list[float | None] | None:
    """``given`` applied to the learner's own earlier output, per case (None where it does not apply)."""
    if item.given is None:
        return None
    out: list[float | None] = []
    for i, c in enumerate(cases_of(item.net)):
        ok, theirs = own_earlier(item, run, i)
        try:
            value = item.given(theirs, *(c.args[n] for n in arg_names(item.reference))) if ok else None
            out.append(float(value) if value is not None else None)
        except Exception:  # their earlier output does not fit the formula: nothing to carry forward
            out.append(None)
    return out
