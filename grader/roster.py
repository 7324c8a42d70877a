"""The class roster and how batch learner names map to people (pure: rows in, people and matches out).

A roster is a CSV with the columns ``id``, ``name`` and ``email`` and, optionally, ``section``
and ``aliases`` (other names a person hands in under, such as a GitHub username, separated by
``;``, ``|`` or spaces). A batch learner (a folder name, a Classroom username) belongs to the one
person whose id, email, email's local part, alias or normalised name equals it (letter case
ignored). A name that fits several people, or a person whom several learners fit, is never
guessed: it is reported. Rows are refused with a message naming them when an id is missing or
repeated, or when two emails differ only in letter case (Moodle compares emails with case).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from .errors import UsageError

_REQUIRED = ("id", "name", "email")
_ALIAS_SPLIT = re.compile(r"[;|\s]+")


def normalise_name(text: str) -> str:
    """A person's name for comparison: accents dropped, case folded, punctuation as spaces, words sorted
    (so ``Smith, Anna``, ``anna_smith`` and ``Anna Smith`` agree)."""
    plain = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    words = re.sub(r"[\W_]+", " ", plain.casefold()).split()
    return " ".join(sorted(words))


def fold(text: str) -> str:
    """An identifier for comparison: trimmed, case folded."""
    return text.strip().casefold()


def local_part(text: str) -> str:
    """The part of an email-like identifier before ``@`` (folded); empty when there is no ``@``."""
    head, at, _ = text.strip().partition("@")
    return fold(head) if at else ""


@dataclass(frozen=True)
class Person:
    """One roster row (or, without a roster, one batch learner)."""

    id: str
    name: str
    email: str = ""
    section: str = ""
    aliases: tuple[str, ...] = ()
    line: int = 0

    def keys(self) -> dict[str, str]:
        """Folded key -> how it matches, for identifier-like keys (id, email, its local part, aliases)."""
        out: dict[str, str] = {}
        for value, how in ((self.id, "id"), (self.email, "email"), *((a, "alias") for a in self.aliases)):
            if value.strip():
                out.setdefault(fold(value), how)
        if self.email and local_part(self.email):
            out.setdefault(local_part(self.email), "email login")
        return out


@dataclass(frozen=True)
class LearnerMatch:
    """A batch learner and the person it belongs to, or why it belongs to nobody."""

    learner: str
    person: Person | None
    how: str


def parse_roster(rows: Sequence[Mapping[str, str]], source: str) -> tuple[Person, ...]:
    """People from a roster's rows (header names already folded); UsageError naming the rows at fault."""
    if not rows:
        raise UsageError(f"{source} has no people in it")
    missing = [c for c in _REQUIRED if c not in rows[0]]
    if missing:
        raise UsageError(f"{source} has no {', '.join(repr(c) for c in missing)} column (it has "
                         f"{', '.join(repr(c) for c in rows[0])}); a roster needs id, name, email")
    people: list[Person] = []
    ids: dict[str, int] = {}
    emails: dict[str, tuple[int, str]] = {}
    for n, row in enumerate(rows, start=2):  # line 1 is the header
        pid, email = row.get("id", "").strip(), row.get("email", "").strip()
        if not pid:
            raise UsageError(f"{source} line {n} has no id")
        if fold(pid) in ids:
            raise UsageError(f"{source}: the id {pid!r} is on lines {ids[fold(pid)]} and {n}")
        ids[fold(pid)] = n
        if email:
            if fold(email) in emails:
                first, spelled = emails[fold(email)]
                if spelled == email:
                    raise UsageError(f"{source}: the email {email!r} is on lines {first} and {n}")
                raise UsageError(f"{source}: lines {first} and {n} have the emails {spelled!r} and {email!r}, "
                                 "which differ only in letter case; Moodle compares emails with case, so "
                                 "keep the one spelled as in Moodle and fix the other")
            emails[fold(email)] = (n, email)
        aliases = tuple(a for a in _ALIAS_SPLIT.split(row.get("aliases", "") or "") if a)
        people.append(Person(pid, row.get("name", "").strip(), email, row.get("section", "").strip(), aliases, n))
    return tuple(people)


def map_learners(learners: Iterable[str], people: Sequence[Person]) -> list[LearnerMatch]:
    """Each batch learner's person: by id, email, email login or alias, then by normalised name."""
    by_key: dict[str, list[tuple[Person, str]]] = {}
    by_name: dict[str, list[Person]] = {}
    for p in people:
        for key, how in p.keys().items():
            by_key.setdefault(key, []).append((p, how))
        if normalise_name(p.name):
            by_name.setdefault(normalise_name(p.name), []).append(p)
    found: list[LearnerMatch] = []
    for learner in learners:
        hits = by_key.get(fold(learner), [])
        if not hits:
            hits = [(p, "name") for p in by_name.get(normalise_name(learner), [])]
        if len({h[0].id for h in hits}) == 1:
            found.append(LearnerMatch(learner, hits[0][0], hits[0][1]))
        elif hits:
            found.append(LearnerMatch(learner, None, "fits several roster entries: "
                                                     + ", ".join(sorted({h[0].id for h in hits}))))
        else:
            found.append(LearnerMatch(learner, None, "no roster entry"))
    claimed: dict[str, list[str]] = {}
    for m in found:
        if m.person is not None:
            claimed.setdefault(m.person.id, []).append(m.learner)
    return [m if m.person is None or len(claimed[m.person.id]) == 1
            else LearnerMatch(m.learner, None, f"roster entry {m.person.id} also fits "
                                               + ", ".join(x for x in claimed[m.person.id] if x != m.learner))
            for m in found]
