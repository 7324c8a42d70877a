"""Feedback shared by every checker: what to say when a call did not return normally."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import sympy as sp

from ..encoding import encode_value
from ..errors import DecodeError
from ..results import ErrorInfo, ItemResult, Status
from ..runtypes import CallOutcome
from ..spec import ItemSpec, Variable

#: the largest expression whose tree is kept for the report (it prints no larger formula, and a hostile
#: answer of many thousand nodes must not fill the gradebook with a picture nobody sees)
SHOWN_NODES = 400


def result(item: ItemSpec, exercise: str, *, passed: bool | None, feedback: str, points: float | None = None,
           status: Status | None = None, **fields: Any) -> ItemResult:
    """Build an ItemResult with the item's identity filled in; ``passed`` picks the default status."""
    st: Status = status or ("passed" if passed else "failed")
    pts = points if points is not None else (item.points if passed else 0.0)
    return ItemResult(exercise=exercise, item=item.name, kind=item.kind, max_points=item.points,
                      points=pts, status=st, feedback=feedback, hidden=item.hidden,
                      title=item.title, **fields)


def describe_error(function: str, error: ErrorInfo) -> str:
    """A one-line, learner-facing account of an exception their function raised."""
    if error.type == "NotImplementedError":
        return f"not attempted yet: {function} still raises NotImplementedError"
    where = f" on {error.frames[-1].where}" if error.frames else ""
    msg = f": {error.message}" if error.message else ""
    if error.type in ("SystemExit", "KeyboardInterrupt"):
        return f"{function} tried to stop the program ({error.type}{msg}){where}; return a value instead"
    return f"{function} raised {error.type}{msg}{where}"


def describe_import_error(error: ErrorInfo) -> str:
    """One line for a file that could not even be imported."""
    line = error.frames[-1].where if error.frames and error.frames[-1].lineno else None
    if error.type == "NotebookError":  # the notebook itself could not be read: its message says why
        return error.message
    if error.type in ("SyntaxError", "IndentationError", "TabError"):
        return f"your file has a {error.type} on {line}: {error.message}" if line else \
            f"your file has a {error.type}: {error.message}"
    where = f" ({line})" if line else ""
    return f"your file could not be imported: {error.type}: {error.message}{where}"


def forbidden_feedback(used: tuple[str, ...]) -> str:
    """The message for a learner who called a helper the item forbids."""
    names = ", ".join(f"sympy.{u}" for u in used)
    return f"this item asks you to derive it yourself: {names} is not allowed here"


def outcome_problem(item: ItemSpec, exercise: str, outcome: CallOutcome | None) -> ItemResult | None:
    """An ItemResult (zero points) when the call did not return a value, else None."""
    if outcome is None:
        return result(item, exercise, passed=False, status="error",
                      feedback=f"{item.name} was not run (internal: no outcome recorded)")
    if outcome.used_forbidden:
        return result(item, exercise, passed=False, diagnosis="forbidden_helper",
                      feedback=forbidden_feedback(outcome.used_forbidden), error=outcome.error)
    if outcome.status == "ok":
        return None
    err = outcome.error or ErrorInfo("Error", "unknown failure")
    if outcome.status == "import_error":
        return result(item, exercise, passed=False, status="error", diagnosis="import_error",
                      feedback=describe_import_error(err), error=err)
    if outcome.status == "missing":
        return result(item, exercise, passed=False, status="error", diagnosis="missing_function",
                      feedback=f"there is no function {item.name} in your file: keep the name and "
                               f"parameters from the template", error=err)
    if outcome.status in ("timeout", "crashed", "not_run"):
        return result(item, exercise, passed=False, status="error", diagnosis=outcome.status,
                      feedback=f"{item.name}: {err.message}", error=err)
    diag = "not_attempted" if err.type == "NotImplementedError" else "exception"
    return result(item, exercise, passed=False, status="error", diagnosis=diag,
                  feedback=describe_error(item.name, err), error=err)


def _nodes_within(value: Any, cap: int) -> bool:
    """Whether ``value`` (an expression or a list of them) has at most ``cap`` nodes; stops counting past it."""
    count = 0
    stack = [value]
    while stack:
        node = stack.pop()
        count += 1
        if count > cap:
            return False
        if isinstance(node, (list, tuple)):
            stack.extend(node)
        elif isinstance(node, sp.Basic):
            stack.extend(node.args)
    return True


def expression_evidence(answer: Any, reference: Any, variables: Sequence[Variable],
                        plot: bool) -> dict[str, Any]:
    """Plain data the report needs to show both sides: ``answer_tree`` and ``expected_tree`` in the
    wire format of grader/encoding.py (each only up to SHOWN_NODES nodes) and, when ``plot``, the
    variables to draw the curves over."""
    out: dict[str, Any] = {}
    for key, value in (("answer_tree", answer), ("expected_tree", reference)):
        if not _nodes_within(value, SHOWN_NODES):
            continue
        try:
            out[key] = encode_value(value)
        except (ValueError, TypeError, RecursionError, DecodeError):  # off the wire format: shown as text
            pass
    if plot:
        out["plot_variables"] = [dataclasses.asdict(v) for v in variables]
    return out
