"""Checkers, one module per item kind; each turns learner outcomes into an ItemResult.

A checker module provides ``calls(item) -> list[Call]`` (what to ask the
learner's process) and ``check(item, run, exercise) -> ItemResult`` (pure:
decode the plain results and judge them in the grader's own process).
"""

from __future__ import annotations

from types import ModuleType

from ..errors import CatalogueError


def checker_for(kind: str) -> ModuleType:
    """The checker module for an item kind (``symbolic``, ``numeric``, ...)."""
    if kind == "symbolic":
        from . import symbolic as mod
    elif kind == "numeric":
        from . import numeric as mod
    elif kind == "backprop":
        from . import backprop as mod
    elif kind == "quiz":
        from . import quiz as mod
    else:
        raise CatalogueError(f"no checker for item kind {kind!r}")
    return mod
