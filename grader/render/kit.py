"""Learner-kit text: the self-check's summary line and the feedback policy (full, hints, score)."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from ..results import ExerciseResult, ItemResult

if TYPE_CHECKING:
    from ..kit import Checked

#: evidence keys that show the reference (its tree, its value, value tables): kept only with --feedback full
_REFERENCE_EVIDENCE = ("expected_tree", "reference_value", "error_maps", "components")


def _items(n: int) -> str:
    return f"{n} item{'s' if n != 1 else ''}"


def summary_line(done: Checked) -> str:
    """What the self-check did, plainly: "9 of 11 items checked: 8 right, 1 wrong; 2 items are graded only
    after you submit". It never says "all passed" while some items were not checked."""
    parts = [f"{done.right} right", f"{done.wrong} wrong"]
    if done.undecided:
        parts.append(f"{done.undecided} undecided (your instructor's grading decides)")
    line = f"{done.checked} of {_items(done.total)} checked: {', '.join(parts)}"
    if done.later:
        later = len(done.later)
        line += f"; {_items(later)} {'is' if later == 1 else 'are'} graded only after you submit"
    return line


def _policy(item: ItemResult, feedback: str) -> ItemResult:
    if feedback == "full":
        return item
    evidence = {k: v for k, v in item.evidence.items() if k not in _REFERENCE_EVIDENCE}
    if feedback == "hints":
        return dataclasses.replace(item, expected=None, evidence=evidence,
                                   details=tuple(d for d in item.details if "│" not in d and "|" not in d))
    verdict = {"passed": "right", "failed": "wrong", "error": "not run", "undecided": "undecided"}[item.status]
    return dataclasses.replace(item, feedback=verdict, details=(), expected=None, evidence={}, diagnosis=None)


def apply_feedback(result: ExerciseResult, feedback: str) -> ExerciseResult:
    """``result`` as the policy shows it: ``full`` everything; ``hints`` diagnoses and authored feedback but no
    reference expression, value or value table; ``score`` verdicts and points only. Under hints and score the
    learner's printed output is dropped when some item is hidden (it may come from a hidden item's code)."""
    if feedback == "full":
        return result
    hidden = any(i.hidden for i in result.items)
    return dataclasses.replace(result, items=tuple(_policy(i, feedback) for i in result.items),
                               stdout="" if hidden else result.stdout, stderr="" if hidden else result.stderr)
