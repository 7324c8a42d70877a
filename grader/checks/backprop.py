"""Backprop items: ``forward``, ``loss``, ``backward`` and ``sgd_step`` of the two-layer network.

Each stage is its own item, graded on every generated network (see
:mod:`.backprop_cases`), and also judged on the learner's own earlier values so
one slip is charged once: ``forward``'s A1 against σ of *their* Z1; ``loss``
against the loss of *their* A2; ``backward`` against finite differences of
*their* ``loss`` (see :mod:`.backprop_backward`); ``sgd_step`` applied to *their*
gradients. Every call reports its arguments back, so in-place changes to the
caller's arrays and dicts are caught (the one rule of :mod:`.in_place`).

Evidence keys (``ItemResult.evidence``, plain JSON data for the reports):

``cases``            per network: n_in, n_hidden, n_out, m, lam, large
``keys``             per output key: ``ok``, ``carried_forward`` (right given the
                     learner's own earlier values) or ``wrong``
``first_wrong``      the first key (forward: Z1, A1...; backward: dW2, db2, dW1, db1) that is wrong
``diagnoses``        per key, a stable tag (``missing_sigmoid_prime``, ``transposed``...)
``factors``          per key, a fitted constant factor (5.0 for a missing 1/m with m = 5)
``error_maps``       per key, nested lists of per-entry relative errors against the
                     reference on network ``map_case`` (None where not finite); an
                     entry is wrong above ``rtol`` (float32 answers: the float32 rtol)
``fd_error_maps``    backward only, when some gradient disagrees with finite differences
                     of the learner's own loss (network 0): per key, relative errors
                     against them, judged at ``fd_rtol`` plus the loss's rounding noise
``map_case``, ``rtol``, ``fd_rtol``  which network the maps show; the thresholds they are judged at
``loss_consistent``  backward only: does backward match finite differences of the learner's loss
``first_wrong_step`` ``forward``, ``loss`` or ``backward``: where the learner's chain first goes wrong
``values``, ``expected``  loss only: the learner's and the reference loss per network
``descent``, ``own_gradients``  sgd_step only: the loss before and after a small step
                     (reference gradients / the learner's own)
``modified``         names of arguments changed in place
"""

from __future__ import annotations

import math
import warnings
from functools import lru_cache
from typing import Any

import numpy as np

from ..encoding import encode_value
from ..numeric import agrees, compare_values, error_map
from ..results import ItemResult
from ..runtypes import Call, RunResult
from ..spec import BackpropItem
from . import backprop_backward
from .backprop_cases import (
    FORWARD_KEYS,
    PARAM_KEYS,
    Case,
    as_float,
    case_wire,
    decoded,
    is_number,
    loss_parts,
    losses_close,
    make_cases,
    params_wire,
    sgd_step,
    sigmoid,
)
from .backprop_diagnosis import diagnose_loss
from .common import outcome_problem, result
from .in_place import Change, changed_arguments, charge

#: learning rate of the "a small step must decrease the loss" call
SMALL_LR = 1e-3


def calls(item: BackpropItem) -> list[Call]:
    """The learner calls one stage needs, in the order they must run."""
    if item.stage == "backward":
        return backprop_backward.calls(item)
    out = []
    for i, case in enumerate(make_cases(item)):
        w = case_wire(item, i)
        if item.stage == "forward":
            args: tuple[Any, ...] = (w["X"], w["params"])
        elif item.stage == "loss":
            args = (w["X"], w["Y"], w["params"], w["lam"])
        else:
            args = (w["params"], _gradients_wire(item.related.get("backward"), case), encode_value(case.lr))
        out.append(Call(f"{item.name}#{i}", item.name, args, timeout=item.timeout, report_args=True))
    if item.stage == "sgd_step":
        case, w = make_cases(item)[0], case_wire(item, 0)
        back = _related_name(item, "backward")
        out += [
            Call(f"{item.name}#descent", item.name, (w["params"], _gradients_wire(item.related.get("backward"), case),
                                                     encode_value(SMALL_LR)),
                 timeout=item.timeout),
            Call(f"{item.name}#own-grads", back, (w["X"], w["Y"], w["params"], w["lam"]), timeout=item.timeout),
            Call(f"{item.name}#own", item.name, (w["params"], {"t": "ref", "id": f"{item.name}#own-grads"},
                                                 encode_value(SMALL_LR)), timeout=item.timeout),
        ]
    return out


def check(item: BackpropItem, run: RunResult, exercise: str) -> ItemResult:
    """Judge one stage; see the module docstring for the evidence it records."""
    if item.stage == "backward":
        return backprop_backward.check(item, run, exercise)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # NaN or inf from the learner must not turn into warnings here
        return _check_stage(item, run, exercise)


def _check_stage(item: BackpropItem, run: RunResult, exercise: str) -> ItemResult:
    cases = make_cases(item)
    for i in range(len(cases)):
        problem = outcome_problem(item, exercise, run.outcomes.get(f"{item.name}#{i}"))
        if problem:
            rescued = _sgd_carried_forward(item, run, exercise, cases, problem.feedback) \
                if item.stage == "sgd_step" and problem.diagnosis == "exception" else None
            return rescued or problem
    if item.stage == "forward":
        return _check_forward(item, run, exercise, cases)
    if item.stage == "loss":
        return _check_loss(item, run, exercise, cases)
    return _check_sgd(item, run, exercise, cases)


def _related_name(item: BackpropItem, stage: str) -> str:
    ref = item.related.get(stage)
    return ref.__name__ if ref is not None else stage


def _grads_for(item: BackpropItem, case: Case) -> dict[str, np.ndarray]:
    return _gradients(item.related.get("backward"), case)


@lru_cache(maxsize=32)
def _gradients(backward: Any, case: Case) -> dict[str, np.ndarray]:
    """The gradients sgd_step is given: the reference backward's (random ones without it); read-only."""
    if backward is not None:
        out = {k: np.asarray(v, dtype=np.float64) for k, v in backward(case.X, case.Y, case.params, case.lam).items()}
    else:
        rng = np.random.default_rng(case.m)
        out = {"d" + k: rng.normal(size=v.shape) for k, v in case.params.items()}
    for arr in out.values():
        arr.setflags(write=False)
    return out


@lru_cache(maxsize=32)
def _gradients_wire(backward: Any, case: Case) -> dict[str, Any]:
    return params_wire(_gradients(backward, case))


def _reference_loss(item: BackpropItem, case: Case, params: dict[str, np.ndarray]) -> float:
    ref = item.related.get("loss")
    if ref is not None:
        return float(ref(case.X, case.Y, params, case.lam))
    A2 = sigmoid(params["W2"] @ sigmoid(params["W1"] @ case.X + params["b1"]) + params["b2"])
    return float(sum(loss_parts(A2, case)[:2]))


def _changes(item: BackpropItem, run: RunResult, cases: list[Case]) -> list[Change]:
    """The arguments the stage's calls changed in place, over every network."""
    names = {"forward": ("X", "params"), "loss": ("X", "Y", "params", "lam"), "sgd_step": ("params", "grads", "lr")}
    sent = {c.id: c.args for c in calls(item)}
    found: list[Change] = []
    for i, case in enumerate(cases):
        originals: tuple[Any, ...]
        if item.stage == "forward":
            originals = (case.X, case.params)
        elif item.stage == "loss":
            originals = (case.X, case.Y, case.params, case.lam)
        else:
            originals = (case.params, _grads_for(item, case), case.lr)
        cid = f"{item.name}#{i}"
        found += changed_arguments(names[item.stage], originals, run.outcomes.get(cid), sent[cid])
    return found


def _finish(item: BackpropItem, exercise: str, earned: float, feedback: str, details: list[str],
            evidence: dict[str, Any], diagnosis: str | None, changes: list[Change]) -> ItemResult:
    earned = round(earned, 6)
    passed = earned >= item.points
    verdict = result(item, exercise, passed=passed, points=earned, feedback=feedback, details=tuple(details),
                     diagnosis=None if passed else diagnosis, evidence=evidence)
    return charge(item, verdict, changes)


# ---------------------------------------------------------------- forward

def _forward_hint(key: str, got: np.ndarray, own: dict[str, np.ndarray], case: Case) -> str:
    p = case.params
    candidates: list[tuple[str, Any]] = []
    if key in ("A1", "A2"):
        z = own.get("Z" + key[1])
        if isinstance(z, np.ndarray):
            with np.errstate(all="ignore"):
                candidates = [("σ is not applied: A = σ(Z)", z), ("this is tanh(Z); use σ(Z) = 1/(1 + e^(-Z))",
                              np.tanh(z)), ("this is ReLU; use σ(Z) = 1/(1 + e^(-Z))", np.maximum(z, 0)),
                              ("the exponent's sign is wrong: σ(z) = 1/(1 + e^(-z))", sigmoid(-z))]
    elif key == "Z1":
        candidates = [("b1 is not added", p["W1"] @ case.X)]
    elif key == "Z2":
        a1 = own.get("A1") if isinstance(own.get("A1"), np.ndarray) else sigmoid(p["W1"] @ case.X + p["b1"])
        candidates = [("b2 is not added", p["W2"] @ a1),
                      ("Z2 is computed from Z1; it uses the activations: Z2 = W2 A1 + b2",
                       p["W2"] @ (p["W1"] @ case.X + p["b1"]) + p["b2"])]
    for hint, value in candidates:
        if agrees(value, got):
            return f": {hint}"
    return ""


def _check_forward(item: BackpropItem, run: RunResult, exercise: str, cases: list[Case]) -> ItemResult:
    status = {k: "ok" for k in FORWARD_KEYS}
    messages: dict[str, str] = {}
    map_case, maps, rtols = None, {}, [item.rtol]
    for i, case in enumerate(cases):
        got = decoded(run.outcomes.get(f"{item.name}#{i}"))[1]
        ref = item.reference(case.X, case.params)
        top = compare_values({k: ref[k] for k in FORWARD_KEYS}, got, "forward's result", item.rtol, item.atol)
        if top is not None and top.kind in ("type", "keys"):
            return _finish(item, exercise, 0.0, f"{item.name} on a network with {case.describe()}: {top.message}",
                           [], {}, f"numeric_{top.kind}", [])
        p = case.params
        own: dict[str, Any] = {}
        for k in FORWARD_KEYS:
            value = got[k]
            prev_key = {"A1": "Z1", "Z2": "A1", "A2": "Z2"}.get(k)
            prev = own.get(prev_key) if prev_key else None
            if prev is None or prev.shape != np.shape(ref[prev_key]):
                expected = ref[k]  # nothing of theirs to build on
            elif k in ("A1", "A2"):
                expected = sigmoid(prev)
            else:
                expected = p["W2"] @ prev + p["b2"]
            own[k] = value if isinstance(value, np.ndarray) else None
            mismatch = compare_values(np.asarray(expected), value, k, item.rtol, item.atol)
            if mismatch is None:
                if status[k] == "ok" and not agrees(ref[k], value, item.rtol, item.atol):
                    status[k] = "carried_forward"
                continue
            if status[k] != "wrong":
                status[k] = "wrong"
                hint = _forward_hint(k, value, own, case) if isinstance(value, np.ndarray) else ""
                messages[k] = f"{mismatch.message}{hint} (network with {case.describe()})"
            if map_case is None and mismatch.kind == "values":
                map_case = i
            if map_case == i and isinstance(value, np.ndarray) and value.shape == np.shape(expected):
                maps[k], applied = error_map(np.asarray(expected), value, item.rtol, item.atol)
                rtols.append(applied)
    wrong = [k for k in FORWARD_KEYS if status[k] == "wrong"]
    earned = item.points * sum(1 for k in FORWARD_KEYS if status[k] != "wrong") / len(FORWARD_KEYS)
    evidence: dict[str, Any] = {"cases": [dict(c.shape(), lam=c.lam, large=c.large) for c in cases], "keys": status}
    if maps:
        evidence.update(error_maps=maps, map_case=map_case, rtol=max(rtols))
    if wrong:
        evidence["first_wrong"] = wrong[0]
        rest = f"; {', '.join(wrong[1:])} also wrong" if len(wrong) > 1 else ""
        feedback = f"{messages[wrong[0]]}{rest}"
        details = [messages[k] for k in wrong]
    else:
        carried = [k for k in FORWARD_KEYS if status[k] == "carried_forward"]
        feedback = f"Z1, A1, Z2 and A2 are right on all {len(cases)} networks"
        details = [f"{', '.join(carried)} judged on your own earlier values"] if carried else []
    return _finish(item, exercise, earned, feedback, details, evidence,
                   f"forward_{wrong[0]}" if wrong else None, _changes(item, run, cases))


# ---------------------------------------------------------------- loss

def _check_loss(item: BackpropItem, run: RunResult, exercise: str, cases: list[Case]) -> ItemResult:
    values: list[float] = []
    expected: list[float] = []
    for i, case in enumerate(cases):
        got = decoded(run.outcomes.get(f"{item.name}#{i}"))[1]
        if not is_number(got):
            shape = f"an array of shape {got.shape}" if isinstance(got, np.ndarray) else type(got).__name__
            return _finish(item, exercise, 0.0, f"{item.name} should return one number (a float); it returned "
                                                f"{shape}", [], {}, "numeric_type", [])
        values.append(as_float(got))
        expected.append(float(item.reference(case.X, case.Y, case.params, case.lam)))
    evidence: dict[str, Any] = {"cases": [dict(c.shape(), lam=c.lam, large=c.large) for c in cases],
                                "values": values, "expected": expected}
    changes = _changes(item, run, cases)
    bad = [i for i, (v, e) in enumerate(zip(values, expected)) if not losses_close(v, e, item.rtol)]
    if not bad:
        return _finish(item, exercise, item.points, f"right on all {len(cases)} networks", [], evidence, None,
                       changes)
    own_expected = _loss_of_own_forward(item, run, cases)
    if all(o is not None and losses_close(v, o, item.rtol) for v, o in zip(values, own_expected)):
        evidence.update(keys={"J": "carried_forward"}, first_wrong_step="forward")
        return _finish(item, exercise, item.points,
                       "your loss formula is right: it matches the loss of your own forward's A2, which differs "
                       "from the expected A2 (fix forward first)", [], evidence, None, changes)
    i = bad[0]
    case = cases[i]
    shown = f"on a network with {case.describe()} your loss is {values[i]:.6g}, expected {expected[i]:.6g}"
    if not math.isfinite(values[i]):
        shown += ": log(0) or overflow? keep σ away from exactly 0 and 1, or use np.logaddexp"
    ref_a2 = [item.related["forward"](c.X, c.params)["A2"] if "forward" in item.related else
              sigmoid(c.params["W2"] @ sigmoid(c.params["W1"] @ c.X + c.params["b1"]) + c.params["b2"])
              for c in cases]
    diag = diagnose_loss(values, [loss_parts(a2, c) for a2, c in zip(ref_a2, cases)], [c.m for c in cases],
                         [int(c.Y.shape[0]) for c in cases])
    evidence["keys"] = {"J": "wrong"}
    feedback = f"{diag.message} ({shown})" if diag else shown
    return _finish(item, exercise, 0.0, feedback, [shown], evidence, diag.tag if diag else "numeric_values",
                   changes)


def _loss_of_own_forward(item: BackpropItem, run: RunResult, cases: list[Case]) -> list[float | None]:
    """The loss formula applied to the A2 the learner's own forward returned, per network."""
    fwd = _related_name(item, "forward")
    out: list[float | None] = []
    for i, case in enumerate(cases):
        ok, theirs = decoded(run.outcomes.get(f"{fwd}#{i}"))
        a2 = theirs.get("A2") if ok and isinstance(theirs, dict) else None
        if isinstance(a2, np.ndarray) and a2.shape == case.Y.shape:
            data, reg, _ = loss_parts(a2, case)
            out.append(data + reg)
        else:
            out.append(None)
    return out


# ---------------------------------------------------------------- sgd_step

def _sgd_hint(got: Any, case: Case, grads: dict[str, np.ndarray]) -> str:
    if not isinstance(got, dict):
        return ""
    p = case.params
    guesses = [("the step goes uphill: θ ← θ - η ∇J, not θ + η ∇J", sgd_step(p, grads, -case.lr)),
               ("the parameters did not change", dict(p)),
               ("the learning rate is not applied: θ ← θ - η ∇J", sgd_step(p, grads, 1.0))]
    for hint, value in guesses:
        if all(agrees(value[k], got.get(k)) for k in PARAM_KEYS):
            return f": {hint}"
    return ""


def _step_on_own_gradients(item: BackpropItem, run: RunResult, case: Case) -> tuple[dict[str, np.ndarray], Any] | None:
    """(θ - η·g, what the learner's sgd_step returned) for g the gradients of the learner's own backward on
    network 0 (keys ``dW1`` or ``W1``); None when either call gave nothing usable."""
    own_ok, own_grads = decoded(run.outcomes.get(f"{item.name}#own-grads"))
    mine_ok, mine = decoded(run.outcomes.get(f"{item.name}#own"))
    if not (own_ok and mine_ok and isinstance(own_grads, dict) and isinstance(mine, dict)):
        return None
    grads = {}
    for k in PARAM_KEYS:
        g = own_grads.get("d" + k, own_grads.get(k))
        if not (isinstance(g, np.ndarray) and g.shape == case.params[k].shape and g.dtype.kind in "iuf"):
            return None
        grads["d" + k] = g.astype(np.float64)
    return sgd_step(case.params, grads, SMALL_LR), mine


def _sgd_carried_forward(item: BackpropItem, run: RunResult, exercise: str, cases: list[Case],
                         why: str) -> ItemResult | None:
    """Full points when sgd_step fails on the expected gradient dict but is right on the learner's own
    backward's result (keys named like the parameters, say): that slip is backward's, charged there."""
    own = _step_on_own_gradients(item, run, cases[0])
    if own is None or compare_values(own[0], own[1], "result", item.rtol, item.atol) is not None:
        return None
    return _finish(item, exercise, item.points,
                   f"sgd_step is right on your own backward's gradients, so it keeps its points (error carried "
                   f"forward from backward); on the expected gradient dict: {why}", [],
                   {"keys": {"step": "carried_forward"}, "first_wrong_step": "backward"}, None,
                   _changes(item, run, cases))


def _check_sgd(item: BackpropItem, run: RunResult, exercise: str, cases: list[Case]) -> ItemResult:
    evidence: dict[str, Any] = {"cases": [dict(c.shape(), lam=c.lam, large=c.large) for c in cases]}
    changes = _changes(item, run, cases)
    for i, case in enumerate(cases):
        got = decoded(run.outcomes.get(f"{item.name}#{i}"))[1]
        grads = _grads_for(item, case)
        want = item.reference(case.params, grads, case.lr)
        mismatch = compare_values({k: want[k] for k in PARAM_KEYS}, got, "sgd_step's result", item.rtol, item.atol)
        if mismatch:
            rescued = _sgd_carried_forward(item, run, exercise, cases, mismatch.message)
            if rescued:
                return rescued
            hint = _sgd_hint(got, case, grads)
            evidence["keys"] = {"step": "wrong"}
            return _finish(item, exercise, 0.0, f"{mismatch.message}{hint} (network with {case.describe()}, "
                                                f"lr={case.lr:g})", list(mismatch.table), evidence,
                           "sgd_uphill" if "uphill" in hint else f"numeric_{mismatch.kind}", changes)
    details = []
    case = cases[0]
    before = _reference_loss(item, case, dict(case.params))
    ok, stepped = decoded(run.outcomes.get(f"{item.name}#descent"))
    if ok and isinstance(stepped, dict) and all(isinstance(stepped.get(k), np.ndarray) and
                                                stepped[k].shape == case.params[k].shape for k in PARAM_KEYS):
        after = _reference_loss(item, case, {k: stepped[k] for k in PARAM_KEYS})
        evidence["descent"] = {"before": before, "after": after}
        if not after < before:
            return _finish(item, exercise, 0.0, f"a small step (lr={SMALL_LR:g}) along the true gradient should "
                                                f"decrease the loss, but it went from {before:.6g} to {after:.6g}",
                           [], evidence, "sgd_no_descent", changes)
    own = _step_on_own_gradients(item, run, case)
    if own is not None:
        expected, mine = own
        if compare_values(expected, mine, "result", item.rtol, item.atol) is None:
            after = _reference_loss(item, case, {k: np.asarray(mine[k], dtype=np.float64) for k in PARAM_KEYS})
            evidence["own_gradients"] = {"before": before, "after": after}
            trend = "decreases" if after < before else "does NOT decrease (see backward)"
            details.append(f"applied to your own backward's gradients, a small step {trend} the loss "
                           f"({before:.6g} → {after:.6g})")
        else:
            details.append("applied to your own backward's gradients, sgd_step does not give θ - lr·(your gradients)")
    return _finish(item, exercise, item.points, f"right on all {len(cases)} networks; a small step decreases "
                                                f"the loss", details, evidence, None, changes)
