"""The ``backward`` stage: gradients against the reference and against the learner's own loss.

Two comparisons, entry by entry:

1. the learner's dW1, db1, dW2, db2 against the reference on every network
   (relative error with an absolute floor, see :mod:`grader.numeric`); a
   wrong gradient is located (per-entry error map) and, when possible,
   diagnosed: an authored mistake from the spec (σ' missing...), transposed,
   a constant factor (sign, missing 1/m), regularisation missing or with the
   wrong factor, a regularised bias (:mod:`.backprop_diagnosis`);
2. the learner's gradients on network 0 against Richardson central differences
   of the learner's own ``loss`` (:mod:`grader.gradcheck`), evaluated by extra
   calls of their ``loss`` at perturbed parameters. A gradient that is wrong
   only because their loss is wrong, and agrees with that loss, keeps its
   points (error carried forward).

Each of the four gradients is worth a quarter of the item.
"""

from __future__ import annotations

import warnings
from functools import lru_cache
from typing import Any

import numpy as np

from .. import gradcheck
from ..numeric import Mismatch, agrees, compare_arrays, compare_values, error_map, plain_map
from ..results import ItemResult
from ..runtypes import Call, RunResult
from ..spec import BackpropItem
from .backprop_cases import (
    GRAD_KEYS,
    PARAM_KEYS,
    Case,
    as_float,
    cached_cases,
    case_wire,
    decoded,
    is_number,
    losses_close,
    make_cases,
    params_wire,
    wire,
)
from .backprop_diagnosis import FIT_TOL, Diagnosis, diagnose_bias, diagnose_weight, fit
from .common import outcome_problem, result
from .in_place import changed_arguments, charge

#: gradients in the order backpropagation computes them ("which step first went wrong")
BACKPROP_ORDER = ("dW2", "db2", "dW1", "db1")
#: entries below this fraction of the gradient's largest entry are judged against that scale
SCALE_FLOOR = 1e-8
#: agreement demanded between the learner's gradient and finite differences of their own loss
FD_RTOL = 1e-4
FD_SCALE_FLOOR = 1e-3
#: the learner's loss on a tiny network takes microseconds; a hanging loss must not cost minutes
FD_TIMEOUT = 0.25


def _loss_name(item: BackpropItem) -> str:
    ref = item.related.get("loss")
    return ref.__name__ if ref is not None else "loss"


@lru_cache(maxsize=8)
def _fd_calls(item_name: str, loss_name: str, seed: str, shapes: tuple[tuple[int, int, int, int], ...],
              large: bool) -> tuple[Call, ...]:
    case = cached_cases(seed, shapes, large)[0]
    w = wire(seed, shapes, large, 0)
    out = [Call(f"{item_name}#fd-base", loss_name, (w["X"], w["Y"], w["params"], w["lam"]), timeout=FD_TIMEOUT)]
    for j, p in enumerate(gradcheck.plan(case.params, PARAM_KEYS)):
        moved = gradcheck.perturbed(case.params, p)
        reuse = {k: v for k, v in w["entries"].items() if k != p.key}
        out.append(Call(f"{item_name}#fd{j}", loss_name, (w["X"], w["Y"], params_wire(moved, reuse), w["lam"]),
                        timeout=FD_TIMEOUT))
    return tuple(out)


def calls(item: BackpropItem) -> list[Call]:
    """backward on every network (arguments reported back), then the learner's loss around network 0."""
    cases = make_cases(item)
    out = []
    for i in range(len(cases)):
        w = case_wire(item, i)
        out.append(Call(f"{item.name}#{i}", item.name, (w["X"], w["Y"], w["params"], w["lam"]),
                        timeout=item.timeout, report_args=True))
    return out + list(_fd_calls(item.name, _loss_name(item), item.seed, item.shapes, item.large_case))


def _is_f32(value: Any) -> bool:
    return isinstance(value, np.ndarray) and value.dtype == np.float32


class _Outputs:
    """Reference-side outputs (authored mistakes, the reference without λ) per network, computed on
    first use and kept for the rest of one check; a callable that fails on a network gives None."""

    def __init__(self, item: BackpropItem, cases: list[Case]) -> None:
        self.item, self.cases = item, cases
        self.memo: dict[tuple[Any, ...], Any] = {}

    def mistake(self, index: int, case: int) -> Any:
        key = ("mistake", index, case)
        if key not in self.memo:
            c, answer = self.cases[case], self.item.mistakes[index].answer
            try:
                self.memo[key] = answer(c.X, c.Y, c.params, c.lam) if callable(answer) else None
            except Exception:  # an authored callable that does not fit a network is simply no match
                self.memo[key] = None
        return self.memo[key]

    def without_regularisation(self, case: int) -> dict[str, np.ndarray]:
        key = ("lam0", case)
        if key not in self.memo:
            c = self.cases[case]
            self.memo[key] = self.item.reference(c.X, c.Y, c.params, 0.0)
        return self.memo[key]


def _matches_mistake(outputs: _Outputs, index: int, key: str, got: list[dict[str, Any]],
                     refs: list[dict[str, np.ndarray]], item: BackpropItem) -> bool:
    differs = False
    for i, (g, r) in enumerate(zip(got, refs)):
        out = outputs.mistake(index, i)
        if not isinstance(out, dict) or not agrees(out.get(key), g[key], item.rtol, item.atol, SCALE_FLOOR):
            return False
        differs = differs or not agrees(r[key], out.get(key), item.rtol, item.atol, SCALE_FLOOR)
    return differs


def _diagnose(item: BackpropItem, key: str, cases: list[Case], got: list[dict[str, Any]],
              refs: list[dict[str, np.ndarray]], first: Mismatch, outputs: _Outputs) -> Diagnosis | None:
    if first.kind not in ("shape", "values"):
        return None
    if first.kind == "shape":
        for g, r in zip(got, refs):
            value = g[key]
            if isinstance(value, np.ndarray) and value.ndim == 2 and value.T.shape == r[key].shape and \
                    compare_arrays(r[key], value.T, key, item.rtol, item.atol, SCALE_FLOOR) is None:
                return Diagnosis("transposed", f"{key} has shape {value.shape}, expected {r[key].shape}: it is the "
                                               f"transpose of the right gradient ({key} has the shape of {key[1:]}; "
                                               f"check the order of the factors in the product)")
        return None
    for index, m in enumerate(item.mistakes):
        if _matches_mistake(outputs, index, key, got, refs, item):
            return Diagnosis(m.tag, m.feedback)
    if any(not isinstance(g[key], np.ndarray) or g[key].dtype.kind != "f" for g in got):
        return None  # integers truncate: the comparison's own message says so
    f32 = any(_is_f32(g[key]) for g in got)
    fits, ms = [], []
    for i, (c, g, r) in enumerate(zip(cases, got, refs)):
        L = np.asarray(g[key], dtype=np.float64)
        if L.shape != r[key].shape:
            return None
        if key.startswith("dW"):
            g0 = outputs.without_regularisation(i)[key]
            basis = [g0, r[key] - g0]
        else:
            basis = [r[key], c.lam / c.m * c.params[key[1:]]]
        found = fit(L, basis)
        if found is None:
            continue  # e.g. every hidden unit saturated: this network says nothing about the form
        coef, resid = found
        if resid > FIT_TOL[f32]:
            return None
        fits.append(coef)
        ms.append(c.m)
    if not fits:
        return None
    return (diagnose_weight if key.startswith("dW") else diagnose_bias)(key, fits, ms, f32)


def _own_loss_gradients(item: BackpropItem, run: RunResult, case: Case) -> tuple[float | None, dict | None]:
    ok, base = decoded(run.outcomes.get(f"{item.name}#fd-base"))
    base_value = as_float(base) if ok and is_number(base) else None
    points = gradcheck.plan(case.params, PARAM_KEYS)
    values = []
    for j in range(len(points)):
        ok, v = decoded(run.outcomes.get(f"{item.name}#fd{j}"))
        if not (ok and is_number(v)) or not np.isfinite(as_float(v)):
            return base_value, None
        values.append(as_float(v))
    return base_value, gradcheck.assemble(case.params, points, values)


def check(item: BackpropItem, run: RunResult, exercise: str) -> ItemResult:
    """Judge ``backward``: see the module docstring."""
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # NaN from the learner must not turn into warnings here
        return _check(item, run, exercise)


def _check(item: BackpropItem, run: RunResult, exercise: str) -> ItemResult:
    cases = make_cases(item)
    got: list[dict[str, Any]] = []
    for i, case in enumerate(cases):
        outcome = run.outcomes.get(f"{item.name}#{i}")
        problem = outcome_problem(item, exercise, outcome)
        if problem:
            return problem
        value = decoded(outcome)[1]
        problem_text = _not_a_gradient_dict(value)
        if problem_text:
            return result(item, exercise, passed=False, diagnosis=problem_text[0],
                          feedback=f"{problem_text[1]} (network with {case.describe()})")
        got.append(value)
    refs = [item.reference(c.X, c.Y, c.params, c.lam) for c in cases]
    first: dict[str, tuple[int, Mismatch]] = {}
    for i, (g, r) in enumerate(zip(got, refs)):
        for k in GRAD_KEYS:
            if k not in first:
                mismatch = compare_values(r[k], g[k], k, item.rtol, item.atol, SCALE_FLOOR)
                if mismatch:
                    first[k] = (i, mismatch)
    wrong = [k for k in BACKPROP_ORDER if k in first]
    outputs = _Outputs(item, cases)
    diagnoses = {k: _diagnose(item, k, cases, got, refs, first[k][1], outputs) for k in wrong}

    evidence: dict[str, Any] = {"cases": [dict(c.shape(), lam=c.lam, large=c.large) for c in cases]}
    base, fd = _own_loss_gradients(item, run, cases[0])
    consistent: dict[str, bool] = {}
    if fd is not None:
        scale = max(float(np.abs(v.value).max()) for v in fd.values())
        fd_maps = {}
        for k in GRAD_KEYS:
            g0 = got[0][k]
            if isinstance(g0, np.ndarray) and g0.shape == fd[k[1:]].value.shape and g0.dtype.kind in "iuf":
                cmp = gradcheck.compare_with_fd(g0, fd[k[1:]], FD_RTOL, FD_SCALE_FLOOR * scale)
                consistent[k] = cmp.ok
                fd_maps[k] = plain_map(cmp.rel_errors)
            else:
                consistent[k] = False
        if not all(consistent.values()):  # drawn only when it locates a disagreement
            evidence.update(fd_error_maps=fd_maps, fd_rtol=FD_RTOL)
        evidence["loss_consistent"] = all(consistent.values())
    ref_loss = float(item.related["loss"](cases[0].X, cases[0].Y, cases[0].params, cases[0].lam)) \
        if "loss" in item.related else None
    loss_right = base is not None and ref_loss is not None and losses_close(base, ref_loss, item.rtol)

    status = {}
    for k in GRAD_KEYS:
        if k not in first:
            status[k] = "ok"
        elif consistent.get(k) and base is not None and ref_loss is not None and not loss_right:
            status[k] = "carried_forward"
        else:
            status[k] = "wrong"
    evidence["keys"] = status
    _add_maps(item, evidence, cases, got, refs, first)
    details = _details(item, wrong, first, diagnoses, cases, base, fd, loss_right, consistent)
    really_wrong = [k for k in BACKPROP_ORDER if status[k] == "wrong"]
    if diagnoses:
        evidence["diagnoses"] = {k: d.tag for k, d in diagnoses.items() if d}
        evidence["factors"] = {k: d.factor for k, d in diagnoses.items() if d and d.factor is not None}
    first_step = _first_wrong_step(item, run, cases[0], loss_right, base, bool(really_wrong)) if wrong or \
        not loss_right else None
    if first_step:
        evidence["first_wrong_step"] = first_step
        if first_step != "backward":
            details.insert(0, f"the first step that went wrong is {first_step}: fix it first, then check "
                              f"backward against it again")
    earned = item.points * sum(1 for k in GRAD_KEYS if status[k] != "wrong") / len(GRAD_KEYS)
    if really_wrong:
        k = really_wrong[0]
        evidence["first_wrong"] = k
        d = diagnoses.get(k)
        head = f"{_keys_sharing(k, really_wrong, diagnoses)}: {d.message}" if d else first[k][1].message
        also = [x for x in really_wrong if x not in _keys_sharing(k, really_wrong, diagnoses).split(", ")]
        feedback = head + (f"; also wrong: {', '.join(also)}" if also else "")
        diagnosis = d.tag if d else f"numeric_{first[k][1].kind}"
    elif wrong:
        feedback = (f"{', '.join(wrong)} differ from the expected gradients, but agree with finite differences of "
                    f"your own loss, which is where the mistake is (fix loss first)")
        diagnosis = None
    else:
        agree = " and agree with finite differences of your loss" if consistent and all(consistent.values()) else ""
        feedback = f"dW1, db1, dW2 and db2 are right on all {len(cases)} networks{agree}"
        diagnosis = None
    changes = []
    for i, case in enumerate(cases):
        w = case_wire(item, i)
        changes += changed_arguments(("X", "Y", "params", "lam"), (case.X, case.Y, case.params, case.lam),
                                     run.outcomes.get(f"{item.name}#{i}"), (w["X"], w["Y"], w["params"], w["lam"]))
    passed = earned >= item.points
    verdict = result(item, exercise, passed=passed, points=round(earned, 6), feedback=feedback,
                     details=tuple(details), diagnosis=None if passed else diagnosis, evidence=evidence)
    return charge(item, verdict, changes)


def _not_a_gradient_dict(value: Any) -> tuple[str, str] | None:
    """(diagnosis, message) when backward's result is not a dict holding the four gradients."""
    if not isinstance(value, dict):
        what = "None: did you forget the return statement?" if value is None else f"a {type(value).__name__}"
        return "numeric_type", f"backward should return a dict with keys {', '.join(GRAD_KEYS)}; it returned {what}"
    missing = [k for k in GRAD_KEYS if k not in value]
    if missing:
        has = f" (it has {', '.join(map(repr, list(value)[:8]))})" if value else ""
        return "numeric_keys", f"backward's result is missing {', '.join(map(repr, missing))}{has}"
    return None


def _keys_sharing(key: str, wrong: list[str], diagnoses: dict[str, Diagnosis | None]) -> str:
    d = diagnoses.get(key)
    if d is None:
        return key
    return ", ".join(k for k in wrong if (other := diagnoses.get(k)) is not None and other.tag == d.tag)


def _add_maps(item: BackpropItem, evidence: dict[str, Any], cases: list[Case], got: list[dict[str, Any]],
              refs: list[dict[str, np.ndarray]], first: dict[str, tuple[int, Mismatch]]) -> None:
    values = [i for i, m in first.values() if m.kind == "values"]
    if not values:
        return
    i = 0 if 0 in values else min(values)
    maps, rtols = {}, [item.rtol]
    for k in GRAD_KEYS:
        g = got[i][k]
        if isinstance(g, np.ndarray) and g.shape == refs[i][k].shape:
            maps[k], applied = error_map(refs[i][k], g, item.rtol, item.atol, SCALE_FLOOR)
            rtols.append(applied)
    evidence.update(error_maps=maps, map_case=i, rtol=max(rtols))


def _details(item: BackpropItem, wrong: list[str], first: dict[str, tuple[int, Mismatch]],
             diagnoses: dict[str, Diagnosis | None], cases: list[Case], base: float | None, fd: Any,
             loss_right: bool, consistent: dict[str, bool]) -> list[str]:
    lines = []
    for k in wrong:
        i, mismatch = first[k]
        lines.append(f"{mismatch.message} (network with {cases[i].describe()})")
        lines += [f"    {row}" for row in mismatch.table]
    if fd is None:
        lines.append("could not compare with finite differences of your loss: it did not return a finite number "
                     "at every perturbed point" if base is not None else
                     "could not compare with finite differences of your loss: loss did not return a number")
    elif consistent:
        bad = [k for k in BACKPROP_ORDER if not consistent.get(k)]
        if not bad:
            lines.append("your gradients agree with finite differences of your own loss")
        else:
            lines.append(f"{', '.join(bad)} disagree with finite differences of your own loss"
                         + (" (your loss is right, so the mistake is in backward)" if loss_right else ""))
        if not loss_right and base is not None:
            lines.append("your loss differs from the expected loss on the same network: fix loss as well")
    return lines


def _first_wrong_step(item: BackpropItem, run: RunResult, case: Case, loss_right: bool, base: float | None,
                      backward_wrong: bool) -> str | None:
    fwd = item.related.get("forward")
    if fwd is not None:
        ok, theirs = decoded(run.outcomes.get(f"{fwd.__name__}#0"))
        if ok and compare_values(fwd(case.X, case.params), theirs, "forward", item.rtol, item.atol) is not None:
            return "forward"
    if base is not None and not loss_right:
        return "loss"
    return "backward" if backward_wrong else None

