"""What each ``grader`` command does, as a library: its options as one frozen record, one call.

``grader.cli`` parses the command line into these records, makes the one call
and renders what comes back; everything else a command does (find the
catalogue, grade, write the requested reports) happens here. Front layer,
next to ``cli.py``: it writes the report files the renderers produce.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from .errors import UsageError

if TYPE_CHECKING:  # the grading modules load sympy: imported when a command runs, not for --help
    from .batch import BatchOutcome
    from .bundle import Autograded, Bundle
    from .lms.export import Exported, ExportOptions
    from .overrides import Override
    from .results import ExerciseResult
    from .runtypes import Limits

JsonFormat = Literal["gradescope", "prairielearn"]
SandboxMode = Literal["auto", "bwrap", "rlimits"]
FeedbackLevel = Literal["full", "hints", "score"]


def read_secret(path: Path | None) -> bytes | None:
    """The key of per-learner variants from ``--secret-file``; UsageError (one line) when it is missing or empty."""
    if path is None:
        return None
    try:
        secret = path.read_bytes().strip()
    except OSError as exc:
        raise UsageError(f"cannot read the secret file {path}: {exc.strerror or exc}") from None
    if len(secret) < 16:
        raise UsageError(f"the secret file {path} holds {len(secret)} bytes; a variant key needs at least 16 "
                         f"(for example: python -c 'import secrets; print(secrets.token_hex(32))' > {path.name})")
    return secret


def write_text(path: Path, text: str) -> None:
    """Write a requested output file; a path that cannot be written is the user's to fix (UsageError)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None


@dataclass(frozen=True)
class ReportOptions:
    """What ``grader grade`` and ``grader check`` share: the submission, the reports to write, the limits."""

    file: Path
    exercise: str | None = None
    json_path: Path | None = None
    junit_path: Path | None = None
    fail_under: float | None = None
    classroom: bool = False
    html_path: Path | None = None
    quiet: bool = False
    timeout: float = 10.0
    sandbox: SandboxMode = "auto"

    @property
    def limits(self) -> Limits:
        from .runtypes import Limits

        return Limits(wall_seconds=self.timeout, sandbox=self.sandbox)


@dataclass(frozen=True)
class GradeOptions(ReportOptions):
    """``grader grade``: one submission graded with the course's references."""

    json_format: JsonFormat = "gradescope"
    show_solutions: bool = False
    catalog: Path | None = None
    #: full (with the reference answers), hints, score; None: as before (everything but the answers)
    feedback: FeedbackLevel | None = None
    #: per-learner variants: whose instance the file is graded on, and the key they were released with
    learner: str | None = None
    secret_file: Path | None = None


@dataclass(frozen=True)
class Graded:
    """One graded submission and the report files written for it, named, in the order written."""

    result: ExerciseResult
    reports: tuple[tuple[str, Path], ...]
    fail_under: float | None = None

    @property
    def below(self) -> bool:
        """The score, as a percentage of the maximum, is below ``--fail-under``."""
        return self.fail_under is not None and self.result.percent < self.fail_under


def grade(options: GradeOptions, environ: Mapping[str, str]) -> Graded:
    """Grade ``options.file`` and write every requested report (before any status is decided).

    A submission that cannot be graded (missing, not UTF-8, unknown exercise)
    raises UsageError after telling GitHub Actions why, when it is listening.
    """
    from .catalogue import exercise_for_file, find_catalogue, get_exercise
    from .grading import grade_file
    from .render import classroom, gradescope, html, junit, prairielearn

    if options.classroom and not environ.get("GITHUB_OUTPUT"):
        raise UsageError(classroom.NO_OUTPUT)
    ex = None
    try:
        root = find_catalogue(options.catalog)
        ex = get_exercise(options.exercise, root) if options.exercise else None
        if not options.file.exists():
            raise UsageError(f"no such file: {options.file}")
        ex = ex or exercise_for_file(options.file, root)
        if ex.parameters:  # per-learner variants: the learner's own instance, or the file's id line
            from .grading import grade_variant_file

            result = grade_variant_file(options.file, ex, options.learner, read_secret(options.secret_file),
                                        options.limits)
        else:
            result = grade_file(options.file, ex, options.limits)  # reads and checks the file
    except UsageError as exc:  # in GitHub Actions, the learner reads why in the run's summary and in Classroom
        classroom.write_github_problem(str(exc), ex.max_points if ex else 0.0, environ, options.classroom)
        raise
    feedback = "full" if options.show_solutions else options.feedback
    if feedback is not None:
        from .render.kit import apply_feedback

        result = apply_feedback(result, feedback)
    reports: list[tuple[str, Path]] = []
    if options.json_path:
        json_render = prairielearn.render if options.json_format == "prairielearn" else gradescope.render
        write_text(options.json_path, json_render(result))
        reports.append(("JSON result", options.json_path))
    if options.junit_path:
        write_text(options.junit_path, junit.render(result))
        reports.append(("JUnit XML", options.junit_path))
    try:
        classroom.write_github(result, environ, options.classroom)
    except OSError as exc:
        raise UsageError(f"cannot write GitHub Actions output {exc.filename}: {exc.strerror or exc}") from None
    if options.html_path:
        write_text(options.html_path, html.render(result, show_solutions=feedback == "full"))
        reports.append(("HTML report", options.html_path))
    return Graded(result, tuple(reports), options.fail_under)


@dataclass(frozen=True)
class BatchCommand:
    """``grader batch``: a folder of submissions graded into an output folder."""

    submissions: Path
    out: Path
    jobs: int | None = None
    regrade: bool = False
    timeout: float = 10.0
    catalog: Path | None = None
    regrade_learners: tuple[str, ...] = ()
    regrade_items: tuple[str, ...] = ()
    drop_overrides: bool = False
    scheduler: str | None = None  # a Dask scheduler (tcp://HOST:8786): grade on that cluster
    feedback: FeedbackLevel | None = None  # what the learners' HTML reports show (None: as before)
    secret_file: Path | None = None  # the key per-learner variants were released with
    roster: Path | None = None  # per-learner variants: each learner graded as the roster person they match


def batch(options: BatchCommand, progress: Callable[[int, int, str], None] | None = None,
          log: Callable[[str], None] = lambda m: None) -> BatchOutcome:
    """Grade the folder (resuming an earlier run) and write the class outputs."""
    from .batch import BatchOptions, default_jobs, run_batch
    from .runtypes import Limits

    settings = BatchOptions(options.out, options.jobs or default_jobs(), options.regrade,
                            Limits(wall_seconds=options.timeout), options.regrade_learners, options.regrade_items,
                            options.drop_overrides, scheduler=options.scheduler or None,
                            variant_secret=read_secret(options.secret_file) if options.secret_file else None,
                            roster=options.roster)
    outcome = run_batch(options.submissions, options.catalog, settings, progress, log=log)
    if options.feedback is not None:
        rewrite_reports(options.out, options.feedback)
    return outcome


def rewrite_reports(out: Path, feedback: FeedbackLevel) -> int:
    """Render every learner's HTML report in ``out`` again under the feedback policy (from the gradebook)."""
    from .batch_worker import report_path, write_atomic
    from .gradebook import Gradebook
    from .render import html
    from .render.kit import apply_feedback

    done = 0
    with Gradebook(out / "gradebook.sqlite") as book:
        for sub in book.submissions():
            path = report_path(out, sub.learner, sub.exercise)
            if path.exists():
                write_atomic(path, html.render(apply_feedback(sub.result, feedback),
                                               show_solutions=feedback == "full"))
                done += 1
    return done


@dataclass(frozen=True)
class BundleCommand:
    """``grader gradescope-bundle``: the autograder zip for one exercise."""

    exercise: str
    out: Path
    timeout: float = 10.0
    catalog: Path | None = None
    secret_file: Path | None = None  # per-learner variants: their key goes into the bundle


def gradescope_bundle(options: BundleCommand) -> Bundle:
    """Build the Gradescope autograder zip for ``options.exercise``."""
    from .bundle import build
    from .catalogue import find_catalogue, get_exercise

    return build(get_exercise(options.exercise, find_catalogue(options.catalog)), options.out, options.timeout,
                 read_secret(options.secret_file))


@dataclass(frozen=True)
class AutogradeCommand:
    """``grader gradescope-run``: inside Gradescope's container, grade its upload folder."""

    root: Path
    exercise: str
    timeout: float = 10.0
    catalog: Path | None = None


def gradescope_run(options: AutogradeCommand) -> Autograded:
    """Grade ``root/submission`` into ``root/results/results.json``."""
    from .bundle import autograde
    from .catalogue import find_catalogue, get_exercise
    from .runtypes import Limits

    root = find_catalogue(options.catalog)
    exercise = get_exercise(options.exercise, root)
    if exercise.parameters:  # per-learner variants: the key travels in the bundle's catalogue
        import dataclasses

        exercise = dataclasses.replace(exercise, secret=read_secret(root / "variants.key"))
    return autograde(options.root, exercise, Limits(wall_seconds=options.timeout))


# --- grader override and grader export (issue 16: grades into the LMS) ---


@dataclass(frozen=True)
class OverrideCommand:
    """``grader override``: record, list or undo a manual grade in a batch's gradebook."""

    out: Path
    learner: str | None = None
    target: str | None = None
    points: float | None = None
    reason: str | None = None
    by: str | None = None
    list_all: bool = False
    undo: int | None = None


def _gradebook_file(out: Path) -> Path:
    path = out / "gradebook.sqlite" if out.is_dir() else out
    if not path.is_file():
        raise UsageError(f"no gradebook at {path}: give the --out folder of grader batch")
    return path


def override(options: OverrideCommand) -> tuple[str, list[Override]]:
    """Do what was asked; returns what was done (``recorded``, ``undone``, ``list``) and the overrides concerned."""
    import getpass

    from .gradebook import Gradebook

    by = options.by or getpass.getuser()
    asked = [options.list_all, options.undo is not None, options.learner is not None]
    if sum(asked) != 1:
        raise UsageError("give LEARNER EXERCISE[.ITEM] POINTS --reason TEXT, or --list, or --undo ID")
    with Gradebook(_gradebook_file(options.out)) as book:
        if options.list_all:
            return "list", book.overrides(include_undone=True)
        if options.undo is not None:
            return "undone", [book.undo_override(options.undo, by)]
        if options.target is None or options.points is None:
            raise UsageError("an override needs LEARNER EXERCISE[.ITEM] POINTS")
        if not options.reason:
            raise UsageError("an override needs --reason TEXT (it is kept with the grade)")
        exercise, _, item = options.target.partition(".")
        return "recorded", [book.add_override(options.learner or "", exercise, item or None, options.points,
                                              options.reason, by)]


def export(options: ExportOptions) -> Exported:
    """Check everything, then write the Canvas or Moodle upload and its side file."""
    from .lms.export import export as run_export

    return run_export(options)


def release_catalogue(out: Path, names: tuple[str, ...], catalog: Path | None, self_check: bool = True) -> list[Path]:
    """``grader release-notebooks``: write NAME.ipynb for each code exercise (all, or ``names``) into ``out``."""
    from .catalogue import find_catalogue, load_catalogue
    from .notebooks import release

    exercises = [e for e in load_catalogue(find_catalogue(catalog)) if not names or e.name in names]
    unknown = sorted(set(names) - {e.name for e in exercises})
    if unknown:
        raise UsageError(f"unknown exercise {unknown[0]!r}")
    written = []
    for ex in exercises:
        if ex.submission_suffix != ".py":
            continue  # a quiz is answered in a TOML sheet, not in code cells
        path = out / f"{ex.name}.ipynb"
        try:
            out.mkdir(parents=True, exist_ok=True)
            path.write_text(release(ex.template.read_text(encoding="utf-8"), ex.name, self_check), encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
        written.append(path)
    return written


# --- grader release and grader check (issue 12: the learner kit) ---


@dataclass(frozen=True)
class ReleaseCommand:
    """``grader release``: the learner kit (templates and check bundles) for some or all exercises."""

    out: Path
    names: tuple[str, ...] = ()
    feedback: str = "hints"
    reveal_quiz: bool = False
    seed: int | None = None
    catalog: Path | None = None
    roster: Path | None = None  # per-learner variants: one kit per roster id, in OUT/ID/
    secret_file: Path | None = None


def release_kit(options: ReleaseCommand) -> object:
    """Write the learner kit; nothing is written when an exercise is unknown or a bundle cannot be built."""
    from .catalogue import find_catalogue, load_catalogue
    from .kit import release

    exercises = [e for e in load_catalogue(find_catalogue(options.catalog)) if not options.names or
                 e.name in options.names]
    unknown = sorted(set(options.names) - {e.name for e in exercises})
    if unknown:
        raise UsageError(f"unknown exercise {unknown[0]!r}")
    if options.roster is None and options.secret_file is None:
        return release(exercises, options.out, feedback=options.feedback, reveal=options.reveal_quiz,
                       seed=options.seed)
    from .lms.files import read_roster
    from .variants import check_roster_ids

    if options.roster is None or options.secret_file is None:
        raise UsageError("per-learner kits need both --roster roster.csv and --secret-file KEY")
    secret = read_secret(options.secret_file)
    assert secret is not None
    if not options.roster.is_file():
        raise UsageError(f"no roster at {options.roster}")
    people = read_roster(options.roster)
    learners = check_roster_ids([(p.id, p.line) for p in people], str(options.roster))
    return release(exercises, options.out, feedback=options.feedback, reveal=options.reveal_quiz,
                   seed=options.seed, learners=learners, secret=secret)


@dataclass(frozen=True)
class CheckOptions(ReportOptions):
    """``grader check``: a learner's self-check against the kit, with the report options of ``grader grade``."""

    kit: Path | None = None


def check(options: CheckOptions, environ: Mapping[str, str]) -> tuple[Graded, str]:
    """Check ``options.file`` against its bundle, write the requested reports; the graded result and the
    summary line ("9 of 11 items checked: ...")."""
    import dataclasses

    from .kit import BUNDLE_SUFFIX, check_file, find_bundle, load_bundle
    from .render import classroom, gradescope, html, junit
    from .render.kit import apply_feedback, summary_line

    if options.classroom and not environ.get("GITHUB_OUTPUT"):
        raise UsageError(classroom.NO_OUTPUT)
    try:
        found = find_bundle(options.file, options.kit, options.exercise)
        # a bundle is named after its exercise: one renamed to stand for another is refused
        bundle = load_bundle(found, options.exercise or found.name[: -len(BUNDLE_SUFFIX)])
        if not options.file.exists():
            raise UsageError(f"no such file: {options.file}")
        done = check_file(options.file, bundle, options.limits)
    except UsageError as exc:
        classroom.write_github_problem(str(exc), 0.0, environ, options.classroom)
        raise
    line = summary_line(done)
    result = apply_feedback(dataclasses.replace(done.result, notes=(*done.result.notes, line)),
                            str(bundle.get("feedback", "hints")))
    reports: list[tuple[str, Path]] = []
    if options.json_path:
        write_text(options.json_path, gradescope.render(result))
        reports.append(("JSON result", options.json_path))
    if options.junit_path:
        write_text(options.junit_path, junit.render(result))
        reports.append(("JUnit XML", options.junit_path))
    try:
        classroom.write_github(result, environ, options.classroom)
    except OSError as exc:
        raise UsageError(f"cannot write GitHub Actions output {exc.filename}: {exc.strerror or exc}") from None
    if options.html_path:
        write_text(options.html_path, html.render(result, show_solutions=False))
        reports.append(("HTML report", options.html_path))
    return Graded(result, tuple(reports), options.fail_under), line
