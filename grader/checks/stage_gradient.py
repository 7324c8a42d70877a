"""Gradient stages (``gradient_of=``): against the reference and against the learner's own scalar.

Two comparisons, entry by entry, for each parameter's gradient:

1. against the reference on every case (relative error with an absolute floor,
   see :mod:`grader.numeric`); a wrong gradient is located (per-entry error
   map) and, when possible, diagnosed: an authored mistake, transposed, a
   constant factor (sign, missing 1/m from the case's batch size), the
   regularisation missing or scaled (:mod:`.diagnose`);
2. on case 0, against Richardson central differences of the learner's own
   scalar stage (:mod:`grader.gradcheck`), evaluated by extra calls of it at
   perturbed parameters. A gradient wrong only because their scalar is wrong,
   and consistent with it, keeps its points (error carried forward).

Each parameter's gradient is worth an equal share of the item.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np

from .. import gradcheck
from ..numeric import Mismatch, agrees, compare_arrays, compare_values, error_map, plain_map
from ..results import ItemResult
from ..runtypes import Call, RunResult
from ..spec import StageItem
from .common import result
from .diagnose import Diagnosis, diagnose_values, transposed
from .stage_cases import (
    Leaf,
    arg_names,
    args_wire,
    as_float,
    call_reference,
    cases_of,
    decoded,
    evidence_cases,
    get_path,
    is_number,
    leaves,
    scalars_close,
    set_path,
)
from .stage_values import Mistakes, changes, finish, first_wrong_step

#: entries below this fraction of the gradient's largest entry are judged against that scale
SCALE_FLOOR = 1e-8
#: agreement demanded between the learner's gradient and finite differences of their own scalar
FD_RTOL = 1e-4
FD_SCALE_FLOOR = 1e-3
#: the learner's scalar on a tiny case takes microseconds; a hanging one must not cost minutes
FD_TIMEOUT = 0.25


def _flat(item: StageItem) -> tuple[list[Leaf], dict[str, np.ndarray]]:
    c = cases_of(item.net)[0]
    found = leaves(item.net, c)
    return found, {leaf.label: get_path(c.args, leaf.path) for leaf in found}


@lru_cache(maxsize=16)
def fd_calls(item: StageItem) -> tuple[Call, ...]:
    """The learner's scalar at case 0 and at every perturbation of every parameter entry."""
    scalar = item.gradient_of
    assert scalar is not None
    names = arg_names(scalar)
    c = cases_of(item.net)[0]
    out = [Call(f"{item.name}#fd-base", scalar.__name__, args_wire(item.net, 0, names), timeout=FD_TIMEOUT)]
    found, flat = _flat(item)
    by_label = {leaf.label: leaf for leaf in found}
    for j, p in enumerate(gradcheck.plan(flat)):
        leaf = by_label[p.key]
        moved = gradcheck.perturbed(flat, p)[p.key]
        top = leaf.path[0]
        changed = set_path(c.args, leaf.path, moved)[top]
        out.append(Call(f"{item.name}#fd{j}", scalar.__name__, args_wire(item.net, 0, names, {top: changed}),
                        timeout=FD_TIMEOUT))
    return tuple(out)


def _own_scalar_gradients(item: StageItem, run: RunResult) -> tuple[float | None, dict[str, Any] | None]:
    ok, base = decoded(run.outcomes.get(f"{item.name}#fd-base"))
    base_value = as_float(base) if ok and is_number(base) else None
    _, flat = _flat(item)
    points = gradcheck.plan(flat)
    values = []
    for j in range(len(points)):
        ok, v = decoded(run.outcomes.get(f"{item.name}#fd{j}"))
        if not (ok and is_number(v)) or not np.isfinite(as_float(v)):
            return base_value, None
        values.append(as_float(v))
    return base_value, gradcheck.assemble(flat, points, values)


def _entries(item: StageItem, output: Any, ref: Any) -> tuple[str, str] | dict[str, Any]:
    """The learner's gradient per name, or (diagnosis, message) when the output is not shaped like the reference's."""
    in_order = [leaf.gradient for leaf in leaves(item.net, cases_of(item.net)[0])]
    names = list(ref) if isinstance(ref, dict) else in_order
    if isinstance(ref, dict):
        shown = [k for k in in_order if k in names] + [k for k in names if k not in in_order]
        if not isinstance(output, dict):
            what = "None: did you forget the return statement?" if output is None else f"a {type(output).__name__}"
            return "numeric_type", (f"{item.name} should return a dict with keys {', '.join(shown)}; it returned "
                                    f"{what}")
        missing = [k for k in names if k not in output]
        if missing:
            has = f" (it has {', '.join(map(repr, list(output)[:8]))})" if output else ""
            return "numeric_keys", f"{item.name}'s result is missing {', '.join(map(repr, missing))}{has}"
        return {k: output[k] for k in names}
    if not isinstance(output, (list, tuple)) or len(output) != len(ref):
        return "numeric_type", f"{item.name} should return {len(ref)} gradients ({', '.join(names)}) in that order"
    return dict(zip(names, output))


def _named(output: Any, names: list[str]) -> dict[str, Any] | None:
    """A mistake's gradient output by name: a dict as it is, a tuple or list in the reference's order."""
    if isinstance(output, dict):
        return output
    if isinstance(output, (list, tuple)) and len(output) == len(names):
        return dict(zip(names, output))
    return None


def _diagnose(item: StageItem, key: str, got: list[dict[str, Any]], refs: list[dict[str, Any]], first: Mismatch,
              mistakes: Mistakes) -> Diagnosis | None:
    rtol, atol = item.tolerances
    if first.kind == "shape":
        for g, r in zip(got, refs):
            value = g[key]
            if isinstance(value, np.ndarray) and value.ndim == 2:
                found = transposed(key, value, np.asarray(r[key]), value.T.shape == np.shape(r[key]) and
                                   compare_arrays(np.asarray(r[key]), value.T, key, rtol, atol, SCALE_FLOOR) is None)
                if found:
                    return found
        return None
    if first.kind != "values":
        return None
    for index, m in enumerate(item.mistakes):
        named = [_named(mistakes.output(index, i), list(refs[i])) for i in range(len(got))]
        outs = [o for o in named if o is not None]
        if len(outs) == len(got) \
                and all(agrees(o.get(key), g[key], rtol, atol, SCALE_FLOOR) for o, g in zip(outs, got)) \
                and any(not agrees(r[key], o.get(key), rtol, atol, SCALE_FLOOR) for o, r in zip(outs, refs)):
            return Diagnosis(m.tag, m.feedback)
    if any(not isinstance(g[key], np.ndarray) for g in got):
        return None
    cases = cases_of(item.net)
    reg = item.net.regulariser
    data = None
    if reg and all(reg in c.args for c in cases):
        data = [np.asarray(call_reference(item.reference, c, **{reg: 0.0})[key], dtype=np.float64) for c in cases]
    return diagnose_values(key, [g[key] for g in got], [np.asarray(r[key], dtype=np.float64) for r in refs], data,
                           [c.batch for c in cases], reg or "", "the gradient", dict(item.hints))


def check(item: StageItem, run: RunResult, exercise: str) -> ItemResult:
    """Judge a gradient stage: see the module docstring."""
    cases = cases_of(item.net)
    rtol, atol = item.tolerances
    refs: list[dict[str, Any]] = []
    got: list[dict[str, Any]] = []
    for i, c in enumerate(cases):
        ref = call_reference(item.reference, c)
        value = decoded(run.outcomes.get(f"{item.name}#{i}"))[1]
        entries = _entries(item, value, ref)
        if isinstance(entries, tuple):
            return result(item, exercise, passed=False, diagnosis=entries[0],
                          feedback=f"{entries[1]} ({item.net.unit} with {c.describe()})")
        got.append(entries)
        refs.append(ref if isinstance(ref, dict) else dict(zip(entries, ref)))
    order = list(refs[0])  # the order the reference computes them: "which one first went wrong"
    found = leaves(item.net, cases[0])
    listed = [leaf.gradient for leaf in found if leaf.gradient in order] or order
    first: dict[str, tuple[int, Mismatch]] = {}
    for i, (g, r) in enumerate(zip(got, refs)):
        for k in order:
            if k not in first:
                mismatch = compare_values(r[k], g[k], k, rtol, atol, SCALE_FLOOR)
                if mismatch:
                    first[k] = (i, mismatch)
    wrong = [k for k in order if k in first]
    mistakes = Mistakes(item)
    diagnoses = {k: _diagnose(item, k, got, refs, first[k][1], mistakes) for k in wrong}

    evidence: dict[str, Any] = {"cases": evidence_cases(item.net)}
    base, fd = _own_scalar_gradients(item, run)
    consistent: dict[str, bool] = {}
    if fd is not None:
        scale = max(float(np.abs(v.value).max()) for v in fd.values())
        fd_maps = {}
        for leaf in found:
            k = leaf.gradient
            g0 = got[0].get(k)
            if isinstance(g0, np.ndarray) and g0.shape == fd[leaf.label].value.shape and g0.dtype.kind in "iuf":
                cmp = gradcheck.compare_with_fd(g0, fd[leaf.label], FD_RTOL, FD_SCALE_FLOOR * scale)
                consistent[k] = cmp.ok
                fd_maps[k] = plain_map(cmp.rel_errors)
            else:
                consistent[k] = False
        if not all(consistent.values()):  # drawn only when it locates a disagreement
            evidence.update(fd_error_maps=fd_maps, fd_rtol=FD_RTOL)
        evidence["loss_consistent"] = all(consistent.values())
    assert item.gradient_of is not None
    ref_scalar = float(call_reference(item.gradient_of, cases[0]))
    scalar_right = base is not None and scalars_close(base, ref_scalar, rtol)

    status = {}
    for k in listed:
        if k not in first:
            status[k] = "ok"
        elif consistent.get(k) and base is not None and not scalar_right:
            status[k] = "carried_forward"
        else:
            status[k] = "wrong"
    evidence["keys"] = status
    _add_maps(item, evidence, got, refs, first, listed)
    details = _details(item, wrong, first, cases, base, fd, scalar_right, consistent, order)
    really_wrong = [k for k in order if status[k] == "wrong"]
    if diagnoses:
        evidence["diagnoses"] = {k: d.tag for k, d in diagnoses.items() if d}
        evidence["factors"] = {k: d.factor for k, d in diagnoses.items() if d and d.factor is not None}
    step = None
    if wrong or not scalar_right:
        step = first_wrong_step(item, run)
        if step is None and base is not None and not scalar_right:
            step = item.gradient_of.__name__
        step = step or (item.name if really_wrong else None)
    if step:
        evidence["first_wrong_step"] = step
        if step != item.name:
            details.insert(0, f"the first step that went wrong is {step}: fix it first, then check "
                              f"{item.name} against it again")
    earned = item.points * sum(1 for k in listed if status[k] != "wrong") / len(listed)
    scalar = item.gradient_of.__name__
    if really_wrong:
        k = really_wrong[0]
        evidence["first_wrong"] = k
        d = diagnoses.get(k)
        sharing = [x for x in really_wrong if d and (o := diagnoses.get(x)) is not None and o.tag == d.tag] or [k]
        head = f"{', '.join(sharing)}: {d.message}" if d else first[k][1].message
        also = [x for x in really_wrong if x not in sharing]
        feedback = head + (f"; also wrong: {', '.join(also)}" if also else "")
        diagnosis = d.tag if d else _plain_tag(first[k][1], cases[first[k][0]].extreme)
    elif wrong:
        feedback = (f"{', '.join(wrong)} differ from the expected gradients, but agree with finite differences of "
                    f"your own {scalar}, which is where the mistake is (fix {scalar} first)")
        diagnosis = None
    else:
        agree = f" and agree with finite differences of your {scalar}" if consistent and all(consistent.values()) \
            else ""
        feedback = f"{', '.join(listed[:-1])} and {listed[-1]} are right on all {len(cases)} {item.net.unit}s{agree}" \
            if len(listed) > 1 else f"{listed[0]} is right on all {len(cases)} {item.net.unit}s{agree}"
        diagnosis = None
    return finish(item, exercise, earned, feedback, details, evidence, diagnosis, changes(item, run))


def _plain_tag(mismatch: Mismatch, extreme: str) -> str:
    if mismatch.kind == "nonfinite" and extreme.startswith("saturating"):
        return "saturation"
    return f"numeric_{mismatch.kind}"


def _add_maps(item: StageItem, evidence: dict[str, Any], got: list[dict[str, Any]], refs: list[dict[str, Any]],
              first: dict[str, tuple[int, Mismatch]], listed: list[str]) -> None:
    values = [i for i, m in first.values() if m.kind == "values"]
    if not values:
        return
    rtol, atol = item.tolerances
    i = 0 if 0 in values else min(values)
    maps, rtols = {}, [rtol]
    for k in listed:
        g = got[i][k]
        want = np.asarray(refs[i][k])
        if isinstance(g, np.ndarray) and g.shape == want.shape and g.ndim == 2:
            maps[k], applied = error_map(want, g, rtol, atol, SCALE_FLOOR)
            rtols.append(applied)
    evidence.update(error_maps=maps, map_case=i, rtol=max(rtols))


def _details(item: StageItem, wrong: list[str], first: dict[str, tuple[int, Mismatch]], cases: Any,
             base: float | None, fd: Any, scalar_right: bool, consistent: dict[str, bool],
             order: list[str]) -> list[str]:
    scalar = item.gradient_of.__name__ if item.gradient_of is not None else "scalar"
    lines = []
    for k in wrong:
        i, mismatch = first[k]
        lines.append(f"{mismatch.message} ({item.net.unit} with {cases[i].describe()})")
        lines += [f"    {row}" for row in mismatch.table]
    if fd is None:
        lines.append(f"could not compare with finite differences of your {scalar}: it did not return a finite "
                     f"number at every perturbed point" if base is not None else
                     f"could not compare with finite differences of your {scalar}: {scalar} did not return a number")
    elif consistent:
        bad = [k for k in order if not consistent.get(k)]
        if not bad:
            lines.append(f"your gradients agree with finite differences of your own {scalar}")
        else:
            lines.append(f"{', '.join(bad)} disagree with finite differences of your own {scalar}"
                         + (f" (your {scalar} is right, so the mistake is in {item.name})" if scalar_right else ""))
        if not scalar_right and base is not None:
            lines.append(f"your {scalar} differs from the expected {scalar} on the same {item.net.unit}: fix "
                         f"{scalar} as well")
    return lines
