"""PrairieLearn's external-grader ``results.json``.

PrairieLearn reads ``/grade/results/results.json``: ``score`` in [0, 1] is
the only required key of a gradable submission; ``message``, ``output`` and
``tests[]`` (``name``, ``description``, ``points``, ``max_points``,
``message``, ``output``) are rendered by ``<pl-external-grader-results>``.
A file that does not even parse is reported as ``gradable: false`` with
``format_errors``: PrairieLearn then awards nothing and does not use up one of
the learner's attempts.
"""

from __future__ import annotations

import json
from typing import Any

from ..results import ExerciseResult
from .gradescope import test_output
from .text import could_not_run, headline, truncate, visible_data

NOT_GRADABLE = ("SyntaxError", "IndentationError", "TabError")
MAX_OUTPUT_CHARS = 10_000  # the learner's own prints; PrairieLearn caps results.json at 1 MB


def to_dict(result: ExerciseResult) -> dict[str, Any]:
    """The results.json document PrairieLearn's external grader expects (controls in learner text made visible)."""
    err = result.import_error
    if err is not None and err.type in NOT_GRADABLE:
        return visible_data({"gradable": False, "format_errors": [f"Your file could not be read: {err.one_line()}"],
                             "message": f"Your file could not be read: {err.one_line()}"})
    fraction = result.score / result.max_score if result.max_score else 1.0
    message = "\n".join(line for line in (headline(result, percent=False), could_not_run(result)) if line)
    return visible_data({
        "gradable": True,
        "score": min(1.0, max(0.0, round(fraction, 6))),
        "message": message,
        "output": truncate(result.stdout, MAX_OUTPUT_CHARS),
        "tests": [{
            "name": item.item,
            "description": item.title,
            "points": item.points,
            "max_points": item.max_points,
            "message": item.feedback,
            "output": test_output(item),
        } for item in result.items],
    })


def render(result: ExerciseResult) -> str:
    """results.json for PrairieLearn as text."""
    return json.dumps(to_dict(result), indent=2, ensure_ascii=False) + "\n"
