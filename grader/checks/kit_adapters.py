"""Kit adapters: what a learner kit stores for an item of each kind, and how an item is checked against it.

A kit adapter (:class:`grader.checks.registry.KitAdapter`) has three parts:
``pack(item, seed, reveal)`` gives the item's record for the check bundle (plain
JSON data, never the reference or a mistake as code or expression), or None when
nothing checkable can be stored ("checked when you submit");
``stand_in(record)`` an ItemSpec of the kind whose reference is withheld, so the
kind's input and static scan run unchanged (what to call, what to forbid); and
``check(record, answers, exercise)`` the verdict from the stored values (pure).

Symbolic items and expression quiz questions store the reference's values at
seeded points (:mod:`grader.equivalence_values`); numeric items the public
cases' inputs and outputs as arrays; number and choice questions nothing,
unless the instructor reveals them; stage items their cases and arrays
(:mod:`.kit_stages`). A kind without an adapter is listed in the kit as
"checked when you submit".
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import inspect
import json
import zlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import numpy as np
import sympy as sp

from .. import diagnosis
from .. import equivalence_values as ev
from ..encoding import decode_value, encode_value
from ..errors import DecodeError
from ..parsing import describe_reading
from ..results import ItemResult, Status, truncate
from ..runtypes import RunResult
from ..spec import ItemSpec, Mistake, NumericItem, QuizItem, SymbolicItem, Variable
from . import numeric, quiz
from .common import outcome_problem, result
from .inputs import Sheet
from .numeric_review import REFINABLE, learner_outputs
from .symbolic import _forbidden_nodes, _stray_variables, _type_problem, symbols_for

__all__ = ["NUMERIC_KIT", "QUIZ_KIT", "SYMBOLIC_KIT", "parameters_signature", "with_signature", "withheld"]

#: sample points stored per expression (the feedback says how many were checked)
POINTS = 24

_F = TypeVar("_F", bound=Callable[..., Any])


def parameters_signature(names: Sequence[str]) -> inspect.Signature:
    """A signature of plain positional-or-keyword parameters ``names`` (a stand-in's, as the reference's)."""
    return inspect.Signature([inspect.Parameter(n, inspect.Parameter.POSITIONAL_OR_KEYWORD) for n in names])


def with_signature(func: _F, signature: inspect.Signature) -> _F:
    """``func`` itself, with ``signature`` as what :func:`inspect.signature` reports for it."""
    vars(func)["__signature__"] = signature  # inspect.signature reports this attribute when present
    return func


def withheld(parameters: Sequence[str]) -> Callable[..., Any]:
    """A reference stand-in with the reference's parameters that cannot be called: the kit has no reference."""

    def reference(*args: Any) -> Any:
        raise RuntimeError("the reference is not part of the learner kit")

    return with_signature(reference, parameters_signature(parameters))


def _variables(record: Mapping[str, Any]) -> tuple[Variable, ...]:
    return tuple(Variable(**v) for v in record["variables"])


def _samples(raw: Sequence[Any]) -> list[ev.Sample]:
    return [ev.Sample(dict(p), str(v), float(s)) for p, v, s in raw]


def _components(value: Any) -> list[Any] | None:
    if isinstance(value, sp.MatrixBase):
        return list(value)
    if isinstance(value, (list, tuple)):
        return list(value)
    return None


# -- expressions: the reference's values at points ---------------------------------------------


def _wording(reference: Any, variables: Sequence[Variable], antiderivative: Any, inner: Any,
             wrt: Any) -> tuple[dict[str, str], Any]:
    """The diagnoser's own words for the value-decidable mistakes of this reference, and ``reference / du``."""
    words: dict[str, str] = {}
    chain = None
    candidates: list[tuple[str, Any]] = [("sign_error", sp.Mul(-1, reference, evaluate=False))]
    if antiderivative is not None:
        candidates.append(("function_not_derivative", antiderivative))
    if inner is not None and wrt is not None:
        du = sp.diff(inner, wrt)
        if du not in (0, 1):
            chain = sp.Mul(reference, sp.Pow(du, -1, evaluate=False), evaluate=False)
            candidates.append(("missing_chain_factor", chain))
    for tag, wrong in candidates:
        found = diagnosis.diagnose(reference, wrong, variables, antiderivative=antiderivative, inner=inner)
        if found is not None and found.tag == tag:
            words[tag] = found.feedback
    return words, chain if "missing_chain_factor" in words else None


def _pack_expression(reference: Any, variables: Sequence[Variable], mistakes: Sequence[Any], seed: int,
                     antiderivative: Any = None, inner: Any = None) -> dict[str, Any]:
    """Values of the reference (each component) at seeded points, the diagnoses' data, the mistakes' fingerprints."""
    parts = _components(reference)
    refs = parts if parts is not None else [reference]
    shape = (list(reference.shape) if isinstance(reference, sp.MatrixBase) else [len(refs)]) if parts else None
    symbols = {v.name: sp.Symbol(v.name, **v.assumptions()) for v in variables}
    wrt = next(iter(symbols.values())) if len(variables) == 1 else None
    if antiderivative is not None and wrt is None:  # the variable the reference differentiates by
        probe = ev.sample_reference(refs[0], variables, seed, 8)
        wrt = next((s for s in symbols.values()
                    if ev.check_values(sp.diff(antiderivative, s), probe).verdict.status == "equivalent"), None)
    components = []
    for r in refs:
        samples = ev.sample_reference(r, variables, seed, POINTS)
        words, chain = _wording(r, variables, antiderivative, inner, wrt)
        comp: dict[str, Any] = {"samples": [[dict(s.point), s.value, s.scale] for s in samples], "wording": words}
        if antiderivative is not None and "function_not_derivative" in words:
            comp["function"] = ev.evaluate_at(antiderivative, samples)
        if chain is not None:
            comp["chain"] = ev.evaluate_at(chain, samples)
        components.append(comp)
    prints: dict[str, list[str]] = {}
    for expr, feedback, tag in mistakes:
        wrong = _components(expr)
        wrongs = wrong if wrong is not None else [expr]
        if expr is None or len(wrongs) != len(refs):
            continue
        values: list[Any] = []
        for w, comp in zip(wrongs, components):
            values += ev.evaluate_at(w, _samples(comp["samples"]))
        prints.setdefault(ev.fingerprint(values), [feedback, tag])
    floats = any(bool(sp.sympify(r).atoms(sp.Float)) for r in refs)
    return {"components": components, "shape": shape, "mistakes": prints, "floats": floats}


def _check_component(item_name: str, comp: Mapping[str, Any], answer: Any, floats: bool,
                     label: str) -> tuple[Status, str, str | None, list[Any], int]:
    """(status, feedback, diagnosis, values, points checked) of one component against its stored values."""
    samples = _samples(comp["samples"])
    checked = ev.check_values(answer, samples, floats=floats)
    verdict = checked.verdict
    if verdict.status == "equivalent":
        return "passed", label + f"correct (checked at {verdict.points_checked} points)", None, \
            list(checked.values), verdict.points_checked
    if verdict.status == "undecided":
        return "undecided", label + verdict.undecided_feedback(), "undecided", list(checked.values), 0
    found = ev.diagnose_values(checked.values, samples, comp) if len(checked.values) == len(samples) else None
    if found is not None:
        return "failed", label + found[1], found[0], list(checked.values), verdict.points_checked
    why = (f"not equal to the expected expression: {verdict.evidence} (which mistake it is cannot be told from "
           f"the kit's values: the grade after you submit names it when it can)")
    return "failed", label + why, "not_equivalent", list(checked.values), verdict.points_checked


def _judge_expression(record: Mapping[str, Any], answer: Any, item: ItemSpec, exercise: str,
                      screen: Callable[[Any, str], tuple[str, str] | None]) -> ItemResult:
    """The verdict on a decoded answer (an expression or a list of them) against the record's values."""
    comps = record["components"]
    shown = _show(answer)
    if record["shape"] is None:
        problem = screen(answer, "")
        if problem:
            return result(item, exercise, passed=False, diagnosis=problem[0], feedback=problem[1], answer=shown)
        status, feedback, diag, values, n = _check_component(item.name, comps[0], answer, record["floats"], "")
        if status == "failed":
            feedback, diag = _authored(record, values, feedback, diag)
        return result(item, exercise, passed=status == "passed", status=status,
                      feedback=feedback, diagnosis=diag, answer=shown,
                      evidence={"method": "values", "points_checked": n, "read_as": _reading(answer)})
    parts = _components(answer)
    if parts is None:
        return result(item, exercise, passed=False, diagnosis="wrong_shape", answer=shown,
                      feedback=f"{item.name} should return a list of {len(comps)} expressions; "
                               f"it returned {type(answer).__name__}")
    shape = record["shape"]
    if isinstance(answer, sp.MatrixBase) and len(shape) == 2 and list(answer.shape) != shape:
        return result(item, exercise, passed=False, diagnosis="wrong_shape", answer=shown,
                      feedback=f"{item.name} should return a {shape[0]}x{shape[1]} matrix; "
                               f"yours is {answer.rows}x{answer.cols}")
    if len(parts) != len(comps):
        return result(item, exercise, passed=False, diagnosis="wrong_shape", answer=shown,
                      feedback=f"{item.name} should return {len(comps)} components; yours has {len(parts)}")
    outcomes: list[tuple[Status, str, str | None, int]] = []
    values = []
    for i, (comp, part) in enumerate(zip(comps, parts)):
        label = f"component {i + 1}: "
        problem = screen(part, label)
        if problem:
            outcomes.append(("failed", problem[1], problem[0], 0))
            values += [None] * len(comp["samples"])
            continue
        status, feedback, diag, vals, n = _check_component(item.name, comp, part, record["floats"], label)
        outcomes.append((status, feedback, diag, n))
        values += vals if len(vals) == len(comp["samples"]) else [None] * len(comp["samples"])
    bad = [o for o in outcomes if o[0] != "passed"]
    status = "passed" if not bad else ("undecided" if all(o[0] == "undecided" for o in bad) else "failed")
    checked = sum(o[3] for o in outcomes)
    feedback = f"correct (checked at {checked} points)" if not bad else "; ".join(o[1] for o in bad)
    diag = None if not bad else bad[0][2]
    if status == "failed":
        feedback, diag = _authored(record, values, feedback, diag)
    return result(item, exercise, passed=status == "passed", status=status,
                  feedback=feedback, diagnosis=diag, answer=shown,
                  evidence={"method": "values", "points_checked": checked})


def _authored(record: Mapping[str, Any], values: Sequence[Any], feedback: str,
              diag: str | None) -> tuple[str, str | None]:
    """The authored mistake's feedback and tag when the answer's values fingerprint as one, else the given pair."""
    authored = record["mistakes"].get(ev.fingerprint(values))
    if authored:
        feedback, diag = authored
    return feedback, diag


def _show(value: Any, limit: int = 400) -> str:
    if isinstance(value, (list, tuple)):
        text = "[" + ", ".join(_show(v, limit) for v in value) + "]"
    else:
        text = sp.sstr(value) if isinstance(value, sp.Basic) else repr(value)
    return truncate(text, limit)


def _reading(answer: Any) -> str:
    try:
        return truncate(describe_reading(answer), 400)
    except Exception:  # a reading is a courtesy: an answer too odd to read is still judged
        return ""


class SymbolicKit:
    """Symbolic items: the reference's values at seeded points (see :mod:`grader.equivalence_values`)."""

    def pack(self, item: SymbolicItem, seed: int, reveal: bool = False) -> dict[str, Any] | None:
        symbols = symbols_for(item)
        reference = item.reference(*symbols.values())
        mistakes = []
        for m in item.mistakes:
            try:
                mistakes.append((diagnosis.mistake_expression(m, symbols), m.feedback, m.tag))
            except Exception:  # an authored answer that does not apply to this item: no fingerprint
                continue
        anti = _author(item.antiderivative, symbols)
        inner = _author(item.inner, symbols)
        return {"variables": [dataclasses.asdict(v) for v in item.variables], "forbid": list(item.forbid),
                "timeout": item.timeout, "parameters": list(item.parameters),
                **_pack_expression(reference, item.variables, mistakes, seed, anti, inner)}

    def stand_in(self, record: Mapping[str, Any]) -> SymbolicItem:
        return SymbolicItem(name=record["name"], points=record["points"], reference=withheld(record["parameters"]),
                            title=record.get("title", ""), forbid=tuple(record["forbid"]),
                            timeout=record["timeout"], variables=_variables(record))

    def check(self, record: Mapping[str, Any], run: RunResult, exercise: str) -> ItemResult:
        item = self.stand_in(record)
        outcome = run.outcomes.get(item.name)
        problem = outcome_problem(item, exercise, outcome)
        if problem:
            return problem
        assert outcome is not None  # outcome_problem reports a missing outcome
        try:
            answer = decode_value(outcome.value, symbols_for(item))
        except DecodeError as exc:
            return result(item, exercise, passed=False, diagnosis="unreadable",
                          feedback=f"{item.name} returned something the grader refuses to read: {exc}")

        def screen(value: Any, label: str) -> tuple[str, str] | None:
            if not isinstance(value, (int, float)):
                problem = _type_problem(value, item)
                if problem:
                    return "wrong_type", label + problem
            value = sp.sympify(value) if isinstance(value, (int, float)) else value
            for diag, found in (("forbidden_helper", _forbidden_nodes(value, item)),
                                ("stray_variable", _stray_variables(value, item))):
                if found:
                    return diag, label + found
            return None

        return _judge_expression(record, answer, item, exercise, screen)


def _author(func: Any, symbols: Mapping[str, sp.Symbol]) -> Any:
    if func is None:
        return None
    try:
        return func(*symbols.values())
    except Exception:  # an author's helper that does not fit this item
        return None


# -- numeric: public cases and the reference's outputs ------------------------------------------


def kit_cases(item: NumericItem, seed: int) -> list[tuple[Any, ...]]:
    """The item's cases for the kit, from another seed than the instructor's grading uses."""
    rng = np.random.default_rng([zlib.crc32(item.name.encode()), seed])
    return [tuple(c) for c in item.cases(rng)] if item.cases else [()]


def _numeric_print(value: Any) -> str:
    """A fingerprint of a numeric output: every number to 6 significant digits (tiny ones as 0), with shapes."""
    parts: list[str] = []

    def walk(v: Any) -> None:
        if isinstance(v, dict):
            for k in sorted(v, key=str):
                parts.append(f"k:{k}")
                walk(v[k])
        elif isinstance(v, (list, tuple)):
            parts.append(f"l{len(v)}")
            for x in v:
                walk(x)
        elif isinstance(v, (np.ndarray, np.generic, int, float)) and not isinstance(v, bool):
            arr = np.asarray(v, dtype=float)
            parts.append(f"s{arr.shape}")
            parts.extend("0" if abs(x) < 1e-9 else f"{x:.6g}" for x in arr.ravel().tolist())
        else:
            parts.append(repr(v)[:50])

    walk(value)
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]


class NumericKit:
    """Numeric items: the kit's own public cases, the reference's outputs on them, the mistakes' fingerprints."""

    def pack(self, item: NumericItem, seed: int, reveal: bool = False) -> dict[str, Any] | None:
        cases = kit_cases(item, seed)
        outputs = [numeric_review_quietly(item.reference, c) for c in cases]
        prints: dict[str, list[str]] = {}
        for m in item.mistakes:
            if not callable(m.answer):
                continue
            try:
                wrong = [numeric_review_quietly(m.answer, c) for c in cases]
            except Exception:  # an authored callable that does not fit these cases
                continue
            prints.setdefault(_numeric_print(wrong), [m.feedback, m.tag])
        return {"cases": [[encode_value(a) for a in c] for c in cases], "outputs": [encode_value(o) for o in outputs],
                "parameters": list(item.parameters), "rtol": item.rtol, "atol": item.atol,
                "check_unmodified": item.check_unmodified, "converges_to": item.converges_to,
                "no_warnings": item.no_warnings, "forbid": list(item.forbid), "timeout": item.timeout,
                "mistakes": prints}

    def stand_in(self, record: Mapping[str, Any]) -> NumericItem:
        cases = [tuple(decode_value(a) for a in c) for c in record["cases"]]
        outputs = [decode_value(o) for o in record["outputs"]]
        table = {_args_key(c): o for c, o in zip(cases, outputs)}

        def reference(*args: Any) -> Any:  # the stored output of a stored case; nothing else
            return copy.deepcopy(table[_args_key(args)])

        with_signature(reference, parameters_signature(record["parameters"]))
        return NumericItem(name=record["name"], points=record["points"], reference=reference,
                           title=record.get("title", ""), forbid=tuple(record["forbid"]), timeout=record["timeout"],
                           cases=lambda rng: cases, rtol=record["rtol"], atol=record["atol"],
                           check_unmodified=record["check_unmodified"], converges_to=record["converges_to"],
                           no_warnings=record["no_warnings"])

    def check(self, record: Mapping[str, Any], run: RunResult, exercise: str) -> ItemResult:
        item = self.stand_in(record)
        verdict = numeric.check(item, run, exercise)
        if verdict.status != "failed" or not record["mistakes"]:
            return verdict
        outputs = learner_outputs(item, run, len(record["cases"]))
        if outputs is None:  # a call failed or cannot be read: no fingerprint to match
            return verdict
        found = record["mistakes"].get(_numeric_print(outputs))
        if found is None or verdict.diagnosis not in REFINABLE:
            return verdict
        return dataclasses.replace(verdict, feedback=found[0], diagnosis=found[1],
                                   details=verdict.details + (verdict.feedback,))


def _args_key(args: Sequence[Any]) -> str:
    return json.dumps([encode_value(a) for a in args], sort_keys=True)


def numeric_review_quietly(func: Callable[..., Any], case: tuple[Any, ...]) -> Any:
    """``func`` on a copy of ``case`` with NumPy's warnings silenced (as the reviewer runs reference callables)."""
    import warnings

    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return func(*copy.deepcopy(case))


# -- quiz: expressions by values; numbers and choices only when revealed --------------------------


class QuizKit:
    """Expression questions by values; number and choice questions only with ``reveal`` (their answer stored)."""

    def pack(self, item: QuizItem, seed: int, reveal: bool = False) -> dict[str, Any] | None:
        base = {"answer": item.answer, "text": item.text, "choices": [list(c) for c in item.choices],
                "tolerance": item.tolerance, "must_not_use": list(item.must_not_use),
                "variables": [dataclasses.asdict(v) for v in item.variables], "parameters": list(item.parameters)}
        if item.answer != "expression":
            if not reveal:
                return None
            return {**base, "revealed": quiz.reference_text(item),
                    "revealed_mistakes": [[str(m.answer), m.feedback, m.tag] for m in item.mistakes]}
        symbols = {v.name: sp.Symbol(v.name, **v.assumptions()) for v in item.variables}
        reference = item.reference(*symbols.values())
        mistakes = [(diagnosis.mistake_expression(m, symbols), m.feedback, m.tag) for m in item.mistakes]
        return {**base, **_pack_expression(reference, item.variables, mistakes, seed)}

    def stand_in(self, record: Mapping[str, Any]) -> QuizItem:
        revealed = record.get("revealed")
        reference: Callable[..., Any] = (lambda: revealed) if revealed is not None else \
            withheld(record["parameters"])
        mistakes = tuple(Mistake(a, f, t) for a, f, t in record.get("revealed_mistakes", []))
        return QuizItem(name=record["name"], points=record["points"], reference=reference,
                        title=record.get("title", ""), mistakes=mistakes, text=record["text"],
                        answer=record["answer"], variables=_variables(record),
                        choices=tuple((a, b) for a, b in record["choices"]), tolerance=record["tolerance"],
                        must_not_use=tuple(record["must_not_use"]))

    def check(self, record: Mapping[str, Any], sheet: Sheet, exercise: str) -> ItemResult:
        item = self.stand_in(record)
        if item.answer != "expression" or sheet.error:
            return quiz.check(item, sheet, exercise)  # a revealed number/choice: the quiz's own check
        raw, problem = quiz._raw_answer(item, sheet)
        if problem:
            diag = "not_attempted" if problem.startswith("not attempted") else "missing_answer"
            return result(item, exercise, passed=False, status="error", diagnosis=diag, feedback=problem)
        if isinstance(raw, list):
            return result(item, exercise, passed=False, diagnosis="wrong_type", answer=truncate(str(raw), 200),
                          feedback=f"{item.name} wants one answer, not a list")
        text = raw if isinstance(raw, str) else repr(raw)
        answer, bad = quiz._parse(item, text, exercise)
        if bad:
            return bad
        used = sorted({type(f).__name__ for f in answer.atoms(sp.Function)} & set(item.must_not_use))
        if used:
            return result(item, exercise, passed=False, diagnosis="function_not_allowed", answer=truncate(text, 400),
                          feedback=f"this question asks you to write it without {used[0]}")
        judged = _judge_expression(record, answer, item, exercise, lambda value, label: None)
        return dataclasses.replace(judged, answer=truncate(text, 400),
                                   details=(f"we read your answer as {describe_reading(answer)}",))


SYMBOLIC_KIT = SymbolicKit()
NUMERIC_KIT = NumericKit()
QUIZ_KIT = QuizKit()
