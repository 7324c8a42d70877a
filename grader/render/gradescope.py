"""The Gradescope ``results.json`` shape (also our plain JSON result).

Only keys from Gradescope's autograder specification appear at the top level
and in each test; everything else goes under ``extra_data``.
"""

from __future__ import annotations

import json
from typing import Any

from ..results import ExerciseResult, ItemResult


def _test(item: ItemResult, number: int) -> dict[str, Any]:
    lines = [item.feedback, *item.details]
    if item.answer:
        lines.append(f"Your answer: {item.answer}")
    return {
        "name": f"{item.item}: {item.title}" if item.title and item.title != item.item else item.item,
        "number": str(number),
        "score": item.points,
        "max_score": item.max_points,
        "status": "passed" if item.status == "passed" else "failed",
        "output": "\n".join(lines),
        "visibility": "after_published" if item.hidden else "visible",
        "extra_data": {"item": item.item, "verdict": item.status, "diagnosis": item.diagnosis,
                       "exercise": item.exercise},
    }


def to_dict(result: ExerciseResult) -> dict[str, Any]:
    """The results.json document for one graded submission."""
    output = f"{result.title}: {result.score:g} / {result.max_score:g}"
    if result.import_error:
        output += f"\nYour file could not be run: {result.import_error.one_line()}"
    return {
        "score": result.score,
        "execution_time": round(result.seconds, 3),
        "output": output,
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": [_test(it, n) for n, it in enumerate(result.items, start=1)],
        "extra_data": {"exercise": result.exercise, "max_score": result.max_score,
                       "sandbox": result.sandbox_mode, "submission": result.submission},
    }


def render(result: ExerciseResult) -> str:
    """results.json as text."""
    return json.dumps(to_dict(result), indent=2, ensure_ascii=False) + "\n"
