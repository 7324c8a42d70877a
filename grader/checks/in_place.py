"""One rule for learner functions that change the caller's arguments in place: detected once, charged once.

Every kind whose calls receive arrays or containers asks for the arguments
back after the call (``Call(report_args=True)``) and hands them to
:func:`changed_arguments`, which compares each one with what was sent: array
contents and numbers exactly, and the structure of containers (a key added to
or removed from a dict, a list that grew or shrank), at any depth.
:func:`charge` applies the one policy: the item keeps half of what it earned
otherwise, and the feedback names the argument and what changed. (The README,
"Changing the caller's arguments", says why.)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ..encoding import decode_value
from ..errors import DecodeError
from ..numeric import compare_values
from ..results import ItemResult
from ..runtypes import CallOutcome
from ..spec import ItemSpec

#: share of what an item earned that it keeps when its function changed an argument in place
KEPT_SHARE = 0.5


@dataclass(frozen=True)
class Change:
    """One argument the learner's call changed: its name and what changed (``key 'cache' added to params``)."""

    argument: str
    how: str
    #: True when a container gained or lost entries (rather than values changing inside it)
    structural: bool = False


def _difference(before: Any, after: Any, path: str) -> tuple[str, bool] | None:
    """(what changed, structural?) between an argument as sent and as reported back; None when unchanged."""
    if isinstance(before, dict) and isinstance(after, dict):
        added = [k for k in after if k not in before]
        if added:
            return f"key {added[0]!r} added to {path}", True
        removed = [k for k in before if k not in after]
        if removed:
            return f"key {removed[0]!r} removed from {path}", True
        for k in before:
            found = _difference(before[k], after[k], f"{path}[{k!r}]")
            if found:
                return found
        return None
    if isinstance(before, (list, tuple)) and isinstance(after, (list, tuple)):
        if len(after) != len(before):
            return f"{path} went from {len(before)} to {len(after)} entries", True
        for i, (b, a) in enumerate(zip(before, after)):
            found = _difference(b, a, f"{path}[{i}]")
            if found:
                return found
        return None
    if isinstance(before, (dict, list, tuple)) != isinstance(after, (dict, list, tuple)):
        return f"{path} was replaced by a {type(after).__name__}", True
    if compare_values(before, after, path, 0.0, 0.0) is not None:
        return f"{path} changed", False
    return None


def changed_arguments(names: Sequence[str], originals: Sequence[Any], outcome: CallOutcome | None,
                      sent: Sequence[Any] | None = None) -> list[Change]:
    """The arguments a learner's call changed in place, compared with the ``originals`` it was given.

    ``sent`` are the wire values the call was given, when at hand: an argument
    reported back with exactly the same encoding is unchanged without decoding it.
    A call that did not return (or did not report its arguments) changed nothing we can see.
    """
    if outcome is None or outcome.status != "ok" or outcome.args_after is None:
        return []
    changes = []
    for i, (name, before, after) in enumerate(zip(names, originals, outcome.args_after)):
        if sent is not None and i < len(sent) and after == sent[i]:
            continue
        try:
            value = decode_value(after)
        except DecodeError:
            continue
        found = _difference(before, value, name)
        if found:
            changes.append(Change(name, *found))
    return changes


def first_per_argument(changes: Iterable[Change]) -> list[Change]:
    """One change per argument (the first seen), in order: the same slip repeats on every test input."""
    seen: dict[str, Change] = {}
    for c in changes:
        seen.setdefault(c.argument, c)
    return list(seen.values())


def charge(item: ItemSpec, verdict: ItemResult, changes: Sequence[Change]) -> ItemResult:
    """Apply the policy to a judged item: half of what it earned, and a sentence saying what changed.

    Errors, timeouts and undecided verdicts are left alone (they earned nothing to halve).
    """
    changes = first_per_argument(changes)
    if not changes or verdict.status not in ("passed", "failed"):
        return verdict
    was_right = verdict.points >= item.points
    what = " and ".join(f"`{c.argument}`" for c in changes)
    how = "; ".join(c.how for c in changes)
    advice = ("return a new dict or list instead of adding to or removing from the one you were given"
              if any(c.structural for c in changes) else
              "compute new arrays (W = W - ..., not W -= ...) instead of changing the ones you were given")
    note = f"{item.name} changed the caller's {what} in place ({how}; half the points): {advice}"
    return dataclasses.replace(
        verdict, status="failed", points=round(verdict.points * KEPT_SHARE, 6),
        feedback=note if was_right else f"{verdict.feedback}; also, {note}",
        diagnosis=verdict.diagnosis or "modified_input",
        evidence={**verdict.evidence, "modified": [c.argument for c in changes]})
