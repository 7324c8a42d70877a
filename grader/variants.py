"""Per-learner variants: each learner's numbers, derived from a keyed hash, and the id line that names them.

An exercise opts in with ``exercise(..., variants={"a": (1, 4), "lr": [0.1, 0.05]})``:
an integer pair is an inclusive range, a list is a set of choices. A learner's
instance is drawn from HMAC-SHA256(secret, learner id, exercise, parameter), so it
is stable for one secret, differs under another, and cannot be chosen by the
learner (who does not hold the secret). A released template starts with the id
line ``# grader-variant: alice 3f9a...``, whose tag is the same keyed hash: the
grader recomputes it, so a line naming another learner is recognised as theirs
and a line edited by hand does not authenticate. Pure: text and bytes in, values out.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .errors import UsageError

__all__ = ["ID_LINE", "Parameter", "Variant", "VariantDecision", "decide_variant", "fold_id", "id_line", "instance",
           "parse_variants", "read_id_line", "render_template", "tag", "valid_id", "verify"]

#: the id line at the top of a released template: ``# grader-variant: LEARNER TAG``
ID_LINE = re.compile(r"^[ \t]*#[ \t]*grader-variant:[ \t]*(\S+)[ \t]+([0-9a-fA-F]+)[ \t]*$", re.MULTILINE)
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+-]{0,99}")
_TAG_HEX = 20  # 80 bits of the keyed hash: enough that a tag cannot be guessed for another learner


@dataclass(frozen=True)
class Parameter:
    """One declared parameter: its name and the values an instance may take (in order)."""

    name: str
    choices: tuple[Any, ...]


@dataclass(frozen=True)
class Variant:
    """Which learner's instance an exercise is bound to, and that instance's values."""

    learner: str
    values: tuple[tuple[str, Any], ...]

    def as_dict(self) -> dict[str, Any]:
        """The values by parameter name."""
        return dict(self.values)


def parse_variants(declared: Mapping[str, Any]) -> tuple[Parameter, ...]:
    """Parameters from an ``exercise(variants=...)`` declaration; ValueError for an ill-formed one."""
    out = []
    for name, spec in declared.items():
        if not name.isidentifier():
            raise ValueError(f"variant parameter {name!r} is not an identifier")
        if isinstance(spec, tuple) and len(spec) == 2 and all(isinstance(v, int) for v in spec):
            lo, hi = spec
            if lo > hi or hi - lo > 10_000:
                raise ValueError(f"variant parameter {name}: range {spec} must be (low, high), low <= high")
            choices: tuple[Any, ...] = tuple(range(lo, hi + 1))
        elif isinstance(spec, (list, tuple)) and spec:
            choices = tuple(spec)
        else:
            raise ValueError(f"variant parameter {name}: give (low, high) integers or a list of choices")
        out.append(Parameter(name, choices))
    return tuple(out)


def fold_id(learner: str) -> str:
    """A learner id as hashed: trimmed, case folded (``Alice`` and ``alice`` are one learner)."""
    return learner.strip().casefold()


def valid_id(learner: str) -> bool:
    """An id fit for a roster and an id line: a letter or digit, then letters, digits, ``._@+-`` (no spaces)."""
    return bool(_ID.fullmatch(learner.strip()))


def _hmac(secret: bytes, *parts: str) -> bytes:
    return hmac.new(secret, "\0".join(parts).encode("utf-8"), hashlib.sha256).digest()


def instance(parameters: Sequence[Parameter], learner: str, exercise: str, secret: bytes) -> Variant:
    """``learner``'s values of ``exercise``'s parameters under ``secret``."""
    values = []
    for p in parameters:
        draw = int.from_bytes(_hmac(secret, "value", fold_id(learner), exercise, p.name), "big")
        values.append((p.name, p.choices[draw % len(p.choices)]))
    return Variant(fold_id(learner), tuple(values))


def tag(learner: str, exercise: str, secret: bytes) -> str:
    """The id line's tag: the keyed hash of (learner, exercise), in hex."""
    return _hmac(secret, "id", fold_id(learner), exercise).hex()[:_TAG_HEX]


def id_line(learner: str, exercise: str, secret: bytes) -> str:
    """``# grader-variant: LEARNER TAG``, the first line of a released template."""
    return f"# grader-variant: {fold_id(learner)} {tag(learner, exercise, secret)}"


def read_id_line(source: str) -> tuple[str, str] | None:
    """(learner, tag) of the file's first id line, or None when it has none."""
    found = ID_LINE.search(source)
    return (fold_id(found.group(1)), found.group(2).lower()) if found else None


def verify(learner: str, claimed: str, exercise: str, secret: bytes) -> bool:
    """The tag is the one ``grader release`` wrote for ``learner`` and ``exercise`` (constant-time compare)."""
    return hmac.compare_digest(claimed.lower(), tag(learner, exercise, secret))


@dataclass(frozen=True)
class VariantDecision:
    """Which instance a file is graded on and, when its items must score zero, why.

    Plain data, made where the key is: whoever grades (a cluster worker) needs the values, never the key.
    """

    #: the learner the file is graded as (folded)
    learner: str
    #: that learner's instance; None when no instance can be named (the file then scores zero)
    variant: Variant | None
    message: str = ""
    #: ``variant_forged``, ``variant_other_learner``... ('' when the file is graded as usual)
    diagnosis: str = ""


def decide_variant(parameters: Sequence[Parameter], exercise: str, learner: str | None,
                   claim: tuple[str, str] | None, secret: bytes) -> VariantDecision:
    """The instance a file is graded on: ``learner``'s (else the id line's), zeroed when the file's id line
    ``claim`` (learner, tag) does not authenticate or names another learner."""
    if learner is None and claim is None:
        raise ValueError("no learner: name one or give the file's id line")
    who = fold_id(learner) if learner is not None else claim[0] if claim else ""
    decided = VariantDecision(who, instance(parameters, who, exercise, secret))
    if claim is not None and not verify(claim[0], claim[1], exercise, secret):
        return dataclasses.replace(
            decided, diagnosis="variant_forged",
            message=f"forged variant line: the file's '# grader-variant: {claim[0]}' line does not authenticate "
                    f"(grader release did not write it), so it counts for no variant")
    if claim is not None and claim[0] != who:
        return dataclasses.replace(
            decided, diagnosis="variant_other_learner",
            message=f"another learner's variant: this file was written for {claim[0]}'s numbers, not {who}'s, "
                    f"so its items score zero")
    return decided


def render_template(text: str, variant: Variant, line: str, comment: str = "#") -> str:
    """A template stating ``variant``'s numbers: the id line, then each ``{{ name }}`` replaced by its value."""
    values = variant.as_dict()

    def put(match: re.Match[str]) -> str:
        name = match.group(1)
        return repr(values[name]) if name in values else match.group(0)

    body = re.sub(r"\{\{\s*([A-Za-z_]\w*)\s*\}\}", put, text)
    return f"{line if comment == '#' else comment + line[1:]}\n{body}"


def check_roster_ids(ids: Sequence[tuple[str, int]], source: str) -> tuple[str, ...]:
    """The roster's ids for variants, checked: UsageError naming the line of a malformed or repeated one."""
    seen: dict[str, int] = {}
    for learner, line in ids:
        if not valid_id(learner):
            raise UsageError(f"{source} line {line}: the id {learner!r} cannot name a variant (use letters, "
                             f"digits and ._@+- only, no spaces)")
        if fold_id(learner) in seen:
            raise UsageError(f"{source}: the id {learner!r} is on lines {seen[fold_id(learner)]} and {line}")
        seen[fold_id(learner)] = line
    return tuple(fold_id(x) for x, _ in ids)
