"""Checkers, one module per item kind; each turns learner outcomes into an ItemResult.

A checker module provides ``calls(item) -> list[Call]`` (what to ask the
learner's process) and ``check(item, answers, exercise) -> ItemResult`` (pure:
decode the plain results and judge them in the grader's own process). The
table below registers each kind: its spec class, the input it is read from,
its checker (see :mod:`.registry`). Adding a kind adds one line here.
"""

from __future__ import annotations

from ..spec import NumericItem, QuizItem, StageItem, SymbolicItem
from . import numeric, quiz, stages, symbolic
from .inputs import ANSWER_SHEET, MODULE_FUNCTIONS
from .kit_adapters import NUMERIC_KIT, QUIZ_KIT, SYMBOLIC_KIT
from .kit_stages import STAGE_KIT
from .registry import (
    Checker,
    Handed,
    Kind,
    LearnerInput,
    Runner,
    checker_for,
    kind_of,
    kinds,
    learner_input,
    register,
    registered,
    submission_suffixes,
)

register(Kind(SymbolicItem, MODULE_FUNCTIONS, symbolic, SYMBOLIC_KIT))
register(Kind(NumericItem, MODULE_FUNCTIONS, numeric, NUMERIC_KIT))
register(Kind(StageItem, MODULE_FUNCTIONS, stages, STAGE_KIT))
register(Kind(QuizItem, ANSWER_SHEET, quiz, QUIZ_KIT))

__all__ = ["Checker", "Handed", "Kind", "LearnerInput", "Runner", "checker_for", "kind_of", "kinds",
           "learner_input", "register", "registered", "submission_suffixes"]
