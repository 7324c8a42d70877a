"""Quiz items: answers typed by hand in a TOML file, read strictly, never run.

The sheet is one table per question with an ``answer`` key::

    [d_exp_neg]
    answer = "-e^(-x)"

Expression answers go through the safe parser (:mod:`grader.parsing`, no
``eval``) and the equivalence engine; numbers through the same parser (``1/4``
and ``0.25`` both work) and the question's tolerance; choices are letters
(``"b"``, ``"a, c"`` or ``["a", "c"]``). A sheet that is not valid TOML costs
every question, with the line and column of the problem.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from typing import Any

import sympy as sp

from .. import diagnosis, equivalence
from ..parsing import ParseError, describe_reading, parse_expression
from ..results import ItemResult, truncate
from ..runtypes import Call
from ..spec import QuizItem
from .common import expression_evidence, result
from .inputs import Sheet

__all__ = ["calls", "check", "reference_sheet", "reference_text"]


def calls(item: QuizItem) -> list[Call]:
    """A quiz question runs no learner code."""
    return []


def reference_sheet(items: Sequence[QuizItem]) -> str:
    """A filled-in quiz file with every reference answer (what an instructor's key looks like)."""
    lines = []
    for item in items:
        lines += [f"[{item.name}]", f"answer = {json.dumps(reference_text(item), ensure_ascii=False)}", ""]
    return "\n".join(lines)


def reference_text(item: QuizItem) -> str:
    """The reference answer typed the way the parser reads it."""
    value = item.reference(*_symbols(item).values())
    if item.answer == "choice":
        return ", ".join(sorted(_letters_of(value)))
    return sp.sstr(sp.sympify(value))


def _symbols(item: QuizItem) -> dict[str, sp.Symbol]:
    return {v.name: sp.Symbol(v.name, **v.assumptions()) for v in item.variables}


def _letters_of(value: Any) -> set[str]:
    return {str(v).strip().lower() for v in ([value] if isinstance(value, str) else value)}


def _raw_answer(item: QuizItem, sheet: Sheet) -> tuple[Any, str | None]:
    """(answer, problem): the learner's raw answer or a sentence saying why there is none."""
    table = sheet.tables.get(item.name)
    if table is None:
        return None, (f"there is no [{item.name}] section in your quiz file: keep the sections "
                      f"from the template")
    if not isinstance(table, dict):
        return None, f"{item.name} should be a section [{item.name}] with an answer = \"...\" line"
    if "answer" not in table:
        return None, f"the [{item.name}] section has no answer = \"...\" line"
    raw = table["answer"]
    if isinstance(raw, str) and not raw.strip():
        return None, f"not attempted yet: {item.name} has an empty answer"
    if isinstance(raw, bool) or not isinstance(raw, (str, int, float, list)):
        return None, f"the answer to {item.name} should be text in double quotes, like answer = \"...\""
    return raw, None


def check(item: QuizItem, sheet: Sheet, exercise: str) -> ItemResult:
    """Judge one question's typed answer."""
    if sheet.error:
        return result(item, exercise, passed=False, status="error", diagnosis="malformed_quiz",
                      feedback=sheet.error)
    raw, problem = _raw_answer(item, sheet)
    if problem:
        diag = "not_attempted" if problem.startswith("not attempted") else "missing_answer"
        return result(item, exercise, passed=False, status="error", diagnosis=diag, feedback=problem)
    if item.answer == "choice":
        return _check_choice(item, raw, exercise)
    if isinstance(raw, list):
        return result(item, exercise, passed=False, diagnosis="wrong_type", answer=truncate(str(raw), 200),
                      feedback=f"{item.name} wants one answer, not a list")
    text = raw if isinstance(raw, str) else repr(raw)
    if item.answer == "number":
        return _check_number(item, text, exercise)
    return _check_expression(item, text, exercise)


def _parse(item: QuizItem, text: str, exercise: str) -> tuple[Any, ItemResult | None]:
    try:
        return parse_expression(text, item.variables), None
    except ParseError as exc:
        head, *rest = str(exc).split("\n")
        return None, result(item, exercise, passed=False, diagnosis="syntax_error", answer=truncate(text, 400),
                            feedback=f"we could not read your answer: {head}", details=tuple(rest))


def _check_expression(item: QuizItem, text: str, exercise: str) -> ItemResult:
    answer, problem = _parse(item, text, exercise)
    if problem:
        return problem
    reading = f"we read your answer as {describe_reading(answer)}"
    reference = item.reference(*_symbols(item).values())
    common: dict[str, Any] = {"answer": truncate(text, 400), "expected": describe_reading(reference),
                              "details": (reading,)}
    used = sorted({type(f).__name__ for f in answer.atoms(sp.Function)} & set(item.must_not_use))
    if used:
        return result(item, exercise, passed=False, diagnosis="function_not_allowed",
                      feedback=f"this question asks you to write it without {used[0]}", **common)
    verdict = equivalence.compare(reference, answer, item.variables)
    common.update(evidence={**verdict.to_evidence(), "read_as": describe_reading(answer),
                            **expression_evidence(answer, reference, item.variables,
                                                  plot=verdict.status == "not_equivalent")})
    if verdict.status == "equivalent":
        return result(item, exercise, passed=True, feedback="correct", **common)
    if verdict.status == "undecided":
        return result(item, exercise, passed=False, status="undecided", diagnosis="undecided",
                      feedback=verdict.undecided_feedback(), **common)
    authored = [(diagnosis.mistake_expression(m, _symbols(item)), m.feedback, m.tag) for m in item.mistakes]
    found = diagnosis.diagnose(reference, answer, item.variables, mistakes=authored)
    if found is not None:
        return result(item, exercise, passed=False, diagnosis=found.tag, feedback=found.feedback, **common)
    return result(item, exercise, passed=False, diagnosis="not_equivalent",
                  feedback=f"not equal to the expected expression: {verdict.evidence}", **common)


def _number(expr: Any) -> float | None:
    if getattr(expr, "free_symbols", None):
        return None
    from ..evaluate import compile_expr  # the bounded mpmath walker: 10^10^10 overflows, never hangs

    try:
        value, _ = compile_expr(expr)({})
    except Exception:  # undefined (1/0, log(-1)), overflow, or not a number at all
        return None
    return float(value)


def _close(a: float, b: float, tol: float) -> bool:
    return math.isfinite(a) and abs(a - b) <= tol * max(1.0, abs(b))


def _check_number(item: QuizItem, text: str, exercise: str) -> ItemResult:
    answer, problem = _parse(item, text, exercise)
    if problem:
        return problem
    got = _number(answer)
    want = float(sp.sympify(item.reference()))
    common: dict[str, Any] = {"answer": truncate(text, 400), "expected": f"{want:g}",
              "details": (f"we read your answer as {describe_reading(answer)}",)}
    if got is None:
        return result(item, exercise, passed=False, diagnosis="not_a_number",
                      feedback=f"{item.name} wants a number; we read your answer as {describe_reading(answer)}",
                      answer=truncate(text, 400), expected=f"{want:g}")
    if _close(got, want, item.tolerance):
        return result(item, exercise, passed=True, feedback="correct", **common)
    for m in item.mistakes:
        wrong_expr = diagnosis.mistake_expression(m, {})
        wrong = _number(wrong_expr) if wrong_expr is not None else None
        if wrong is not None and _close(got, wrong, item.tolerance):
            return result(item, exercise, passed=False, diagnosis=m.tag, feedback=m.feedback, **common)
    return result(item, exercise, passed=False, diagnosis="wrong_value",
                  feedback=f"{got:.6g} is not the right value", **common)


_LETTERS = re.compile(r"[\s,;/&]+|\band\b")


def _chosen(raw: Any) -> list[str] | None:
    parts = raw if isinstance(raw, list) else _LETTERS.split(str(raw).strip().lower())
    out = []
    for part in parts:
        if not isinstance(part, str):
            return None
        letter = part.strip().lower().strip("()[].")
        if letter:
            out.append(letter)
    return out


def _check_choice(item: QuizItem, raw: Any, exercise: str) -> ItemResult:
    valid = [k for k, _ in item.choices]
    chosen = _chosen(raw)
    shown = truncate(str(raw), 200)
    if not chosen:
        return result(item, exercise, passed=False, diagnosis="wrong_type", answer=shown,
                      feedback=f"answer {item.name} with the letter of your choice ({', '.join(valid)})")
    bad = [c for c in chosen if c not in valid]
    if bad:
        return result(item, exercise, passed=False, diagnosis="unknown_choice", answer=shown,
                      feedback=f"{bad[0][:20]!r} is not one of the choices: answer with "
                               f"{', '.join(valid[:-1])} or {valid[-1]}")
    got, want = set(chosen), _letters_of(item.reference())
    common: dict[str, Any] = {"answer": ", ".join(sorted(got)), "expected": ", ".join(sorted(want))}
    if got == want:
        return result(item, exercise, passed=True, feedback="correct", **common)
    for m in item.mistakes:
        if _letters_of(_chosen(m.answer) or []) == got:
            return result(item, exercise, passed=False, diagnosis=m.tag, feedback=m.feedback, **common)
    if len(want) > 1:
        right = len(got & want)
        return result(item, exercise, passed=False, diagnosis="wrong_choice", **common,
                      feedback=f"{right} of your {len(got)} choices are right, and there are {len(want)} "
                               f"right choices in all")
    return result(item, exercise, passed=False, diagnosis="wrong_choice", **common,
                  feedback=f"{', '.join(sorted(got))} is not the right choice")
