"""Frozen result values that flow from the checks to the renderers.

ErrorInfo   an exception raised by learner code, as plain data
ItemResult  the verdict for one item (points, feedback, evidence)
ExerciseResult  every item of one submission file, plus how the run went
Totals are derived properties, never stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Status = Literal["passed", "failed", "error", "undecided"]

#: the one mark of text cut short, in stored answers and in every output
ELLIPSIS = "…"


def truncate(text: str, limit: int | None) -> str:
    """``text`` cut to at most ``limit`` characters, ending in ``…`` when cut (None: never cut).

    The one cutting rule: checkers bound the answers they store with it, renderers what they show
    (through :mod:`grader.render.text`)."""
    return text if limit is None or len(text) <= limit else text[: max(limit - 1, 0)] + ELLIPSIS


@dataclass(frozen=True)
class SourceLine:
    """One frame of the learner's own traceback: a line of their file (of a notebook's cell ``cell``)."""

    lineno: int
    function: str
    text: str
    cell: int | None = None  # the notebook cell, counting every cell from 1; None for a .py file

    @property
    def where(self) -> str:
        """``line 7``, or ``line 2 of cell 3`` in a notebook."""
        return f"line {self.lineno}" if self.cell is None else f"line {self.lineno} of cell {self.cell}"


@dataclass(frozen=True)
class ErrorInfo:
    """An exception raised by learner code (or the run stopping), as plain data."""

    type: str
    message: str
    frames: tuple[SourceLine, ...] = ()

    def one_line(self) -> str:
        """``Type: message (line N)`` for the terminal and short feedback."""
        where = f" ({self.frames[-1].where})" if self.frames else ""
        text = f"{self.type}: {self.message}" if self.message else self.type
        return text + where


@dataclass(frozen=True)
class ItemResult:
    """The verdict for one graded item.

    ``feedback`` is the one line shown in tables; ``details`` the longer
    explanation; ``diagnosis`` a stable tag (``sign_error``...) for
    statistics; ``evidence`` plain data for reports (counterexample, error map,
    both sides as expression trees in the wire format of grader/encoding.py);
    never markup: the renderers build that.
    """

    exercise: str
    item: str
    kind: str
    max_points: float
    points: float
    status: Status
    feedback: str
    details: tuple[str, ...] = ()
    diagnosis: str | None = None
    answer: str | None = None
    expected: str | None = None
    error: ErrorInfo | None = None
    evidence: Mapping[str, Any] = field(default_factory=dict)
    hidden: bool = False
    title: str = ""

    @property
    def lost(self) -> float:
        """Points not earned on this item."""
        return self.max_points - self.points


@dataclass(frozen=True)
class ExerciseResult:
    """Everything known about grading one submission file."""

    exercise: str
    title: str
    submission: str
    items: tuple[ItemResult, ...]
    sandbox_mode: str = ""
    seconds: float = 0.0
    stdout: str = ""
    stderr: str = ""
    import_error: ErrorInfo | None = None
    notes: tuple[str, ...] = ()

    @property
    def score(self) -> float:
        """Points earned over all items."""
        return round(sum(i.points for i in self.items), 6)

    @property
    def max_score(self) -> float:
        """Points available over all items."""
        return round(sum(i.max_points for i in self.items), 6)

    @property
    def percent(self) -> float:
        """Score as a percentage of the maximum (100 for an empty exercise)."""
        return 100.0 * self.score / self.max_score if self.max_score else 100.0
