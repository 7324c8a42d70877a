"""Find the submissions in an instructor's folder and tell whose they are (no grading here).

Rules, checked for every file below the folder (hidden entries and
``__pycache__`` are skipped; symbolic links are followed only when they stay
inside the folder, and only regular files count):

* **folder per learner**: a file named exactly after an exercise
  (``derivatives.py``, ``quiz.toml``). The learner is the first folder below
  the part of the path every such file shares: ``alice/derivatives.py`` and
  ``submitted/alice/derivatives.py`` both belong to ``alice``, and so does
  nbgrader's ``submitted/alice/ps1/derivatives.py``. When every learner folder
  starts with the same ``something-`` (GitHub Classroom's
  ``derivatives-alice``, ``derivatives-bob``), that part is dropped.
* **flat**: a file named ``<learner>_<exercise>`` or ``<learner>-<exercise>``
  (``alice_derivatives.py``), anywhere; the longest matching exercise name wins.

Everything else is listed as unmatched, with the reason, so nothing is
silently ignored. Two files for the same learner and exercise: the first in
path order is graded and the other is listed as a duplicate.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from .catalogue import Exercise, accepted_suffixes, match_file_name
from .grading import MAX_SUBMISSION_BYTES
from .notebooks import MAX_NOTEBOOK_BYTES

Layout = Literal["folder per learner", "flat", "mixed", "empty"]
_SKIP_DIRS = {"__pycache__", "node_modules"}


@dataclass(frozen=True)
class Submission:
    """One learner's file for one exercise, with its content hash."""

    learner: str
    exercise: str
    path: Path
    relpath: str
    sha256: str
    size: int


@dataclass(frozen=True)
class Unmatched:
    """A file that is not graded, and why."""

    relpath: str
    reason: str


@dataclass(frozen=True)
class Discovery:
    """What was found in a submissions folder."""

    root: Path
    layout: Layout
    submissions: tuple[Submission, ...]
    unmatched: tuple[Unmatched, ...]

    @property
    def learners(self) -> tuple[str, ...]:
        """Every learner with at least one submission, sorted."""
        return tuple(sorted({s.learner for s in self.submissions}))


def display_name(raw: str) -> str:
    """A file-system name as text that SQLite, CSV and HTML can hold (undecodable bytes become U+FFFD)."""
    text = raw.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return unicodedata.normalize("NFC", text)


_UNSAFE = re.compile(r"[^\w.-]+", re.UNICODE)


def safe_component(name: str, limit: int = 60) -> str:
    """A single, harmless path component for ``name`` (no separators, no leading dot, bounded length).

    Names that had to change get a short hash of the original so two learners never share a folder.
    """
    slug = _UNSAFE.sub("_", name).strip("._")[:limit]
    if not slug or slug != name or slug.upper() in {"CON", "PRN", "AUX", "NUL"}:
        slug = f"{slug or 'learner'}-{hashlib.sha256(name.encode('utf-8', 'surrogatepass')).hexdigest()[:8]}"
    return slug


def _inside(root: Path, path: Path) -> bool:
    try:
        path.resolve().relative_to(root)
        return True
    except (ValueError, OSError, RuntimeError):
        return False


def _candidate_files(root: Path) -> Iterable[tuple[Path, str | None]]:
    """(path, reason-to-skip or None) for every visible file below ``root``, without following links out."""
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        here = Path(dirpath)
        keep = []
        for d in sorted(dirnames):
            if d.startswith(".") or d in _SKIP_DIRS:
                continue
            if (here / d).is_symlink():
                yield here / d, "a symbolic link to a folder (not followed)"
                continue
            keep.append(d)
        dirnames[:] = keep
        for f in sorted(filenames):
            if f.startswith("."):
                continue
            p = here / f
            try:
                st = p.stat() if _inside(root, p) else None
            except OSError as exc:
                yield p, f"cannot be read ({exc.strerror or exc})"
                continue
            if st is None:
                yield p, "a symbolic link pointing outside the submissions folder"
            elif not stat.S_ISREG(st.st_mode):
                yield p, "not a regular file"
            else:
                yield p, None


def _hash(path: Path) -> tuple[str, int]:
    size = path.stat().st_size
    # never read a huge file just to hash it; grading refuses it anyway (a notebook may carry its outputs)
    if size > (MAX_NOTEBOOK_BYTES if path.suffix == ".ipynb" else MAX_SUBMISSION_BYTES):
        return f"too-large:{size}", size
    return hashlib.sha256(path.read_bytes()).hexdigest(), size


#: folder names that hold learners' folders rather than being a learner (nbgrader, LMS exports)
_CONTAINERS = {"submitted", "submissions", "autograded"}


def _learner_depths(paths: list[tuple[str, ...]]) -> list[int]:
    """Which folder of each file's folder path names its learner.

    With several learners it is the first folder where their paths differ; with one
    learner there is nothing to compare, so it is the first folder, or the second
    when the first is a container such as ``submitted`` (``submitted/alice/ps1/``).
    """
    common = os.path.commonprefix(paths)  # noqa: RUF071 - prefix of folder-name tuples, not a path
    if len(set(paths)) > 1:
        return [min(len(common), len(p) - 1) for p in paths]
    return [1 if len(p) > 1 and p[0].lower() in _CONTAINERS else 0 for p in paths]


def _classroom_prefix(names: set[str]) -> str:
    """The ``assignment-`` that GitHub Classroom puts before every username, when all folders share it."""
    if len(names) < 2:
        return ""
    prefix = os.path.commonprefix(sorted(names))  # noqa: RUF071 - prefix of learner names, not a path
    prefix = prefix[: prefix.rfind("-") + 1]
    return prefix if prefix and all(len(n) > len(prefix) for n in names) else ""


def _rank(suffixes: Sequence[str], suffix: str) -> int:
    return suffixes.index(suffix) if suffix in suffixes else len(suffixes)


def discover(root: str | os.PathLike[str], exercises: Sequence[Exercise]) -> Discovery:
    """Find every submission below ``root`` and whose it is (see the module docstring for the rules)."""
    root = Path(root).resolve()
    folder_hits: list[tuple[Path, tuple[str, ...], str]] = []
    flat_hits: list[tuple[Path, str, str]] = []
    unmatched: list[Unmatched] = []
    for path, problem in _candidate_files(root):
        rel = path.relative_to(root)
        if problem:
            unmatched.append(Unmatched(display_name(str(rel)), problem))
            continue
        match = match_file_name(path.name, exercises)
        if match is None:
            unmatched.append(Unmatched(display_name(str(rel)), "the name matches no exercise"))
        elif match[1] == "":
            if len(rel.parts) < 2:
                unmatched.append(Unmatched(display_name(str(rel)), "named after an exercise but not inside a "
                                           "learner's folder (use alice/NAME or alice_NAME)"))
            else:
                folder_hits.append((path, rel.parts[:-1], match[0]))
        else:
            flat_hits.append((path, display_name(match[1]), match[0]))
    found: list[tuple[str, str, Path]] = [(learner, ex, p) for p, learner, ex in flat_hits]
    if folder_hits:
        folders = [(display_name(dirs[at]), ex, path) for (path, dirs, ex), at in
                   zip(folder_hits, _learner_depths([dirs for _, dirs, _ in folder_hits]))]
        strip = _classroom_prefix({name for name, _, _ in folders})
        found += [(name[len(strip):], ex, path) for name, ex, path in folders]
    submissions: dict[tuple[str, str], Submission] = {}
    suffixes = {e.name: accepted_suffixes(e) for e in exercises}
    # NAME.py before NAME.ipynb in the same folder: the template's own suffix is graded when both are handed in
    for learner, ex, path in sorted(found, key=lambda t: (str(t[2].with_suffix("")),
                                                          _rank(suffixes.get(t[1], ()), t[2].suffix), str(t[2]))):
        shown = display_name(str(path.relative_to(root)))
        key = (learner, ex)
        if key in submissions:
            graded = submissions[key]
            if graded.path.with_suffix("") == path.with_suffix(""):
                unmatched.append(Unmatched(shown, f"{learner!r} handed in {ex!r} as {graded.path.name} and as "
                                                f"{path.name}; graded: {graded.relpath}"))
            else:
                unmatched.append(Unmatched(shown, f"a second file for learner {learner!r}, exercise {ex!r} "
                                                f"(graded: {graded.relpath})"))
            continue
        try:
            digest, size = _hash(path)
        except OSError as exc:
            unmatched.append(Unmatched(shown, f"cannot be read ({exc.strerror or exc})"))
            continue
        submissions[key] = Submission(learner, ex, path, shown, digest, size)
    layout: Layout = ("empty" if not submissions else "mixed" if folder_hits and flat_hits
                      else "flat" if flat_hits else "folder per learner")
    ordered = tuple(sorted(submissions.values(), key=lambda s: (s.learner, s.exercise)))
    return Discovery(root, layout, ordered, tuple(sorted(unmatched, key=lambda u: u.relpath)))
