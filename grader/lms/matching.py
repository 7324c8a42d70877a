"""Pairing our people with the rows of a Canvas gradebook export (pure; nothing is guessed).

Methods, in order: SIS Login ID, SIS User ID, an email-like login's local part, then the
normalised name. At each step a person is matched only when exactly one remaining Canvas
row fits and no other person fits that row; a key shared by several rows (a duplicated
login) fits none of them. Every match records the method that made it, and everything
left over on either side is returned with the reason.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from ..roster import Person, fold, local_part, normalise_name

IDENTITY = ("Student", "ID", "SIS User ID", "SIS Login ID", "Integration ID", "Section")


@dataclass(frozen=True)
class CanvasRow:
    """One student row of the export: its line in the file and its identity cells by header."""

    line: int
    cells: Mapping[str, str]

    def get(self, header: str) -> str:
        """The cell under ``header`` (empty when the export has no such column)."""
        return self.cells.get(header, "").strip()

    @property
    def label(self) -> str:
        """``Smith, Anna (ID 101, line 3)`` for listings."""
        ident = self.get("ID") or self.get("SIS User ID") or self.get("SIS Login ID")
        return f"{self.get('Student') or '(no name)'} (ID {ident or '?'}, line {self.line})"


@dataclass(frozen=True)
class CanvasSheet:
    """What a Canvas gradebook export says: identity columns, student rows, points possible."""

    identity: tuple[str, ...]
    rows: tuple[CanvasRow, ...]
    assignments: tuple[str, ...]
    points_possible: Mapping[str, float] = field(default_factory=dict)
    has_points_row: bool = False
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Match:
    """One of our people and their Canvas row, with the method that paired them."""

    person: Person
    row: CanvasRow
    how: str


@dataclass(frozen=True)
class Left:
    """Someone on one side with no partner on the other: ``side`` is ``ours`` or ``lms``."""

    side: str
    who: str
    reason: str


def _person_ids(p: Person) -> set[str]:
    return {k for k in (fold(p.id), fold(p.email), *(fold(a) for a in p.aliases)) if k}


def _person_logins(p: Person) -> set[str]:
    return {k for k in (*_person_ids(p), local_part(p.email)) if k and "@" not in k}


_METHODS: tuple[tuple[str, Callable[[CanvasRow], set[str]], Callable[[Person], set[str]]], ...] = (
    ("SIS Login ID", lambda r: {fold(r.get("SIS Login ID"))} - {""}, _person_ids),
    ("SIS User ID", lambda r: {fold(r.get("SIS User ID"))} - {""}, _person_ids),
    ("email-like login", lambda r: {local_part(r.get("SIS Login ID"))} - {""}, _person_logins),
    ("name", lambda r: {normalise_name(r.get("Student"))} - {""}, lambda p: {normalise_name(p.name)} - {""}),
)


def match_canvas(people: Sequence[Person], sheet: CanvasSheet) -> tuple[list[Match], list[Left]]:
    """Pair ``people`` with ``sheet``'s rows; returns the matches and who is left on each side, with why."""
    matches: list[Match] = []
    open_people = list(people)
    open_rows = list(sheet.rows)
    why: dict[str, str] = {}
    for how, row_keys, person_keys in _METHODS:
        index: dict[str, list[CanvasRow]] = {}
        for row in open_rows:
            for key in row_keys(row):
                index.setdefault(key, []).append(row)
        claims: dict[int, list[Person]] = {}
        for p in open_people:
            rows = {r.line: r for key in person_keys(p) for r in index.get(key, [])}
            if len(rows) == 1:
                claims.setdefault(next(iter(rows)), []).append(p)
            elif rows:
                why.setdefault(p.id, f"{how} fits several Canvas rows (lines "
                                     f"{', '.join(str(n) for n in sorted(rows))})")
        taken = set()
        for row in open_rows:
            claimants = claims.get(row.line, [])
            if len(claimants) == 1:
                matches.append(Match(claimants[0], row, how))
                taken.add(claimants[0].id)
            for p in claimants if len(claimants) > 1 else ():
                why.setdefault(p.id, f"{how}: Canvas line {row.line} fits several of our learners "
                                     f"({', '.join(c.id for c in claimants)})")
        done_lines = {m.row.line for m in matches}
        open_rows = [r for r in open_rows if r.line not in done_lines]
        open_people = [p for p in open_people if p.id not in taken]
    left = [Left("ours", p.id, why.get(p.id, "no Canvas row has their login, SIS id or name")) for p in open_people]
    left += [Left("lms", r.label, "no learner of ours has this login, SIS id or name") for r in open_rows]
    return matches, left


def resolve_assignment(name: str, assignments: Iterable[str]) -> str:
    """The export's header for ``name``: itself, or the one ``name (id)`` header it abbreviates."""
    names = list(assignments)
    if name in names:
        return name
    fits = [a for a in names if a.startswith(name + " (") and a.endswith(")")]
    return fits[0] if len(fits) == 1 else name
