"""Update stages (``update_of=loss, gradients=backward``): one step of an optimiser.

The stage is called with the case's parameters, the reference gradients (the
``gradients`` stage's reference output; its argument is the one the case does
not supply) and the case's learning rate, and must match the reference. A
wrong step is named when it is the reference step uphill, without the learning
rate, or no step at all. A small step (:data:`SMALL_LR`) must decrease the
scalar ``update_of``. The step is also applied to the learner's own gradients:
a step that fails on the expected gradients but is right on what their own
gradient stage returns (keys named like the parameters, say) keeps its points.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np

from ..encoding import encode_value
from ..numeric import compare_values
from ..results import ItemResult
from ..runtypes import Call, RunResult
from ..spec import StageItem
from .common import outcome_problem
from .stage_cases import (
    arg_names,
    args_wire,
    call_reference,
    cases_of,
    decoded,
    evidence_cases,
    gradient_of_leaf,
    leaves,
    with_parameters,
)
from .stage_values import changes, finish

#: learning rate of the "a small step must decrease the scalar" call
SMALL_LR = 1e-3


def _names(item: StageItem) -> tuple[str, str | None]:
    """(the gradients argument, the learning-rate argument) of the update's reference."""
    c = cases_of(item.net)[0]
    names = arg_names(item.reference)
    grads = next((n for n in names if n not in c.args), "grads")
    lr = next((n for n in names if n in c.args and isinstance(c.args[n], float) and n != item.net.regulariser), None)
    return grads, lr


@lru_cache(maxsize=32)
def _gradients(item: StageItem, index: int) -> Any:
    """The gradients the step is given on case ``index``: the gradient stage's reference (read-only)."""
    c = cases_of(item.net)[index]
    if item.gradients is not None:
        out = call_reference(item.gradients, c)
    else:
        rng = np.random.default_rng(index)
        out = {leaf.gradient: rng.normal(size=np.shape(_param(c, leaf))) for leaf in leaves(item.net, c)}
    for arr in (out.values() if isinstance(out, dict) else out):
        if isinstance(arr, np.ndarray):
            arr.setflags(write=False)
    return out


def _param(c: Any, leaf: Any) -> Any:
    value = c.args
    for p in leaf.path:
        value = value[p]
    return value


@lru_cache(maxsize=32)
def _gradients_wire(item: StageItem, index: int) -> Any:
    return encode_value(_gradients(item, index))


def _args(item: StageItem, index: int, lr: float | None = None) -> tuple[Any, ...]:
    grads, lr_name = _names(item)
    base = args_wire(item.net, index, [n for n in arg_names(item.reference) if n != grads])
    it = iter(base)
    out = []
    for n in arg_names(item.reference):
        if n == grads:
            out.append(_gradients_wire(item, index))
        elif n == lr_name and lr is not None:
            next(it)
            out.append(encode_value(lr))
        else:
            out.append(next(it))
    return tuple(out)


def calls(item: StageItem) -> list[Call]:
    """The step on every case; a small step on case 0; the learner's own gradients and the step on them."""
    out = [Call(f"{item.name}#{i}", item.name, _args(item, i), timeout=item.timeout, report_args=True)
           for i in range(len(cases_of(item.net)))]
    out.append(Call(f"{item.name}#descent", item.name, _args(item, 0, SMALL_LR), timeout=item.timeout))
    if item.gradients is not None:
        grads, _ = _names(item)
        own = item.gradients.__name__
        out.append(Call(f"{item.name}#own-grads", own, args_wire(item.net, 0, arg_names(item.gradients)),
                        timeout=item.timeout))
        with_own = tuple({"t": "ref", "id": f"{item.name}#own-grads"} if n == grads else a
                         for n, a in zip(arg_names(item.reference), _args(item, 0, SMALL_LR)))
        out.append(Call(f"{item.name}#own", item.name, with_own, timeout=item.timeout))
    return out


def _reference_step(item: StageItem, index: int, grads: Any, lr: float | None = None) -> Any:
    g_name, lr_name = _names(item)
    override: dict[str, Any] = {g_name: grads}
    if lr is not None and lr_name:
        override[lr_name] = lr
    return call_reference(item.reference, cases_of(item.net)[index], **override)


def _hint(item: StageItem, got: Any, index: int) -> str:
    c = cases_of(item.net)[index]
    _, lr_name = _names(item)
    grads = _gradients(item, index)
    guesses: list[tuple[str, Any]] = []
    if lr_name:
        lr = float(c.args[lr_name])
        guesses += [("the step goes uphill: θ ← θ - η ∇J, not θ + η ∇J", _reference_step(item, index, grads, -lr)),
                    ("the learning rate is not applied: θ ← θ - η ∇J", _reference_step(item, index, grads, 1.0))]
    guesses.append(("the parameters did not change", _reference_step(item, index, grads, 0.0)))
    rtol, atol = item.tolerances
    for hint, value in guesses:
        if compare_values(value, got, "", rtol, atol) is None:
            return f": {hint}"
    return ""


def _own_gradients(item: StageItem, run: RunResult) -> Any:
    """The learner's own gradient output on case 0, laid out like the reference's (None when unusable)."""
    ok, own = decoded(run.outcomes.get(f"{item.name}#own-grads"))
    if not ok:
        return None
    c = cases_of(item.net)[0]
    want = _gradients(item, 0)
    entries = []
    for leaf in leaves(item.net, c):
        g = gradient_of_leaf(own, leaf, item.net)
        if not (isinstance(g, np.ndarray) and g.shape == np.shape(_param(c, leaf)) and g.dtype.kind in "iuf"):
            return None
        entries.append((leaf.gradient, g.astype(np.float64)))
    return dict(entries) if isinstance(want, dict) else tuple(v for _, v in entries)


def _step_on_own(item: StageItem, run: RunResult) -> tuple[Any, Any] | None:
    own = _own_gradients(item, run)
    mine_ok, mine = decoded(run.outcomes.get(f"{item.name}#own"))
    if own is None or not mine_ok:
        return None
    return _reference_step(item, 0, own, SMALL_LR), mine


def _scalar_at(item: StageItem, params: Any) -> float | None:
    assert item.update_of is not None
    c = cases_of(item.net)[0]
    args = with_parameters(item.net, c, params)
    if args is None:
        return None
    try:
        return float(item.update_of(*(args[n] for n in arg_names(item.update_of))))
    except Exception:  # their step's result does not fit the parameters' layout
        return None


def _originals(item: StageItem) -> dict[int, tuple[Any, ...]]:
    grads, _ = _names(item)
    out = {}
    for i, c in enumerate(cases_of(item.net)):
        out[i] = tuple(_gradients(item, i) if n == grads else c.args[n] for n in arg_names(item.reference))
    return out


def _carried_forward(item: StageItem, run: RunResult, exercise: str, why: str) -> ItemResult | None:
    own = _step_on_own(item, run)
    rtol, atol = item.tolerances
    if own is None or compare_values(own[0], own[1], "result", rtol, atol) is not None:
        return None
    source = item.gradients.__name__ if item.gradients is not None else "gradients"
    return finish(item, exercise, item.points,
                  f"{item.name} is right on your own {source}'s gradients, so it keeps its points (error carried "
                  f"forward from {source}); on the expected gradients: {why}", [],
                  {"keys": {"step": "carried_forward"}, "first_wrong_step": source}, None,
                  changes(item, run, _originals(item)))


def check(item: StageItem, run: RunResult, exercise: str) -> ItemResult:
    """Judge an update stage: see the module docstring."""
    cases = cases_of(item.net)
    rtol, atol = item.tolerances
    for i in range(len(cases)):
        problem = outcome_problem(item, exercise, run.outcomes.get(f"{item.name}#{i}"))
        if problem:
            rescued = _carried_forward(item, run, exercise, problem.feedback) \
                if problem.diagnosis == "exception" else None
            return rescued or problem
    evidence: dict[str, Any] = {"cases": evidence_cases(item.net)}
    found = changes(item, run, _originals(item))
    _, lr_name = _names(item)
    for i, c in enumerate(cases):
        got = decoded(run.outcomes.get(f"{item.name}#{i}"))[1]
        want = _reference_step(item, i, _gradients(item, i))
        mismatch = compare_values(want, got, f"{item.name}'s result", rtol, atol)
        if mismatch:
            rescued = _carried_forward(item, run, exercise, mismatch.message)
            if rescued:
                return rescued
            hint = _hint(item, got, i)
            evidence["keys"] = {"step": "wrong"}
            lr = f", lr={float(c.args[lr_name]):g}" if lr_name else ""
            return finish(item, exercise, 0.0, f"{mismatch.message}{hint} ({item.net.unit} with {c.describe()}{lr})",
                          list(mismatch.table), evidence,
                          "sgd_uphill" if "uphill" in hint else f"numeric_{mismatch.kind}", found)
    details = []
    scalar = item.update_of.__name__ if item.update_of is not None else "scalar"
    before = _scalar_at(item, cases[0].args[item.net.params] if isinstance(item.net.params, str) else
                        tuple(cases[0].args[n] for n in item.net.params))
    ok, stepped = decoded(run.outcomes.get(f"{item.name}#descent"))
    after = _scalar_at(item, stepped) if ok else None
    if before is not None and after is not None:
        evidence["descent"] = {"before": before, "after": after}
        if not after < before:
            return finish(item, exercise, 0.0, f"a small step (lr={SMALL_LR:g}) along the true gradient should "
                                               f"decrease the {scalar}, but it went from {before:.6g} to {after:.6g}",
                          [], evidence, "sgd_no_descent", found)
    own = _step_on_own(item, run)
    if own is not None and before is not None:
        expected, mine = own
        if compare_values(expected, mine, "result", rtol, atol) is None:
            after_own = _scalar_at(item, mine)
            if after_own is not None:
                evidence["own_gradients"] = {"before": before, "after": after_own}
                trend = "decreases" if after_own < before else f"does NOT decrease (see {item.gradients.__name__})" \
                    if item.gradients is not None else "does NOT decrease"
                details.append(f"applied to your own gradients, a small step {trend} the {scalar} "
                               f"({before:.6g} → {after_own:.6g})")
        else:
            details.append(f"applied to your own gradients, {item.name} does not give the step of your gradients")
    return finish(item, exercise, item.points, f"right on all {len(cases)} {item.net.unit}s; a small step "
                                               f"decreases the {scalar}", details, evidence, None, found)

