"""The registry of item kinds: for each, its spec class, how the learner's input is read, and its checker.

Grading asks the registry, never "is this a quiz?": :func:`kind_of` gives an
item's :class:`Kind`, whose ``reads`` collects what the learner handed in
(functions called in the sandbox, a typed answer sheet...) and whose ``checker``
judges one item of it. Adding a kind is one spec class (a dataclass deriving
from :class:`grader.spec.ItemSpec`), one checker module (``calls`` and
``check``, see :class:`Checker`) and one registration line in
:mod:`grader.checks`. :func:`registered` adds a kind for a while (tests, plug-ins).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from ..errors import CatalogueError
from ..results import ErrorInfo, ItemResult
from ..runtypes import Call, Limits, RunResult
from ..spec import ItemSpec


class Checker(Protocol):
    """What a checker module provides (a module satisfies this protocol)."""

    def calls(self, item: Any) -> Sequence[Call]:
        """What to ask the learner's process for this item (nothing for an answer typed in a sheet)."""
        ...

    def check(self, item: Any, answers: Any, exercise: str) -> ItemResult:
        """Judge the item on what the learner handed in, read by the kind's input (pure)."""
        ...


class Runner(Protocol):
    """Runs a learner file's functions in a sandbox (:func:`grader.sandbox.run_calls` or a pooled one)."""

    def __call__(self, path: Path, calls: Sequence[Call], limits: Limits | None, /) -> RunResult: ...


@dataclass(frozen=True)
class Handed:
    """What the learner handed in, read: the value every checker of the exercise judges, and run facts."""

    answers: Any
    sandbox_mode: str = "none"
    stdout: str = ""
    stderr: str = ""
    import_error: ErrorInfo | None = None
    notes: tuple[str, ...] = ()
    #: given to the input's ``review`` instead of the file's text when set (a notebook's code as it ran)
    reviewed: Any = None


class LearnerInput(Protocol):
    """How the learner's answers to an exercise are read: one per submission format."""

    name: str
    #: the file suffixes a learner may hand in for it (``.py``; later ``.ipynb``)
    suffixes: tuple[str, ...]

    def read(self, path: Path, source: str, items: Sequence[ItemSpec], limits: Limits | None,
             runner: Runner) -> Handed:
        """Collect the learner's answers to ``items`` from the submission at ``path`` (text ``source``)."""
        ...

    def review(self, items: Sequence[ItemSpec], results: tuple[ItemResult, ...],
               source: str) -> tuple[tuple[ItemResult, ...], tuple[str, ...]]:
        """Rules that look at the whole submission after every item is judged; extra notes."""
        ...


class KitAdapter(Protocol):
    """What a learner kit stores for an item of the kind and how it is checked against that (see
    :mod:`grader.checks.kit_adapters`); a kind without one is "checked when you submit" in a kit."""

    def pack(self, item: Any, seed: int, reveal: bool = False) -> dict[str, Any] | None:
        """The item's plain-data record for the check bundle (no reference, no mistake as code), or None."""
        ...

    def stand_in(self, record: Any) -> ItemSpec:
        """An item of the kind built from its record, the reference withheld (what to call, what to forbid)."""
        ...

    def check(self, record: Any, answers: Any, exercise: str) -> ItemResult:
        """Judge the item against its record, on what the learner handed in (pure)."""
        ...


@dataclass(frozen=True)
class Kind:
    """One item kind: the spec class authors declare, how its learner input is read, its checker, and
    optionally its learner-kit adapter."""

    spec: type[ItemSpec]
    reads: LearnerInput
    checker: Checker
    kit: KitAdapter | None = None

    @property
    def name(self) -> str:
        """The kind's name (``symbolic``, ``numeric``...), as items and results carry it."""
        return self.spec.KIND


_KINDS: dict[str, Kind] = {}


def register(kind: Kind) -> Kind:
    """Add a kind; registering another kind under a name already taken is an error."""
    if not kind.name:
        raise ValueError(f"{kind.spec.__name__} has no KIND name")
    known = _KINDS.get(kind.name)
    if known is not None and known != kind:
        raise ValueError(f"the item kind {kind.name!r} is already registered")
    _KINDS[kind.name] = kind
    return kind


@contextlib.contextmanager
def registered(kind: Kind) -> Iterator[Kind]:
    """Register ``kind`` for the duration of a ``with`` block (tests, plug-ins); a kind that was
    registered before the block stays registered after it."""
    before = _KINDS.get(kind.name)
    register(kind)
    try:
        yield kind
    finally:
        if before is None:
            _KINDS.pop(kind.name, None)
        else:
            _KINDS[kind.name] = before


def kinds() -> tuple[Kind, ...]:
    """Every registered kind."""
    return tuple(_KINDS.values())


def kind_of(item: ItemSpec | str) -> Kind:
    """The kind of an item (or of a kind name); CatalogueError for a kind nobody registered."""
    name = item if isinstance(item, str) else item.kind
    try:
        return _KINDS[name]
    except KeyError:
        raise CatalogueError(f"no checker for item kind {name!r}") from None


def checker_for(kind: str) -> Checker:
    """The checker of an item kind (``symbolic``, ``numeric``, ...)."""
    return kind_of(kind).checker


def learner_input(items: Iterable[ItemSpec]) -> LearnerInput:
    """The one input all of an exercise's items are read from; CatalogueError when they disagree."""
    inputs = {id(k.reads): k.reads for k in (kind_of(i) for i in items)}
    if len(inputs) != 1:
        names = sorted(r.name for r in inputs.values())
        raise CatalogueError(f"an exercise's items must all be read from one kind of submission; "
                             f"these are read from {', '.join(names) or 'nothing'}")
    return next(iter(inputs.values()))


def submission_suffixes() -> tuple[str, ...]:
    """Every file suffix some registered kind reads, for finding templates."""
    return tuple(dict.fromkeys(s for k in _KINDS.values() for s in k.reads.suffixes))
