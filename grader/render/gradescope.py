"""Gradescope's autograder ``results.json`` (also our plain JSON result).

Follows Gradescope's autograder specification: top level ``score``,
``execution_time``, ``output``, ``output_format``, ``visibility``,
``stdout_visibility``, ``tests[]`` and ``extra_data``; each test has ``name``, ``name_format``, ``number``, ``score``,
``max_score``, ``status`` (``passed``/``failed``), ``output``,
``output_format``, ``tags``, ``visibility`` and ``extra_data``. Anything of
ours that the specification does not name goes under ``extra_data``.

An item marked ``hidden=True`` in its spec is graded like any other and gets
``visibility: after_published``: learners see it once the instructor
publishes grades. Its points count in ``score``; Gradescope hides that total
from learners until publishing, and our visible ``output`` gives only the
score on the items shown, so nothing gives the hidden result away.
"""

from __future__ import annotations

import json
from typing import Any

from ..results import ExerciseResult, ItemResult
from .text import HIDDEN_ITEM_VISIBILITY, could_not_run, headline_before_publishing, truncate, visible_data

__all__ = ["OUTPUT_FORMATS", "problem", "render", "summary", "tags",
           "test_name", "test_output", "to_dict"]

#: Gradescope's output string formats; ours are plain text shown in a <pre>
OUTPUT_FORMATS = ("text", "html", "simple_format", "md", "ansi")
MAX_OUTPUT_CHARS = 20_000  # per test: feedback stays readable and results.json small


def test_name(item: ItemResult) -> str:
    """``item: title`` (or just the item's name when it has no separate title)."""
    return f"{item.item}: {item.title}" if item.title and item.title != item.item else item.item


def test_output(item: ItemResult) -> str:
    """The feedback a learner reads for one item: the verdict line, then the details."""
    lines = [item.feedback, *item.details]
    if item.answer:
        lines.append(f"Your answer: {item.answer}")
    if item.error and item.error.frames:
        lines.append("Where: " + "; ".join(f"{f.where} in {f.function}: {f.text.strip()}"
                                           for f in item.error.frames[-3:]))
    return truncate("\n".join(line for line in lines if line), MAX_OUTPUT_CHARS)


def tags(item: ItemResult) -> list[str]:
    """Tags Gradescope shows and filters by: the item's kind, its diagnosis, and ``hidden``."""
    out = [item.kind]
    if item.diagnosis:
        out.append(item.diagnosis)
    if item.hidden:
        out.append("hidden")
    return out


def _test(item: ItemResult, number: int) -> dict[str, Any]:
    return {
        "name": test_name(item),
        "name_format": "text",
        "number": str(number),
        "score": item.points,
        "max_score": item.max_points,
        "status": "passed" if item.status == "passed" else "failed",
        "output": test_output(item),
        "output_format": "text",
        "tags": tags(item),
        "visibility": HIDDEN_ITEM_VISIBILITY if item.hidden else "visible",
        "extra_data": {"item": item.item, "verdict": item.status, "diagnosis": item.diagnosis,
                       "exercise": item.exercise, "kind": item.kind},
    }


def summary(result: ExerciseResult) -> str:
    """The submission-wide text learners always see: the score of what they may see, and why the
    file could not run if it could not. With hidden items the total is left out, since it would
    give away how the hidden items went (Gradescope itself hides the total until publishing)."""
    return "\n".join(line for line in (headline_before_publishing(result), could_not_run(result)) if line)


def to_dict(result: ExerciseResult) -> dict[str, Any]:
    """The results.json document for one graded submission (learner text with controls made visible)."""
    return visible_data({
        "score": result.score,
        "execution_time": round(result.seconds, 3),
        "output": summary(result),
        "output_format": "text",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": [_test(it, n) for n, it in enumerate(result.items, start=1)],
        "extra_data": {"exercise": result.exercise, "max_score": result.max_score,
                       "sandbox": result.sandbox_mode, "submission": result.submission},
    })


def problem(message: str, max_score: float = 0.0) -> dict[str, Any]:
    """A results.json for a submission that could not be graded at all (no file, wrong name):
    score 0 and the reason, so the learner sees what to fix instead of a bare failure."""
    return visible_data({
        "score": 0.0,
        "output": message,
        "output_format": "text",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": [],
        "extra_data": {"max_score": max_score, "problem": message},
    })


def render(result: ExerciseResult) -> str:
    """results.json as text."""
    return json.dumps(to_dict(result), indent=2, ensure_ascii=False) + "\n"
