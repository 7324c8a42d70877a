"""The learner kit: what learners receive to check their work without holding any answer.

``release`` writes, for each exercise, its template and one check bundle
``NAME.check.json`` (format below); ``check_file`` checks a learner's file
against the bundle in the same sandbox as ``grader grade``, on the public items
only. The bundle holds no reference source, expression, function body or pickled
object: the kind's kit adapter (:mod:`grader.checks.kit_adapters`) stores values
(the reference at seeded points, outputs on the kit's own public cases) and
fingerprints of authored mistakes' values. Hidden items keep only their name and
points; items whose kind has no adapter, and number or choice questions unless
revealed, are "checked when you submit".

Bundle format (JSON, ``format`` = ``grader-check-bundle``, ``version`` = 1)::

    {"format": ..., "version": 1, "grader": "0.1.0", "exercise": "derivatives",
     "title": ..., "template": "derivatives.py", "feedback": "hints",
     "items": [{"name", "points", "kind", "title", "checked": true, ...the adapter's record},
               {"name", "points", "checked": false, "why": "hidden" | "submit"}],
     "digest": sha256 of the canonical JSON of everything else}
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from . import __version__
from .catalogue import Exercise
from .checks import Runner, kind_of, kinds, learner_input
from .checks.common import result as item_result
from .errors import UsageError
from .grading import MAX_SUBMISSION_BYTES, read_submission
from .results import ExerciseResult, ItemResult
from .runtypes import Limits
from .sandbox import run_calls
from .titles import template_titles

__all__ = ["BUNDLE_FORMAT", "BUNDLE_SUFFIX", "BUNDLE_VERSION", "Checked", "Released", "bundle_for", "check_file",
           "find_bundle", "load_bundle", "release"]

BUNDLE_FORMAT = "grader-check-bundle"
BUNDLE_VERSION = 1
BUNDLE_SUFFIX = ".check.json"
FEEDBACK_LEVELS = ("full", "hints", "score")


def _digest(bundle: Mapping[str, Any]) -> str:
    body = {k: v for k, v in bundle.items() if k != "digest"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def bundle_for(exercise: Exercise, seed: int, feedback: str = "hints", reveal: bool = False) -> dict[str, Any]:
    """The check bundle of ``exercise`` (plain data; see the module docstring)."""
    titles = template_titles(exercise.template)
    items: list[dict[str, Any]] = []
    for item in exercise.items:
        if item.hidden:
            items.append({"name": item.name, "points": item.points, "checked": False, "why": "hidden"})
            continue
        adapter = kind_of(item).kit
        record = adapter.pack(item, seed, reveal) if adapter is not None else None
        head = {"name": item.name, "points": item.points, "kind": item.kind,
                "title": titles.get(item.name, item.name)}
        items.append({**head, "checked": False, "why": "submit"} if record is None
                     else {**head, "checked": True, **record})
    bundle: dict[str, Any] = {"format": BUNDLE_FORMAT, "version": BUNDLE_VERSION, "grader": __version__,
                              "exercise": exercise.name, "title": exercise.title,
                              "template": exercise.template.name, "feedback": feedback, "items": items}
    bundle["digest"] = _digest(bundle)
    return bundle


@dataclass(frozen=True)
class Released:
    """What ``release`` wrote: the kit folder and its files."""

    out: Path
    files: tuple[Path, ...]
    bytes: int


def _kit_files(ex: Exercise, seed: int, feedback: str, reveal: bool) -> list[tuple[str, str]]:
    """The template and the check bundle of ``ex`` (a variant: its learner's numbers and id line)."""
    template = ex.template.read_text(encoding="utf-8")
    bundle = bundle_for(ex, seed, feedback, reveal)
    if ex.variant is not None and ex.secret is not None:
        from .variants import id_line, render_template

        template = render_template(template, ex.variant, id_line(ex.variant.learner, ex.name, ex.secret))
    return [(ex.template.name, template), (ex.name + BUNDLE_SUFFIX, json.dumps(bundle, ensure_ascii=False,
                                                                                indent=1))]


def release(exercises: Sequence[Exercise], out: Path, *, feedback: str = "hints", reveal: bool = False,
            seed: int | None = None, learners: Sequence[str] = (), secret: bytes | None = None) -> Released:
    """Write the learner kit for ``exercises`` into ``out``: every bundle is built before any file is written.

    With ``learners`` (and the variants' ``secret``) one kit per learner goes into ``out/ID/``; exercises with
    per-learner variants state that learner's numbers there. Without them, such exercises are refused.
    """
    from .catalogue import bind
    from .variants import instance

    if feedback not in FEEDBACK_LEVELS:
        raise UsageError(f"--feedback must be one of {', '.join(FEEDBACK_LEVELS)}")
    seed = seed if seed is not None else secrets.randbits(31) + 1  # never the instructor's own seeds
    contents: list[tuple[str, str]] = []
    if not learners:
        varying = [ex.name for ex in exercises if ex.parameters]
        if varying:
            raise UsageError(f"exercise {varying[0]} has per-learner variants: release it with --roster "
                             f"roster.csv --secret-file KEY (one kit per learner)")
        for ex in exercises:
            contents += _kit_files(ex, seed, feedback, reveal)
    for learner in learners:
        assert secret is not None
        for ex in exercises:
            bound = ex if not ex.parameters else \
                replace(bind(ex, instance(ex.parameters, learner, ex.name, secret)), secret=secret)
            contents += [(f"{learner}/{name}", text) for name, text in _kit_files(bound, seed, feedback, reveal)]
    try:
        out.mkdir(parents=True, exist_ok=True)
        written = []
        for name, text in contents:  # each file appears whole (written beside, then renamed)
            (out / name).parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=(out / name).parent, prefix=".kit-")
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
            os.replace(tmp, out / name)
            written.append(out / name)
    except OSError as exc:
        raise UsageError(f"cannot write the kit into {out}: {exc.strerror or exc}") from None
    return Released(out, tuple(written), sum(p.stat().st_size for p in written))


def load_bundle(path: Path, exercise: str | None = None) -> dict[str, Any]:
    """A check bundle read and verified; UsageError (one line) for a missing, corrupt, foreign or stale one."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise UsageError(f"no check bundle {path.name} in {path.parent}: pass --kit DIR (the folder of your "
                         f"learner kit)") from None
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        bundle = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise UsageError(f"{path} is corrupt or truncated (not a complete check bundle); download the kit "
                         f"again") from None
    if not isinstance(bundle, dict) or bundle.get("format") != BUNDLE_FORMAT:
        raise UsageError(f"{path} is not a grader check bundle")
    if bundle.get("version") != BUNDLE_VERSION or bundle.get("grader") != __version__:
        raise UsageError(f"{path} was made by grader {bundle.get('grader')!s:.20} (bundle format "
                         f"{bundle.get('version')!s:.10}); this is grader {__version__}: install the grader "
                         f"version of the kit")
    if bundle.get("digest") != _digest(bundle):
        raise UsageError(f"{path} is corrupt (its checksum does not match); download the kit again")
    if exercise is not None and bundle.get("exercise") != exercise:
        raise UsageError(f"{path} is the check bundle of exercise {bundle.get('exercise')!s:.40}, not {exercise}")
    return bundle


def find_bundle(file: Path, kit: Path | None, exercise: str | None) -> Path:
    """The bundle that checks ``file``: named by ``exercise`` or matched by the file's name, in the kit folder
    (``--kit``, ``$GRADER_KIT``, the file's folder or the working directory)."""
    folders = [kit] if kit else [Path(os.environ["GRADER_KIT"])] if os.environ.get("GRADER_KIT") else \
        [file.parent, Path.cwd()]
    if kit is not None and not kit.is_dir():
        raise UsageError(f"no learner kit at {kit}: it should be the folder grader release wrote")
    for folder in folders:
        if exercise:
            if (folder / (exercise + BUNDLE_SUFFIX)).is_file():
                return folder / (exercise + BUNDLE_SUFFIX)
            continue
        names = sorted((p.name[: -len(BUNDLE_SUFFIX)] for p in folder.glob("*" + BUNDLE_SUFFIX)), key=len,
                       reverse=True)
        stem = file.stem.lower()
        for name in names:
            if stem == name or stem.endswith(("_" + name, "-" + name)):
                return folder / (name + BUNDLE_SUFFIX)
    where = " or ".join(str(f) for f in folders)
    if exercise:
        raise UsageError(f"no check bundle for {exercise} in {where}: pass --kit DIR (your learner kit)")
    raise UsageError(f"no check bundle for {file.name} in {where}: pass --kit DIR (your learner kit) and name "
                     f"the file after its exercise")


@dataclass(frozen=True)
class Checked:
    """A self-check: the result on the checked items, and the counts the summary line states."""

    result: ExerciseResult
    total: int
    checked: int
    right: int
    wrong: int
    undecided: int
    later: tuple[str, ...]


def check_file(path: Path, bundle: Mapping[str, Any], limits: Limits | None = None,
               runner: Runner | None = None) -> Checked:
    """Check ``path`` against ``bundle``: the public items run in the sandbox and are judged from the stored
    values; hidden and unstorable items are not run at all (their output is never shown)."""
    started = time.perf_counter()
    records = [r for r in bundle["items"] if r.get("checked")]
    later = tuple(r["name"] for r in bundle["items"] if not r.get("checked"))
    adapters = {k.name: k.kit for k in kinds() if k.kit is not None}
    try:
        stand_ins = [adapters[r["kind"]].stand_in(r) for r in records]
    except (KeyError, TypeError, ValueError) as exc:
        raise UsageError(f"the check bundle of {bundle.get('exercise')} does not fit this grader "
                         f"({type(exc).__name__}); install the grader version of the kit") from None
    results: tuple[ItemResult, ...] = ()
    handed = None
    if stand_ins:
        reads = learner_input(stand_ins)
        size_limit = getattr(reads, "size_limit", None)
        source = read_submission(path, size_limit(path) if size_limit else MAX_SUBMISSION_BYTES)
        handed = reads.read(path, source, stand_ins, limits, runner or run_calls)
        judged = []
        for record, item in zip(records, stand_ins):
            try:
                judged.append(adapters[record["kind"]].check(record, handed.answers, bundle["exercise"]))
            except Exception as exc:  # a checker bug costs one item, as in a grade
                judged.append(item_result(item, bundle["exercise"], passed=False, status="undecided",
                                          diagnosis="grader_error",
                                          feedback=f"the check failed on this item ({type(exc).__name__}); "
                                                   f"your instructor's grading decides"))
        results, review = reads.review(stand_ins, tuple(judged),
                                       source if handed.reviewed is None else handed.reviewed)
        handed_notes = handed.notes + review
    else:
        read_submission(path)
        handed_notes = ()
    right = sum(r.status == "passed" for r in results)
    undecided = sum(r.status == "undecided" for r in results)
    res = ExerciseResult(exercise=bundle["exercise"], title=f"{bundle['title']} (self-check)", submission=str(path),
                         items=results, sandbox_mode=handed.sandbox_mode if handed else "none",
                         seconds=time.perf_counter() - started, stdout=handed.stdout if handed else "",
                         stderr=handed.stderr if handed else "",
                         import_error=handed.import_error if handed else None, notes=handed_notes)
    return Checked(res, len(bundle["items"]), len(results), right, len(results) - right - undecided, undecided,
                   later)
