"""Shared fixtures: the repository's catalogue and paths to submission fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.catalogue import find_catalogue, load_catalogue
from grader.runtypes import Limits

TESTS = Path(__file__).resolve().parent
SUBMISSIONS = TESTS / "submissions"
ROOT = TESTS.parent


@pytest.fixture(scope="session")
def catalogue_root() -> Path:
    return find_catalogue(ROOT)


@pytest.fixture(scope="session")
def catalogue(catalogue_root):
    return {ex.name: ex for ex in load_catalogue(catalogue_root)}


@pytest.fixture(scope="session")
def fast_limits() -> Limits:
    """Short per-call timeouts so the hostile fixtures keep the suite fast."""
    return Limits(wall_seconds=2.0)


# --- CI autograding (issue 9): a graded result built inline, and a two-item catalogue with a hidden item ---

HOSTILE = "<script>alert(1)</script> | ]]> \x00\x1b[31m"


@pytest.fixture
def ci_result():
    """An ExerciseResult covering every verdict: passed, failed (with details), a learner exception
    with hostile text, a hidden item with partial credit, and an undecided item."""
    from grader.results import ErrorInfo, ExerciseResult, ItemResult, SourceLine

    def item(name, status, points, max_points, feedback, **kw):
        return ItemResult(exercise="calc", item=name, kind=kw.pop("kind", "symbolic"), max_points=max_points,
                          points=points, status=status, feedback=feedback, title=f"title of {name}", **kw)

    err = ErrorInfo("ZeroDivisionError", "division by zero " + HOSTILE,
                    (SourceLine(7, "d_log", "return 1 / 0"),))
    items = (
        item("d_exp", "passed", 1.0, 1.0, "correct", answer="exp(x)"),
        item("d_tanh", "failed", 0.0, 2.0, "tanh' = 1 - tanh², with a minus", diagnosis="sign_error",
             details=("at x = 1 your answer is 1.42, the derivative is 0.42",), answer="1 + tanh(x)**2"),
        item("d_log", "error", 0.0, 1.0, "d_log raised ZeroDivisionError " + HOSTILE, diagnosis="exception",
             error=err),
        item("grad_step", "failed", 0.5, 1.0, "half the entries are off", kind="numeric", hidden=True),
        item("d_odd", "undecided", 0.0, 1.0, "the grader failed on this item", diagnosis="grader_error"),
    )
    return ExerciseResult(exercise="calc", title="Calculus <check>", submission="alice_calc.py",
                          items=items, sandbox_mode="rlimits", seconds=1.25, stdout="debug print\n")


TINY_SOLUTION = '''"""Tiny: two derivatives, one hidden until grades are published."""
from sympy import exp
from grader.spec import exercise, symbolic

EXERCISE = exercise("Tiny derivatives", order=1)


@symbolic(points=1)
def d_exp(x):
    """d/dx e^x"""
    return exp(x)


@symbolic(points=2, hidden=True)
def d_square(x):
    """d/dx x^2"""
    return 2 * x
'''

TINY_TEMPLATE = '''def d_exp(x):
    raise NotImplementedError


def d_square(x):
    raise NotImplementedError
'''


@pytest.fixture(scope="session")
def tiny_catalogue(tmp_path_factory) -> Path:
    """A catalogue with one exercise ``tiny`` (3 points; ``d_square`` is hidden)."""
    root = tmp_path_factory.mktemp("tiny_catalogue")
    (root / "exercises").mkdir()
    (root / "solutions").mkdir()
    (root / "exercises" / "tiny.py").write_text(TINY_TEMPLATE)
    (root / "solutions" / "tiny.py").write_text(TINY_SOLUTION)
    return root
