"""What regrades and manual overrides print: a line per changed grade, the override listing."""

from __future__ import annotations

from collections.abc import Sequence

from ..gradebook import ItemChange
from ..overrides import Override
from .text import printable


def _points(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


def change_lines(changes: Sequence[ItemChange], overrides: Sequence[Override] = ()) -> list[str]:
    """``changed alice/tiny.d_exp: 0 → 1`` per change; an override still in force on the item is named."""
    lines = []
    for c in changes:
        held = [o for o in overrides if (o.learner, o.exercise) == (c.learner, c.exercise)
                and o.item in (c.item, None) and o.undone_at is None]
        kept = f" (manual grade #{held[-1].id} of {held[-1].points:g} still applies)" if held else ""
        lines.append(f"changed {printable(c.learner, 60)}/{c.exercise}.{c.item}: "
                     f"{_points(c.old)} → {_points(c.new)}{kept}")
    return lines


def override_line(o: Override) -> str:
    """One override: id, learner, target, points, who, when, why, and whether it was undone."""
    state = f"undone by {o.undone_by} at {o.undone_at[:16]}" if o.undone_at else "in force"
    return (f"#{o.id} {printable(o.learner, 40)} {o.target} = {o.points:g} points, by {printable(o.by, 30)} "
            f"at {o.at[:16]}: {printable(o.reason, 100)} [{state}]")


def batch_override_lines(kept: Sequence[Override], dropped: Sequence[Override]) -> list[str]:
    """After a batch: how many manual grades still apply, and which ``--drop-overrides`` undid."""
    lines = [f"dropped {override_line(o)}" for o in dropped]
    if kept:
        lines.append(f"{len(kept)} manual overrides still apply (grader override DIR --list)")
    return lines
