"""The learner-kit adapter of stage items: the kit's own cases, and every function's outputs on them as arrays.

``pack`` draws the computation's cases from the kit's seed (not the
instructor's), and stores each case's arguments and, per function the stage
check calls (the stage's reference, its earlier stages, the scalar it is the
gradient of, the gradients an update is given, the authored mistakes), that
function's outputs on those cases as arrays: never code. ``stand_in`` rebuilds
a :class:`StageItem` whose functions are lookups in those tables, so the stage
checker of :mod:`.stages` runs unchanged: shapes, dtypes, NaN/inf, values
against the stored arrays, finite differences of the learner's own scalar,
the in-place rule, authored mistakes, "which step first went wrong".

What needs the reference's code on the learner's own values cannot be stored:
``given=`` and ``follows=`` (a stage judged on the learner's own earlier
output), the update's "a small step decreases the scalar", and a step applied
to the learner's own gradients. The table functions for those raise
:class:`Withheld`; ``check`` then keeps a verdict only when that code could not
have changed it, and otherwise says "undecided: needs the instructor's
grading", so the check never says "right" where the grade says "wrong".
"""

from __future__ import annotations

import copy
import dataclasses
import math
import warnings
import zlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from ..encoding import decode_value, encode_value
from ..networks import Case, case, freeze
from ..numeric import compare_values
from ..results import ItemResult
from ..runtypes import RunResult
from ..spec import Computation, Mistake, StageItem
from . import stage_update, stages
from .kit_adapters import parameters_signature, with_signature
from .stage_cases import arg_names, call_reference, cases_of, decoded, leaves
from .stage_values import changes, finish

__all__ = ["STAGE_KIT", "Withheld", "kit_stage_cases"]

#: how close an argument must be to a stored one for the stored output to stand for the function's
CLOSE_RTOL = 1e-7
CLOSE_ATOL = 1e-12
NEEDS_GRADING = "needs the instructor's grading"


class Withheld(Exception):
    """A function of the reference asked about arguments the kit holds no output for."""


def kit_stage_cases(net: Computation, seed: int) -> tuple[Case, ...]:
    """The computation's cases for the kit: the same kinds of case, drawn from another seed than grading's."""
    rng = np.random.default_rng([zlib.crc32(net.seed.encode()), seed])
    return freeze([c if isinstance(c, Case) else case(**dict(c)) for c in net.cases(rng)])


def _close(a: Any, b: Any) -> bool:
    if a is b:
        return True
    if isinstance(b, np.ndarray) or isinstance(a, np.ndarray):
        if not (isinstance(a, np.ndarray) and isinstance(b, np.ndarray)) or a.shape != b.shape:
            return False
        if a.dtype.kind not in "iuf" or b.dtype.kind not in "iuf":
            return bool(np.array_equal(a, b))
        return bool(np.allclose(a, b, rtol=CLOSE_RTOL, atol=CLOSE_ATOL, equal_nan=True))
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return list(a) == list(b) and all(_close(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b))
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return math.isclose(a, b, rel_tol=CLOSE_RTOL, abs_tol=CLOSE_ATOL)
    return bool(a == b)


def _quiet(func: Callable[..., Any], c: Case, **override: Any) -> Any:
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return call_reference(func, c, **override)


def _table(name: str, params: Sequence[str], entries: Sequence[tuple[int, dict[str, Any], Any]],
           cases: Sequence[Case], used: list[str] | None) -> Callable[..., Any]:
    """A function named ``name`` that answers the stored output for stored arguments, and nothing else."""
    def lookup(*args: Any) -> Any:
        for index, override, out in entries:
            c = cases[index]
            want = [override[n] if n in override else c.args.get(n) for n in params]
            if len(args) == len(want) and all(_close(a, w) for a, w in zip(args, want)):
                return copy.deepcopy(out)
        if used is not None:
            used.append(name)
        raise Withheld(name)

    lookup.__name__ = lookup.__qualname__ = name
    return with_signature(lookup, parameters_signature(params))


def _withheld(name: str, used: list[str]) -> Callable[..., Any]:
    def code(*args: Any) -> Any:
        used.append(name)
        raise Withheld(name)

    code.__name__ = code.__qualname__ = name
    return code


class _Recorder:
    """The tables being packed: per function name, its parameters and (case, overrides, output) entries."""

    def __init__(self, cases: Sequence[Case]) -> None:
        self.cases = cases
        self.functions: dict[str, dict[str, Any]] = {}

    def add(self, func: Callable[..., Any], index: int, key: str | None = None,
            override: Mapping[str, Any] | None = None) -> Any:
        name = key or func.__name__
        override = dict(override or {})
        table = self.functions.setdefault(name, {"params": list(arg_names(func)), "entries": []})
        try:
            out = _quiet(func, self.cases[index], **override)
        except Exception:  # an authored mistake that does not fit a case: no entry, no match there
            return None
        wire = {k: encode_value(v) for k, v in override.items()}
        if not any(e[0] == index and e[1] == wire for e in table["entries"]):
            table["entries"].append([index, wire, encode_value(out)])
        return out


class StageKit:
    """Stage items: the kit's cases and the outputs of the functions the stage check calls, as arrays."""

    def __init__(self) -> None:
        self._memo: dict[int, tuple[Mapping[str, Any], StageItem, list[str]]] = {}

    def pack(self, item: StageItem, seed: int, reveal: bool = False) -> dict[str, Any] | None:
        net = item.net
        cases = kit_stage_cases(net, seed)
        rec = _Recorder(cases)
        role = stages.role(item)
        names = arg_names(item.reference)
        reg = net.regulariser
        for i, c in enumerate(cases):
            if role != "update":
                rec.add(item.reference, i)
                if reg and reg in c.args and reg in names and role in ("gradient", "scalar"):
                    rec.add(item.reference, i, override={reg: 0.0})
            for f in (*item.after, item.gradient_of, item.gradients):
                if f is not None:
                    rec.add(f, i)
            for k, m in enumerate(item.mistakes):
                if callable(m.answer):
                    rec.add(m.answer, i, key=f"mistake{k}")
        if role == "update":
            self._pack_update(item, rec)
        net_record = {"params": net.params if isinstance(net.params, str) else list(net.params),
                      "gradient_names": net.gradient_names, "regulariser": reg, "rtol": net.rtol, "atol": net.atol,
                      "unit": net.unit}
        return {"role": role, "parameters": list(names), "timeout": item.timeout, "rtol": item.rtol,
                "atol": item.atol, "net": net_record,
                "cases": [{"args": {k: encode_value(v) for k, v in c.args.items()}, "batch": c.batch,
                           "label": c.label, "info": dict(c.info), "extreme": c.extreme} for c in cases],
                "functions": rec.functions, "reference": item.reference.__name__,
                "after": [f.__name__ for f in item.after],
                "gradient_of": item.gradient_of.__name__ if item.gradient_of else None,
                "update_of": item.update_of.__name__ if item.update_of else None,
                "gradients": item.gradients.__name__ if item.gradients else None,
                "given": item.given is not None, "follows": [label for label, _ in item.follows],
                "hints": [list(h) for h in item.hints],
                "mistakes": [[m.feedback, m.tag] for m in item.mistakes]}

    @staticmethod
    def _pack_update(item: StageItem, rec: _Recorder) -> None:
        """The step on the gradients it is given: at the case's rate, uphill, at rate 1 and 0, and a small step."""
        c0 = rec.cases[0]
        names = arg_names(item.reference)
        grads = next((n for n in names if n not in c0.args), "grads")
        lr = next((n for n in names if n in c0.args and isinstance(c0.args[n], float) and n != item.net.regulariser),
                  None)
        for i, c in enumerate(rec.cases):
            if item.gradients is not None:
                given = _quiet(item.gradients, c)
            else:
                rng = np.random.default_rng(i)
                given = {leaf.gradient: rng.normal(size=np.shape(_param(c, leaf.path)))
                         for leaf in leaves(item.net, c)}
            rec.add(item.reference, i, override={grads: given})
            if lr:
                rate = float(c.args[lr])
                for other in (-rate, 1.0, 0.0):
                    rec.add(item.reference, i, override={grads: given, lr: other})
                if i == 0:
                    rec.add(item.reference, i, override={grads: given, lr: stage_update.SMALL_LR})

    def stand_in(self, record: Mapping[str, Any]) -> StageItem:
        return self._stand_in(record)[0]

    def _stand_in(self, record: Mapping[str, Any]) -> tuple[StageItem, list[str]]:
        hit = self._memo.get(id(record))
        if hit is not None and hit[0] is record:
            return hit[1], hit[2]
        used: list[str] = []
        cases = freeze([Case({k: decode_value(v) for k, v in c["args"].items()}, int(c["batch"]), c["label"],
                             dict(c["info"]), c["extreme"]) for c in record["cases"]])
        tables = {name: _table(name, t["params"], [(int(i), {k: decode_value(v) for k, v in o.items()},
                                                    decode_value(out)) for i, o, out in t["entries"]], cases,
                               None if name.startswith("mistake") else used)
                  for name, t in record["functions"].items()}

        def fn(name: str | None) -> Callable[..., Any] | None:
            if name is None:
                return None
            return tables.get(name) or _withheld(name, used)

        n = record["net"]
        net = Computation(cases=lambda rng: cases, params=n["params"] if isinstance(n["params"], str)
                          else tuple(n["params"]), gradient_names=n["gradient_names"], regulariser=n["regulariser"],
                          seed=f"kit:{record['name']}", rtol=n["rtol"], atol=n["atol"], unit=n["unit"])
        reference = fn(record["reference"])
        assert reference is not None
        if record["reference"] not in tables:  # an update's reference: its parameters are the stored ones
            with_signature(reference, parameters_signature(record["parameters"]))
        mistakes = tuple(Mistake(tables.get(f"mistake{k}") or _withheld(f"mistake{k}", []), feedback, tag)
                         for k, (feedback, tag) in enumerate(record["mistakes"]))
        follows = tuple((label, _withheld(f"follows:{label}", used)) for label in record["follows"])
        item = StageItem(name=record["name"], points=record["points"], reference=reference,
                         title=record.get("title", ""), mistakes=mistakes, timeout=record["timeout"], computation=net,
                         after=tuple(f for f in (fn(a) for a in record["after"]) if f is not None),
                         given=_withheld("given", used) if record["given"] else None, follows=follows,
                         gradient_of=fn(record["gradient_of"]), update_of=fn(record["update_of"]),
                         gradients=fn(record["gradients"]), hints=tuple((t, h) for t, h in record["hints"]),
                         rtol=record["rtol"], atol=record["atol"])
        if len(self._memo) > 64:
            self._memo.clear()
        self._memo[id(record)] = (record, item, used)
        return item, used

    def check(self, record: Mapping[str, Any], run: RunResult, exercise: str) -> ItemResult:
        item, used = self._stand_in(record)
        used.clear()
        try:
            verdict: ItemResult | None = stages.check(item, run, exercise)
        except Withheld:
            verdict = None
        if record["role"] == "update":
            return _settle_update(item, run, exercise, verdict, used)
        if verdict is None:  # a check path this kit cannot follow: say so rather than guess
            return _undecided_from(item, exercise, None, "this check")
        if verdict.status != "failed" or not used:
            return verdict
        if record["role"] == "scalar" and set(used) <= {"given"} and _earlier_right(item, run):
            return verdict  # their earlier stage is right, so "judged on their own output" is the same judgement
        if record["role"] == "values" and all(u.startswith("follows:") for u in used):
            # the first wrong output follows only right ones, so it is wrong in the grade too; later ones may
            # be judged there on the learner's own earlier outputs (and keep their share)
            if not _carried_key_after_wrong(verdict, record["follows"]):
                return verdict
            return dataclasses.replace(verdict, details=(*verdict.details, "outputs after the first wrong one are "
                                                         "judged on your own earlier outputs only when you submit "
                                                         "(the points here may be fewer)"))
        return _undecided_from(item, exercise, verdict, "whether this is right on your own earlier results")


def _param(c: Case, path: Sequence[Any]) -> Any:
    value: Any = c.args
    for p in path:
        value = value[p]
    return value


def _earlier_right(item: StageItem, run: RunResult) -> bool:
    """Whether the learner's own output of ``after[0]`` matches its stored output on every case."""
    if not item.after:
        return True
    earlier = item.after[0]
    rtol, atol = item.tolerances
    for i, c in enumerate(cases_of(item.net)):
        ok, theirs = decoded(run.outcomes.get(f"{earlier.__name__}#{i}"))
        try:
            want = call_reference(earlier, c)
        except Withheld:
            return False
        if not ok or compare_values(want, theirs, earlier.__name__, rtol, atol) is not None:
            return False
    return True


def _carried_key_after_wrong(verdict: ItemResult, follows: Sequence[str]) -> bool:
    """Whether some output judged wrong has a ``follows`` rule and an earlier output is wrong too (so the
    grade may judge it on the learner's own earlier value and find it right)."""
    keys = list(verdict.evidence.get("keys", {}).items())
    seen_wrong = False
    for label, status in keys:
        if status == "wrong" and label in follows and seen_wrong:
            return True
        seen_wrong = seen_wrong or status == "wrong"
    return False


def _undecided_from(item: StageItem, exercise: str, verdict: ItemResult | None, what: str) -> ItemResult:
    """An undecided verdict that says what the check found and what only the grading can decide."""
    found = f"{verdict.feedback}; " if verdict is not None else ""
    base = verdict or ItemResult(exercise=exercise, item=item.name, kind=item.kind, max_points=item.points,
                                 points=0.0, status="undecided", feedback="", title=item.title)
    return dataclasses.replace(base, status="undecided", points=0.0, diagnosis="undecided",
                               feedback=f"{found}{what} {NEEDS_GRADING}")


def _settle_update(item: StageItem, run: RunResult, exercise: str, verdict: ItemResult | None,
                   used: list[str]) -> ItemResult:
    """An update step: right on the stored steps and the small step is decided here; the descent of the scalar
    and a step on the learner's own (differing) gradients are the instructor's grading's."""
    scalar = item.update_of.__name__ if item.update_of is not None else "scalar"
    if verdict is not None and verdict.status == "error":
        return verdict
    if verdict is not None and verdict.status == "failed" and set(used) <= {scalar}:
        return verdict
    cases = cases_of(item.net)
    rtol, atol = item.tolerances
    steps_right = True
    for i in range(len(cases)):
        ok, got = decoded(run.outcomes.get(f"{item.name}#{i}"))
        want = stage_update._reference_step(item, i, stage_update._gradients(item, i))
        if not ok or compare_values(want, got, item.name, rtol, atol) is not None:
            steps_right = False
    if not steps_right:
        return _undecided_from(item, exercise, verdict,
                               "your step differs from the expected one on the expected gradients; whether it is "
                               "right on your own gradients (error carried forward)")
    ok, small = decoded(run.outcomes.get(f"{item.name}#descent"))
    want_small = stage_update._reference_step(item, 0, stage_update._gradients(item, 0), stage_update.SMALL_LR)
    if not ok or compare_values(want_small, small, item.name, rtol, atol) is not None:
        return _undecided_from(item, exercise, verdict, f"what a small step does to the {scalar}")
    found = changes(item, run, stage_update._originals(item))
    return finish(item, exercise, item.points,
                  f"right on all {len(cases)} {item.net.unit}s, and a small step is the expected one (whether it "
                  f"decreases your {scalar} is checked when you submit)", [],
                  {"cases": (verdict.evidence.get("cases") if verdict else None) or []}, None, found)


STAGE_KIT = StageKit()
