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
    from .results import ExerciseResult
    from .runtypes import Limits

JsonFormat = Literal["gradescope", "prairielearn"]
SandboxMode = Literal["auto", "bwrap", "rlimits"]


def write_text(path: Path, text: str) -> None:
    """Write a requested output file; a path that cannot be written is the user's to fix (UsageError)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None


@dataclass(frozen=True)
class GradeOptions:
    """``grader grade``: one submission, the reports to write, the limits."""

    file: Path
    exercise: str | None = None
    json_path: Path | None = None
    json_format: JsonFormat = "gradescope"
    junit_path: Path | None = None
    fail_under: float | None = None
    classroom: bool = False
    html_path: Path | None = None
    show_solutions: bool = False
    quiet: bool = False
    timeout: float = 10.0
    sandbox: SandboxMode = "auto"
    catalog: Path | None = None

    @property
    def limits(self) -> Limits:
        from .runtypes import Limits

        return Limits(wall_seconds=self.timeout, sandbox=self.sandbox)


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
        result = grade_file(options.file, ex, options.limits)  # reads and checks the file
    except UsageError as exc:  # in GitHub Actions, the learner reads why in the run's summary and in Classroom
        classroom.write_github_problem(str(exc), ex.max_points if ex else 0.0, environ, options.classroom)
        raise
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
        write_text(options.html_path, html.render(result, show_solutions=options.show_solutions))
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
    scheduler: str | None = None  # a Dask scheduler (tcp://HOST:8786): grade on that cluster


def batch(options: BatchCommand, progress: Callable[[int, int, str], None] | None = None,
          log: Callable[[str], None] = lambda m: None) -> BatchOutcome:
    """Grade the folder (resuming an earlier run) and write the class outputs."""
    from .batch import BatchOptions, default_jobs, run_batch
    from .runtypes import Limits

    settings = BatchOptions(options.out, options.jobs or default_jobs(), options.regrade,
                            Limits(wall_seconds=options.timeout), scheduler=options.scheduler or None)
    return run_batch(options.submissions, options.catalog, settings, progress, log=log)


@dataclass(frozen=True)
class BundleCommand:
    """``grader gradescope-bundle``: the autograder zip for one exercise."""

    exercise: str
    out: Path
    timeout: float = 10.0
    catalog: Path | None = None


def gradescope_bundle(options: BundleCommand) -> Bundle:
    """Build the Gradescope autograder zip for ``options.exercise``."""
    from .bundle import build
    from .catalogue import find_catalogue, get_exercise

    return build(get_exercise(options.exercise, find_catalogue(options.catalog)), options.out, options.timeout)


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

    exercise = get_exercise(options.exercise, find_catalogue(options.catalog))
    return autograde(options.root, exercise, Limits(wall_seconds=options.timeout))
