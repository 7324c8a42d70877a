"""The HTML feedback report: one self-contained page per graded submission.

Templates live in ``grader/templates`` and are rendered with autoescaping on
and StrictUndefined, so learner text can never inject markup and a template
typo fails loudly.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import jinja2

from .. import __version__
from ..results import ExerciseResult


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """The jinja2 environment shared by every HTML page."""
    return jinja2.Environment(
        loader=jinja2.PackageLoader("grader", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def context(result: ExerciseResult, show_solutions: bool = False) -> dict[str, Any]:
    """The template context for one submission's report."""
    worst = sorted((i for i in result.items if i.lost > 0), key=lambda i: -i.lost)[:3]
    return {"result": result, "fix_first": worst, "show_solutions": show_solutions, "version": __version__}


def render(result: ExerciseResult, show_solutions: bool = False) -> str:
    """The report page as one HTML string."""
    return environment().get_template("report.html").render(**context(result, show_solutions))
