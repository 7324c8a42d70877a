"""Gradescope autograder bundles: build the zip, and grade inside Gradescope's container.

``build(exercise, out)`` writes the zip Gradescope asks for::

    setup.sh                     installs Python and the grader wheel (+ PyPI deps)
    run_autograder               grades /autograder/submission -> /autograder/results/results.json
    dist/grader-VERSION-py3-none-any.whl   this grader, as installed here
    catalog/exercises/NAME.py    the exercise's template
    catalog/solutions/NAME.py    its reference (plus solutions/_*.py helpers)

Gradescope unpacks the zip into ``/autograder/source`` and copies
``run_autograder`` to ``/autograder``; both scripts take the root from
``$AUTOGRADER_ROOT`` (default ``/autograder``) so the bundle can be tried in a
scratch folder. ``run_autograder`` calls ``grader gradescope-run``, which is
:func:`autograde`: find the learner's file, grade it, write results.json.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import shlex
import stat
import time
import zipfile
from dataclasses import dataclass
from functools import lru_cache
from importlib import metadata
from pathlib import Path

import jinja2

from . import __version__
from .catalogue import Exercise, accepted_suffixes, match_file_name
from .errors import GraderError, UsageError
from .results import ExerciseResult
from .runtypes import Limits

PACKAGE = Path(__file__).resolve().parent
#: the variants' key inside the bundle (read by gradescope-run from the bundle's catalogue)
VARIANT_KEY = "catalog/variants.key"
SKIP_PARTS = {"__pycache__", "_catalog", ".mypy_cache", ".pytest_cache"}
IGNORED_UPLOADS = {"__pycache__", "__MACOSX", ".git", ".ipynb_checkpoints"}


@dataclass(frozen=True)
class Bundle:
    """What :func:`build` wrote: the zip and the names inside it."""

    path: Path
    exercise: str
    wheel: str
    members: tuple[str, ...]


@lru_cache(maxsize=1)
def _templates() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.PackageLoader("grader", "templates/gradescope"),
                             autoescape=False, undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    env.filters["q"] = lambda v: shlex.quote(str(v))
    return env


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode("ascii")
    return f"sha256={digest}"


def _requirements() -> tuple[str, list[str]]:
    """Requires-Python and the runtime requirements of the installed grader (extras left out)."""
    try:
        python = metadata.metadata("grader")["Requires-Python"] or ">=3.10"
        reqs = metadata.requires("grader") or []
    except metadata.PackageNotFoundError:
        raise GraderError("the grader is not installed as a distribution; run `pip install .` first") from None
    return python, [r for r in reqs if "extra" not in r.partition(";")[2]]


def wheel_bytes() -> tuple[str, bytes]:
    """A pure-Python wheel (PEP 427) of the running grader package, without any catalogue."""
    dist_info = f"grader-{__version__}.dist-info"
    files: dict[str, bytes] = {}
    for path in sorted(PACKAGE.rglob("*")):
        rel = path.relative_to(PACKAGE)
        if path.is_file() and not SKIP_PARTS & set(rel.parts) and path.suffix not in (".pyc", ".pyo"):
            files[f"grader/{rel.as_posix()}"] = path.read_bytes()
    python, requirements = _requirements()
    meta = ["Metadata-Version: 2.1", "Name: grader", f"Version: {__version__}", f"Requires-Python: {python}",
            *(f"Requires-Dist: {r}" for r in requirements)]
    files[f"{dist_info}/METADATA"] = ("\n".join(meta) + "\n").encode()
    files[f"{dist_info}/WHEEL"] = (b"Wheel-Version: 1.0\nGenerator: grader gradescope-bundle\n"
                                   b"Root-Is-Purelib: true\nTag: py3-none-any\n")
    files[f"{dist_info}/entry_points.txt"] = b"[console_scripts]\ngrader = grader.cli:main\n"
    record = [f"{name},{_record_hash(data)},{len(data)}" for name, data in files.items()]
    record.append(f"{dist_info}/RECORD,,")
    files[f"{dist_info}/RECORD"] = ("\n".join(record) + "\n").encode()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(_info(name, 0o644), data)
    return f"grader-{__version__}-py3-none-any.whl", buf.getvalue()


def _info(name: str, mode: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=time.localtime(time.time())[:6])
    info.external_attr = (stat.S_IFREG | mode) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def catalogue_files(exercise: Exercise) -> list[tuple[str, Path]]:
    """The catalogue files the bundle needs: the template, the reference and its ``_*.py`` helpers."""
    files = [(f"catalog/exercises/{exercise.template.name}", exercise.template),
             (f"catalog/solutions/{exercise.solution.name}", exercise.solution)]
    for helper in sorted(exercise.solution.parent.glob("_*.py")):
        files.append((f"catalog/solutions/{helper.name}", helper))
    return files


def build(exercise: Exercise, out: Path, timeout: float = 10.0, secret: bytes | None = None) -> Bundle:
    """Write the Gradescope autograder zip for ``exercise`` to ``out`` (per-learner variants: with their key,
    ``catalog/variants.key``, so each upload is graded on its learner's numbers)."""
    if exercise.parameters and secret is None:
        raise UsageError(f"exercise {exercise.name} has per-learner variants: pass --secret-file KEY (the file "
                         f"grader release --roster used)")
    wheel_name, wheel = wheel_bytes()
    scripts = {
        "setup.sh": _templates().get_template("setup.sh.j2").render(wheel=wheel_name),
        "run_autograder": _templates().get_template("run_autograder.j2").render(
            exercise=exercise.name, timeout=f"{timeout:g}"),
    }
    members: list[str] = []
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, text in scripts.items():
                zf.writestr(_info(name, 0o755), text)
                members.append(name)
            zf.writestr(_info(f"dist/{wheel_name}", 0o644), wheel)
            members.append(f"dist/{wheel_name}")
            for name, path in catalogue_files(exercise):
                zf.writestr(_info(name, 0o644), path.read_bytes())
                members.append(name)
            if exercise.parameters and secret is not None:
                zf.writestr(_info(VARIANT_KEY, 0o600), secret)
                members.append(VARIANT_KEY)
    except OSError as exc:
        raise UsageError(f"cannot write {out}: {exc.strerror or exc}") from None
    return Bundle(out, exercise.name, wheel_name, tuple(members))


def find_submission(folder: Path, exercise: Exercise) -> Path | str:
    """The learner's file in ``folder``, or a message saying what to upload instead.

    Prefers ``NAME.py`` (anywhere in the upload), then ``NAME.ipynb``, then one
    ``*_NAME.py`` or ``*_NAME.ipynb``, then the only file with a suffix the exercise reads.
    """
    suffixes = accepted_suffixes(exercise)
    wanted = f"{exercise.name}{exercise.submission_suffix}"
    others = "".join(f" ({exercise.name}{s} works too)" for s in suffixes[1:])
    if not folder.is_dir():
        return f"No submission folder was found; upload {wanted}{others}."
    inside = folder.resolve()
    files = sorted((p for p in folder.rglob("*") if p.suffix in suffixes
                    if p.is_file() and not IGNORED_UPLOADS & set(p.relative_to(folder).parts)
                    and p.resolve().is_relative_to(inside)),  # a symlink out of the upload is not the learner's
                   key=lambda p: (suffixes.index(p.suffix), len(p.relative_to(folder).parts), str(p)))
    exact = [p for p in files if match_file_name(p.name, [exercise]) == (exercise.name, "")]
    if exact:
        return exact[0]
    named = [p for p in files if (match_file_name(p.name, [exercise]) or ("", ""))[1]]
    if len(named) == 1:
        return named[0]
    if len(files) == 1:
        return files[0]
    if not files:
        return f"Your submission has no {exercise.submission_suffix} file. Upload your completed {wanted}{others}."
    kinds = "/".join(dict.fromkeys(p.suffix for p in files))
    listed = ", ".join(str(p.relative_to(folder)) for p in files[:6])
    return (f"Your submission has several {kinds} files ({listed}) and none is named {wanted}. "
            f"Name your answer {wanted}, or upload only that file.")


@dataclass(frozen=True)
class Autograded:
    """One submission graded inside Gradescope's container: the result, or why there is none."""

    results_path: Path
    result: ExerciseResult | None = None
    problem: str | None = None


def autograde(root: Path, exercise: Exercise, limits: Limits | None = None) -> Autograded:
    """Grade the upload in ``root/submission`` and write ``root/results/results.json``.

    A learner's mistake (no file, an ambiguous upload, a file that is not
    UTF-8) still yields a results.json with score 0 and the reason; only the
    grader's own failures raise, so Gradescope flags them to the instructor.
    """
    from .grading import grade_file
    from .render import gradescope

    found = find_submission(root / "submission", exercise)
    result: ExerciseResult | None = None
    problem: str | None = found if isinstance(found, str) else None
    if isinstance(found, Path):
        try:
            result = grade_file(found, exercise, limits) if not exercise.parameters else \
                _grade_variant(root, found, exercise, limits)
        except UsageError as exc:
            problem = f"Your file {found.name} could not be graded: {exc}".replace(str(found), found.name)
    doc = gradescope.to_dict(result) if result else gradescope.problem(problem or "", exercise.max_points)
    path = root / "results" / "results.json"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    except OSError as exc:
        raise GraderError(f"cannot write {path}: {exc.strerror or exc}") from None
    return Autograded(path, result, problem)


def submitters(root: Path) -> tuple[str, ...]:
    """Who submitted, from Gradescope's ``submission_metadata.json``: each user's sid, email and email login
    (folded), in that order; empty when there is no readable metadata."""
    from .variants import fold_id

    try:
        users = json.loads((root / "submission_metadata.json").read_text(encoding="utf-8")).get("users") or []
    except (OSError, ValueError, AttributeError):
        return ()
    out: list[str] = []
    for user in users if isinstance(users, list) else []:
        if isinstance(user, dict):
            email = str(user.get("email") or "")
            out += [fold_id(str(v)) for v in (user.get("sid"), email, email.partition("@")[0] if "@" in email
                                              else "") if v]
    return tuple(dict.fromkeys(out))


def _grade_variant(root: Path, found: Path, exercise: Exercise, limits: Limits | None) -> ExerciseResult:
    """Grade on the submitter's variant: the file's id line when it names a submitter, else the first
    submitter's id (so a file written for someone else's numbers is reported as such)."""
    from .grading import grade_variant_file
    from .variants import read_id_line

    ids = submitters(root)
    claim = read_id_line(found.read_bytes()[:1_000_000].decode("utf-8", "replace"))
    learner = claim[0] if claim and claim[0] in ids else ids[0] if ids else None
    return grade_variant_file(found, exercise, learner, exercise.secret, limits)
