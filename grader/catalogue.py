"""The exercise catalogue: pairs each template in ``exercises/`` with its reference in ``solutions/``.

Where the catalogue is found, in order: the ``--catalog DIR`` option, the
``GRADER_CATALOG`` environment variable, the source checkout this package sits
in (``<repo>/exercises`` and ``<repo>/solutions``), then the working directory
or the nearest folder above it that holds both (a source checkout after a plain
``pip install .``). The installed package holds no catalogue: a course's
solutions never travel with ``grader`` itself, so a learner who installs it (or
a learner kit, see :mod:`grader.kit`) cannot read them. A catalogue directory
holds ``exercises/`` and ``solutions/`` side by side with the same file names.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from types import ModuleType

from .checks import kind_of, kinds, learner_input, submission_suffixes
from .errors import CatalogueError, UsageError
from .spec import ExerciseInfo, ItemSpec
from .titles import learner_titles
from .variants import Parameter, Variant, parse_variants

_PKG = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Exercise:
    """One exercise: its template, its reference file and the items it grades."""

    name: str
    title: str
    order: int
    template: Path
    solution: Path
    items: tuple[ItemSpec, ...]
    summary: str = ""
    #: per-learner variants (empty: one exercise for everyone); ``items`` are then the first instance's
    parameters: tuple[Parameter, ...] = ()
    builder: Callable[..., Sequence[ItemSpec]] | None = None
    #: the learner instance the items were built for (None: not bound to a learner)
    variant: Variant | None = None
    #: the key variants are drawn with, when grading was given it (never shown, never compared)
    secret: bytes | None = field(default=None, repr=False, compare=False)

    @property
    def max_points(self) -> float:
        """Total points over the exercise's items."""
        return sum(i.points for i in self.items)

    @property
    def submission_suffix(self) -> str:
        """What learners hand in, as the template shows it: ``.py`` for code, ``.toml`` for a quiz."""
        return self.template.suffix

    def item(self, name: str) -> ItemSpec:
        """The item called ``name``."""
        for it in self.items:
            if it.name == name:
                return it
        raise KeyError(name)


def find_catalogue(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The catalogue directory to use (see the module docstring for the order)."""
    candidates: list[Path] = []
    if explicit:
        candidates.append(Path(explicit))
    elif os.environ.get("GRADER_CATALOG"):
        candidates.append(Path(os.environ["GRADER_CATALOG"]))
    else:
        here = Path.cwd()
        candidates += [_PKG.parent, here, *here.parents]
    for c in candidates:
        if (c / "exercises").is_dir() and (c / "solutions").is_dir():
            return c.resolve()
    if explicit or os.environ.get("GRADER_CATALOG"):
        raise UsageError(f"{candidates[0]} is not a catalogue: it needs exercises/ and solutions/ folders")
    raise UsageError("no exercise catalogue here: run in the course's folder (the one with exercises/ and "
                     "solutions/), or pass --catalog DIR or set $GRADER_CATALOG; learners check their work with "
                     "grader check FILE --kit DIR")


def _load_module(path: Path) -> ModuleType:
    name = f"grader_solutions_{abs(hash(str(path)))}_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise CatalogueError(f"cannot load reference file {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        sys.modules.pop(name, None)
        raise CatalogueError(f"reference file {path} failed to load: {type(exc).__name__}: {exc}") from exc
    return module


def _load_exercise(root: Path, solution: Path) -> Exercise:
    name = solution.stem
    suffixes = submission_suffixes()
    templates = [p for p in (root / "exercises").glob(f"{name}.*") if p.suffix in suffixes]
    if len(templates) != 1:
        raise CatalogueError(f"exercise {name!r}: expected one template exercises/{name}"
                             f"{' or '.join(suffixes)}, found {len(templates)}")
    module = _load_module(solution)
    info = getattr(module, "EXERCISE", None)
    if info is not None and not isinstance(info, ExerciseInfo):
        raise CatalogueError(f"{solution}: EXERCISE must be made with grader.spec.exercise(...)")
    items: list[ItemSpec] = []
    builder = getattr(module, "grader_items", None)
    try:
        parameters = parse_variants(dict(info.variants)) if info is not None else ()
    except ValueError as exc:
        raise CatalogueError(f"{solution}: {exc}") from None
    if parameters and not callable(builder):
        raise CatalogueError(f"{solution}: an exercise with variants builds its items in grader_items(**values)")
    if callable(builder):
        items = list(builder(**{p.name: p.choices[0] for p in parameters}))
    else:
        funcs = [v for v in vars(module).values() if callable(v) and hasattr(v, "__grader_item__")]
        funcs.sort(key=lambda f: f.__code__.co_firstlineno)
        items = [f.__grader_item__ for f in funcs]
    if not items:
        raise CatalogueError(f"{solution} declares no graded items")
    names = [i.name for i in items]
    if len(set(names)) != len(names):
        raise CatalogueError(f"{solution} declares an item name twice")
    _check_kinds(solution, templates[0], items)
    doc = (module.__doc__ or "").strip().splitlines()
    title = info.title if info else (doc[0] if doc else name)
    return Exercise(name, title, info.order if info else 100, templates[0], solution,
                    learner_titles(items, templates[0]),
                    info.summary if info else "", parameters, builder if parameters else None)


def bind(exercise: Exercise, variant: Variant) -> Exercise:
    """``exercise`` with the items of one learner's instance (the reference's ``grader_items(**values)``)."""
    if exercise.builder is None:
        return exercise
    items = tuple(exercise.builder(**variant.as_dict()))
    return replace(exercise, items=learner_titles(items, exercise.template), variant=variant)


def _check_kinds(solution: Path, template: Path, items: Sequence[ItemSpec]) -> None:
    """Every item of a registered kind, built by its spec class, all read from the template's format."""
    for item in items:
        try:
            kind = kind_of(item)
        except CatalogueError as exc:
            raise CatalogueError(f"{solution}: item {item.name}: {exc}") from None
        if not isinstance(item, kind.spec):
            raise CatalogueError(f"{solution}: item {item.name} of kind {kind.name!r} must be a "
                                 f"{kind.spec.__name__}, not a {type(item).__name__}")
    try:
        reads = learner_input(items)
    except CatalogueError as exc:
        raise CatalogueError(f"{solution}: {exc}") from None
    if template.suffix != reads.suffixes[0]:  # a template is the input's first form; notebooks are released from it
        raise CatalogueError(f"{solution}: its items are answered in {reads.name} "
                             f"({reads.suffixes[0]}), but the template is {template.name}")


@lru_cache(maxsize=8)
def load_catalogue(root: Path) -> tuple[Exercise, ...]:
    """Every exercise in the catalogue at ``root``, in course order."""
    solutions = sorted(p for p in (root / "solutions").glob("*.py") if not p.name.startswith("_"))
    exercises = [_load_exercise(root, p) for p in solutions]
    return tuple(sorted(exercises, key=lambda e: (e.order, e.name)))


def get_exercise(name: str, root: Path) -> Exercise:
    """The exercise called ``name``; UsageError naming the known ones otherwise."""
    catalogue = load_catalogue(root)
    for ex in catalogue:
        if ex.name == name:
            return ex
    known = ", ".join(e.name for e in catalogue)
    raise UsageError(f"unknown exercise {name!r}; the catalogue has: {known}")


def accepted_suffixes(exercise: Exercise) -> tuple[str, ...]:
    """The file suffixes a learner may hand in for ``exercise``: the template's first, then the others the
    input reading that suffix also reads (``.py`` then ``.ipynb``)."""
    own = exercise.submission_suffix
    return tuple(dict.fromkeys((own, *(s for k in kinds() if own in k.reads.suffixes for s in k.reads.suffixes))))


def match_file_name(name: str, exercises: Sequence[Exercise]) -> tuple[str, str] | None:
    """(exercise, learner) for a submission's file name, or None; learner is '' for ``NAME.py``.

    ``derivatives.py`` and ``alice_derivatives.py`` / ``alice-derivatives.py`` (any case)
    match ``derivatives``; the suffix must be one the exercise's input reads (``.py`` or
    ``.ipynb`` for code, ``.toml`` for a quiz); the longest exercise name wins.
    """
    suffix = Path(name).suffix
    stem = name[: -len(suffix)] if suffix else name
    low = stem.lower()
    best: tuple[str, str] | None = None
    for ex in sorted(exercises, key=lambda e: -len(e.name)):
        if suffix not in accepted_suffixes(ex):
            continue
        if low == ex.name:
            return ex.name, ""
        for sep in ("_", "-"):
            if low.endswith(sep + ex.name) and len(stem) > len(ex.name) + 1 and best is None:
                best = ex.name, stem[: -len(ex.name) - 1]
    return best


def exercise_for_file(path: Path, root: Path) -> Exercise:
    """Guess the exercise from a file name: ``derivatives.py`` or ``alice_derivatives.py``."""
    catalogue = load_catalogue(root)
    match = match_file_name(path.name, catalogue)
    if match is None:
        known = ", ".join(e.name + e.submission_suffix for e in catalogue)
        raise UsageError(f"cannot tell which exercise {path.name} is; name it after one ({known}) "
                         f"or pass --exercise NAME")
    return get_exercise(match[0], root)
