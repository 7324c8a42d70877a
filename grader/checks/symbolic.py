"""Symbolic items: the learner returns a SymPy expression (or a list of them).

The answer is decoded strictly, checked for the things an expression must
not contain (unevaluated derivatives, stray variables), then compared with
the reference by the equivalence engine; known mistakes are recognised.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sympy as sp

from .. import diagnosis, equivalence
from ..encoding import Unsupported, decode_value, encode_symbol
from ..errors import DecodeError
from ..evaluate import TooLarge, tree_size
from ..parsing import describe_reading
from ..results import ItemResult, Status, truncate
from ..runtypes import Call, RunResult
from ..spec import SymbolicItem
from .common import expression_evidence, forbidden_feedback, outcome_problem, result


def symbols_for(item: SymbolicItem) -> dict[str, sp.Symbol]:
    """The SymPy symbols (with domain assumptions) the item's function receives."""
    return {v.name: sp.Symbol(v.name, **v.assumptions()) for v in item.variables}


def calls(item: SymbolicItem) -> list[Call]:
    """One call: the learner's function applied to the item's symbols."""
    args = tuple(encode_symbol(s) for s in symbols_for(item).values())
    return [Call(item.name, item.name, args, forbid=item.forbid, timeout=item.timeout)]


def _components(value: Any) -> list[Any] | None:
    if isinstance(value, (list, tuple)):
        return list(value)
    if isinstance(value, sp.MatrixBase):
        return list(value)
    return None


def _type_problem(value: Any, item: SymbolicItem) -> str | None:
    names = ", ".join(v.name for v in item.variables)
    if value is None:
        return f"{item.name} returned None: did you forget the return statement?"
    if isinstance(value, Unsupported):
        return f"{item.name} returned a {value.type_name}; expected a SymPy expression in {names}"
    if isinstance(value, str):
        return f"{item.name} returned the string {value[:60]!r}; return a SymPy expression, not text"
    if isinstance(value, bool):
        return f"{item.name} returned {value}; expected a SymPy expression in {names}"
    if isinstance(value, (int, float)):
        return (f"{item.name} returned the number {value:g}; expected an expression in {names}: "
                f"build it from the symbol{'s' if len(item.variables) > 1 else ''} you are given")
    return None


#: node names the wire format carries for SymPy's unevaluated helpers -> the helper an item forbids
_HELPER_NODES = {"Subs": "Subs", "Integral": "integrate"}


def _forbidden_nodes(expr: Any, item: SymbolicItem) -> str | None:
    if not isinstance(expr, sp.Basic):
        return None
    if ("Derivative" in item.forbid or "diff" in item.forbid) and expr.has(sp.Derivative):
        return forbidden_feedback(("Derivative",)) + " (your answer contains an unevaluated Derivative)"
    for f in expr.atoms(sp.core.function.AppliedUndef):
        helper = _HELPER_NODES.get(type(f).__name__)
        if helper in item.forbid:
            name = type(f).__name__
            return forbidden_feedback((name,)) + f" (your answer contains an unevaluated {name})"
    return None


def _stray_variables(expr: Any, item: SymbolicItem) -> str | None:
    allowed = {v.name for v in item.variables}
    stray = sorted(s.name for s in getattr(expr, "free_symbols", set()) if s.name not in allowed)
    if stray:
        who = ", ".join(stray)
        return (f"your answer contains {who}, but {item.name} is a function of "
                f"{', '.join(sorted(allowed)) or 'no variables'} only")
    return None


def _compare_one(item: SymbolicItem, reference: Any, answer: Any, symbols: dict[str, sp.Symbol],
                 label: str = "") -> tuple[Status, str, str | None, equivalence.Verdict | None]:
    """(status, feedback, diagnosis, verdict) for one scalar component."""
    problem = _type_problem(answer, item) if not isinstance(answer, (int, float)) or not sp.sympify(
        reference).is_number else None
    if problem:
        return "failed", label + problem, "wrong_type", None
    answer = sp.sympify(answer) if isinstance(answer, (int, float)) else answer
    problem = _forbidden_nodes(answer, item)
    if problem:
        return "failed", label + problem, "forbidden_helper", None
    problem = _stray_variables(answer, item)
    if problem:
        return "failed", label + problem, "stray_variable", None
    verdict = equivalence.compare(reference, answer, item.variables)
    if verdict.status == "equivalent":
        return "passed", label + "correct", None, verdict
    if verdict.status == "undecided":
        return "undecided", label + verdict.undecided_feedback(), "undecided", verdict
    found = diagnosis.diagnose(
        reference, answer, item.variables, antiderivative=_author_expr(item.antiderivative, symbols),
        inner=_author_expr(item.inner, symbols),
        mistakes=[(diagnosis.mistake_expression(m, symbols), m.feedback, m.tag) for m in item.mistakes])
    if found is not None:
        return "failed", label + found.feedback, found.tag, verdict
    return "failed", label + f"not equal to the expected expression: {verdict.evidence}", "not_equivalent", verdict


def _whole_list_mistake(item: SymbolicItem, answer_parts: list[Any],
                        symbols: dict[str, sp.Symbol]) -> tuple[str, str] | None:
    """(feedback, tag) of an authored list-valued mistake matching every component, else None.

    Mistakes such as swapped gradient components only make sense for the whole list,
    so they are tried before the per-component account is given.
    """
    for m in item.mistakes:
        try:
            wrong = diagnosis.mistake_expression(m, symbols)
        except Exception:  # an authored answer that does not apply to this item
            continue
        if _components(wrong) is not None and \
                equivalence.compare(wrong, answer_parts, item.variables).status == "equivalent":
            return m.feedback, m.tag
    return None


def _author_expr(func: Any, symbols: dict[str, sp.Symbol]) -> Any:
    """The item's antiderivative/inner function applied to its symbols (None if absent)."""
    if func is None:
        return None
    try:
        return func(*symbols.values())
    except Exception:  # an author's helper that does not fit this item: no diagnosis from it
        return None


def check(item: SymbolicItem, run: RunResult, exercise: str) -> ItemResult:
    """Judge the learner's returned expression(s) against the reference."""
    outcome = run.outcomes.get(item.name)
    problem = outcome_problem(item, exercise, outcome)
    if problem:
        return problem
    symbols = symbols_for(item)
    try:
        assert outcome is not None  # outcome_problem reports a missing outcome
        answer = decode_value(outcome.value, symbols)
    except DecodeError as exc:
        return result(item, exercise, passed=False, diagnosis="unreadable",
                      feedback=f"{item.name} returned something the grader refuses to read: {exc}")
    reference = item.reference(*symbols.values())
    ref_parts = _components(reference)
    shown = _show(answer)
    if ref_parts is None:
        status, feedback, diag, verdict = _compare_one(item, reference, answer, symbols)
        evidence = _evidence(verdict)
        if evidence:
            evidence["read_as"] = _reading(answer)
    else:
        ans_parts = _components(answer)
        if ans_parts is None:
            return result(item, exercise, passed=False, diagnosis="wrong_shape", answer=shown,
                          feedback=f"{item.name} should return a list of {len(ref_parts)} expressions; "
                                   f"it returned {type(answer).__name__}")
        if isinstance(reference, sp.MatrixBase) and isinstance(answer, sp.MatrixBase) and \
                reference.shape != answer.shape:
            return result(item, exercise, passed=False, diagnosis="wrong_shape", answer=shown,
                          feedback=f"{item.name} should return a {reference.rows}x{reference.cols} matrix; "
                                   f"yours is {answer.rows}x{answer.cols}")
        if len(ans_parts) != len(ref_parts):
            return result(item, exercise, passed=False, diagnosis="wrong_shape", answer=shown,
                          feedback=f"{item.name} should return {len(ref_parts)} components; "
                                   f"yours has {len(ans_parts)}")
        outcomes = [_compare_one(item, r, a, symbols, f"component {i + 1}: ")
                    for i, (r, a) in enumerate(zip(ref_parts, ans_parts))]
        bad = [o for o in outcomes if o[0] != "passed"]
        status = "passed" if not bad else ("undecided" if all(o[0] == "undecided" for o in bad) else "failed")
        feedback = "correct" if not bad else "; ".join(o[1] for o in bad)
        diag = None if not bad else bad[0][2]
        whole = _whole_list_mistake(item, ans_parts, symbols) if status == "failed" else None
        if whole is not None:
            feedback, diag = whole
        evidence = {"components": [_evidence(o[3]) for o in outcomes]}
    # both sides as plain trees: the report draws them (and the curves of a wrong single expression)
    evidence = {**evidence, **expression_evidence(answer, reference, item.variables,
                                                  plot=ref_parts is None and status != "passed")}
    return result(item, exercise, passed=status == "passed", status=status,
                  feedback=feedback, diagnosis=diag, answer=shown, expected=_show(reference),
                  evidence=evidence)


def _reading(answer: Any) -> str:
    """How the answer reads as one line of maths (``2^x · ln(2)``), for the report."""
    try:
        tree_size(answer)
    except TooLarge:
        return "(too large to show)"
    text = describe_reading(answer)
    return truncate(text, 400)


def _evidence(verdict: equivalence.Verdict | None) -> dict[str, Any]:
    return verdict.to_evidence() if verdict is not None else {}


def _show(value: Any, limit: int = 400) -> str:
    if isinstance(value, Sequence) and not isinstance(value, str):
        text = "[" + ", ".join(_show(v, limit) for v in value) + "]"
    else:
        text = sp.sstr(value) if isinstance(value, sp.Basic) else repr(value)
    return truncate(text, limit)
