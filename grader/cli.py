"""The ``grader`` command: options in, one library call, a renderer, an exit status.

Each command gathers its options into one frozen record, makes one call into
the library (``grader.commands``, ``grader.equiv_tool``), renders what comes
back and returns its exit status. Exit statuses (decided here and nowhere
else, in ``Grader.invoke``; an error of ``grader.errors`` owns its status):
  0  grading completed (and the score is at or above ``--fail-under``, if given)
  1  the score, as a percentage of the maximum, is below ``--fail-under``
  2  usage error: unknown exercise, unreadable file, bad option
  3  internal error of the grader
  4  ``grader equiv`` could not decide whether A and B are equivalent
  130  ``grader batch`` was interrupted (Ctrl-C); the same command resumes
  141  the reader closed the output (``grader list | head -1``): stopped quietly
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, TextIO

import click

from . import __version__
from .errors import (
    EXIT_BELOW,
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_OUTPUT_CLOSED,
    EXIT_UNDECIDED,
    EXIT_USAGE,
    GraderError,
    OutputClosed,
)

__all__ = ["EXIT_BELOW", "EXIT_INTERNAL", "EXIT_INTERRUPTED", "EXIT_OK", "EXIT_OUTPUT_CLOSED", "EXIT_UNDECIDED",
           "EXIT_USAGE", "main"]


def echo(text: str, err: bool = False) -> None:
    """Print one line; a reader that stopped reading (``| head``) becomes OutputClosed."""
    stream = sys.stderr if err else sys.stdout
    try:
        click.echo(text, file=stream)
    except BrokenPipeError:
        raise OutputClosed(stream) from None


def _silence(stream: TextIO) -> None:
    """Point a closed stream at /dev/null, so the interpreter's final flush does not complain."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # not a real file (the test runner's buffer): nothing will flush it
        pass


def exit_status(command: Callable[[], object]) -> int:
    """Run a command; its status, or the status of what it raised, with one line on stderr."""
    try:
        status = command()
        if not isinstance(status, int):
            raise TypeError(f"the command returned {status!r}, not an exit status")
        return status
    except OutputClosed as exc:
        _silence(exc.stream)
        return exc.exit_code
    except GraderError as exc:
        click.echo(f"grader: error: {exc}", err=True)
        return exc.exit_code
    except (click.exceptions.Exit, click.ClickException, KeyboardInterrupt):
        raise
    except Exception as exc:  # an internal bug: say so briefly, exit 3
        click.echo(f"grader: error: internal error: {type(exc).__name__}: {exc}", err=True)
        return EXIT_INTERNAL


class Grader(click.Group):
    """The command group whose commands return their exit status; the process exits with it here."""

    def invoke(self, ctx: click.Context) -> NoReturn:
        run_command = super().invoke
        ctx.exit(exit_status(lambda: run_command(ctx)))


#: what a bare ``--regrade`` stands for (a learner name never holds a NUL)
REGRADE_ALL = "\0all"

catalog_option = click.option(
    "--catalog", "catalog", type=click.Path(file_okay=False, path_type=Path), default=None,
    help="Catalogue directory with exercises/ and solutions/ (default: $GRADER_CATALOG, the source "
         "checkout, or the copy installed with grader).")


@click.group(cls=Grader, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="grader")
def main() -> None:
    """Auto-grader for the calculus behind deep learning."""


@main.command("list")
@catalog_option
def list_command(catalog: Path | None) -> int:
    """Print the catalogue: exercises, their items, kinds and points."""
    from .catalogue import find_catalogue, load_catalogue

    root = find_catalogue(catalog)
    for ex in load_catalogue(root):
        echo(click.style(f"{ex.name}", bold=True) + f"  {ex.title}  ({ex.max_points:g} points, "
             f"hand in {ex.name}{ex.submission_suffix})")
        for it in ex.items:
            hidden = "  [hidden]" if it.hidden else ""
            echo(f"  {it.name:<22} {it.kind:<10} {it.points:>4g}  {it.title}{hidden}")
    echo(f"\ncatalogue: {root}")
    return EXIT_OK


@main.command("grade")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--exercise", "-e", help="Exercise name (default: from the file name).")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the result as JSON here (Gradescope results.json unless --format says otherwise).")
@click.option("--format", "json_format", type=click.Choice(["gradescope", "prairielearn"]), default="gradescope",
              show_default=True, help="Shape of the --json file: Gradescope's or PrairieLearn's results.json.")
@click.option("--junit", "junit_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write JUnit XML here, one test case per item (GitLab, Jenkins, GitHub reporters).")
@click.option("--fail-under", type=click.FloatRange(0, 100), metavar="PERCENT",
              help="Exit with status 1 when the score is below PERCENT of the maximum.")
@click.option("--classroom", is_flag=True,
              help="Also write GitHub Classroom's step result (base64 result=...) to $GITHUB_OUTPUT.")
@click.option("--html", "html_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the HTML feedback report here.")
@click.option("--show-solutions", is_flag=True, hidden=True,
              help="Deprecated: the same as --feedback full.")
@click.option("--feedback", type=click.Choice(["full", "hints", "score"]), default=None,
              help="What the reports show: full (everything, with the reference answers), hints (diagnoses and "
                   "authored feedback, never a reference expression or value table), score (verdicts and points "
                   "only). Default: everything but the reference answers.")
@click.option("--quiet", "-q", is_flag=True, help="Print only the total.")
@click.option("--timeout", type=click.FloatRange(0.1, 600), default=10.0, show_default=True,
              help="Wall-clock seconds allowed for each call of a learner function.")
@click.option("--sandbox", type=click.Choice(["auto", "bwrap", "rlimits"]), default="auto", show_default=True,
              help="Isolation for learner code: bwrap (bubblewrap: no network, read-only view without the "
                   "solutions), rlimits (resource limits only), auto (bwrap when it works here).")
@catalog_option
@click.option("--learner", default=None, metavar="ID",
              help="Per-learner variants: grade FILE on this learner's numbers (default: the file's "
                   "'# grader-variant:' line).")
@click.option("--secret-file", type=click.Path(dir_okay=False, path_type=Path), default=None, metavar="KEY",
              help="The key per-learner variants were released with (grader release --secret-file).")
def grade_command(**params: Any) -> int:
    """Grade one submission FILE and print a score table.

    Exit status 0 when graded, 1 below --fail-under, 2 on a usage error, 3 on an internal error.
    """
    from .commands import GradeOptions, grade
    from .render import terminal

    if params["show_solutions"]:
        echo("grader: --show-solutions is deprecated; use --feedback full", err=True)
    options = GradeOptions(**params)
    graded = grade(options, os.environ)
    result = graded.result
    if options.quiet:
        echo(f"{result.score:g}/{result.max_score:g}")
    else:
        echo(terminal.render(result, color=sys.stdout.isatty()))
        for name, path in graded.reports:
            echo(f"{name}: {path}")
    if graded.below:
        echo(f"grader: score {result.percent:.1f}% is below --fail-under {options.fail_under:g}%", err=True)
        return EXIT_BELOW
    return EXIT_OK


@main.command("batch")
@click.argument("submissions", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Output folder: gradebook.sqlite, grades.csv, grades.json, summary.html, reports/.")
@click.option("--jobs", "-j", type=click.IntRange(1, 256), default=None,
              help="Worker processes (default: the machine's cores).")
@click.option("--regrade", "regrade", is_flag=False, flag_value=REGRADE_ALL, multiple=True, metavar="[LEARNER]",
              help="Grade everything again, even what the gradebook already has; --regrade LEARNER (repeatable) "
                   "regrades only that learner.")
@click.option("--regrade-item", "regrade_items", multiple=True, metavar="EXERCISE.ITEM",
              help="Regrade only this item, for every learner (repeatable); the other items keep their grade.")
@click.option("--drop-overrides", is_flag=True,
              help="Undo the manual overrides of the submissions this run covers (kept by default).")
@click.option("--timeout", type=click.FloatRange(0.1, 600), default=10.0, show_default=True,
              help="Wall-clock seconds allowed for each call of a learner function.")
@catalog_option
@click.option("--scheduler", envvar="GRADER_SCHEDULER", default=None, metavar="tcp://HOST:8786",
              help="Grade on the Dask cluster of this scheduler instead of local processes (default: "
                   "$GRADER_SCHEDULER; needs pip install 'grader[cluster]').")
@click.option("--feedback", type=click.Choice(["full", "hints", "score"]), default=None,
              help="What the learners' HTML reports show (see grader grade --feedback).")
@click.option("--secret-file", type=click.Path(dir_okay=False, path_type=Path), default=None, metavar="KEY",
              help="The key per-learner variants were released with (grader release --secret-file).")
@click.option("--roster", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              metavar="roster.csv",
              help="Per-learner variants: grade each learner (folder name) on the numbers of the roster person it "
                   "matches (by id, email, alias or name); a learner matching nobody scores zero on them.")
def batch_command(**params: Any) -> int:
    """Grade every submission in the SUBMISSIONS folder; resumable (rerun the same command)."""
    from .commands import BatchCommand, batch
    from .render import terminal
    from .render.progress import Progress
    from .render.regrade import batch_override_lines, change_lines

    asked = params.pop("regrade")
    params |= {"regrade": REGRADE_ALL in asked, "regrade_learners": tuple(a for a in asked if a != REGRADE_ALL)}
    with Progress(sys.stderr) as progress:
        outcome = batch(BatchCommand(**params), progress, log=lambda m: echo(m, err=True))
    echo("\n".join(terminal.batch_summary(outcome)))
    run = outcome.run
    for line in change_lines(run.changes, run.overrides) + batch_override_lines(run.overrides, run.dropped):
        echo(line)
    # interrupted: what was recorded is kept; the same command resumes
    return EXIT_INTERRUPTED if outcome.run.interrupted else EXIT_OK


@main.command("release-notebooks")
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@click.option("--exercise", "-e", "names", multiple=True, help="Exercise to release (default: every code exercise).")
@click.option("--no-self-check", is_flag=True, help="Leave out the last cell that grades the notebook itself.")
@catalog_option
def release_notebooks_command(out: Path, names: tuple[str, ...], no_self_check: bool, catalog: Path | None) -> int:
    """Write each exercise template as a notebook (NAME.ipynb), generated from the same template files."""
    from .commands import release_catalogue

    for path in release_catalogue(out, names, catalog, self_check=not no_self_check):
        echo(f"{path}")
    return EXIT_OK


@main.command("gradescope-bundle")
@click.option("--exercise", "-e", required=True, help="Exercise the Gradescope assignment grades.")
@click.option("--output", "-o", "out", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("autograder.zip"), show_default=True, help="Where to write the zip.")
@click.option("--timeout", type=click.FloatRange(0.1, 600), default=10.0, show_default=True,
              help="Wall-clock seconds allowed for each call of a learner function.")
@catalog_option
@click.option("--secret-file", type=click.Path(dir_okay=False, path_type=Path), default=None, metavar="KEY",
              help="Per-learner variants: the key they were released with (it goes into the zip).")
def gradescope_bundle_command(**params: Any) -> int:
    """Build the Gradescope autograder zip (setup.sh, run_autograder) for one exercise."""
    from .commands import BundleCommand, gradescope_bundle

    bundle = gradescope_bundle(BundleCommand(**params))
    echo(f"{bundle.path}: Gradescope autograder for {bundle.exercise} "
         f"({len(bundle.members)} files, {bundle.wheel}); upload it as the assignment's autograder")
    return EXIT_OK


@main.command("gradescope-run", hidden=True)
@click.option("--root", type=click.Path(file_okay=False, path_type=Path), default=Path("/autograder"),
              show_default=True, help="Gradescope's autograder folder (submission/ in, results/ out).")
@click.option("--exercise", "-e", required=True)
@click.option("--timeout", type=click.FloatRange(0.1, 600), default=10.0, show_default=True)
@catalog_option
def gradescope_run_command(**params: Any) -> int:
    """Inside Gradescope's container: grade ROOT/submission into ROOT/results/results.json."""
    from .commands import AutogradeCommand, gradescope_run
    from .render import terminal

    done = gradescope_run(AutogradeCommand(**params))
    echo(terminal.render(done.result, color=False) if done.result else f"not graded: {done.problem}")
    echo(f"results: {done.results_path}")
    return EXIT_OK


@main.command("equiv", context_settings={"ignore_unknown_options": True})
@click.argument("a", required=False)
@click.argument("b", required=False)
@click.option("--var", "variables", multiple=True, metavar="NAME[:DOMAIN]",
              help="A variable and its domain: x, x:positive, n:integer, t:(0,1). Repeatable; "
                   "default: every name in A and B, real.")
@click.option("--json", "as_json", is_flag=True, help="Print the verdict as one JSON object.")
@click.option("--jsonl", "jsonl", type=click.File("r", encoding="utf-8"), default=None,
              help="Read one JSON object per line (a, b, vars, id, ...) and write one verdict per line.")
def equiv_command(**params: Any) -> int:
    """Check whether expressions A and B are equal as real functions.

    Exit 0 equivalent, 1 not equivalent, 4 undecided, 2 bad input (3 is an
    internal error of the grader). With --jsonl, exit 0 when every line was
    read and 2 when some line was malformed.
    """
    import json

    from .equiv_tool import EXIT_FOR, EquivOptions, check_options, run_jsonl
    from .render import equiv

    options = EquivOptions(**params)
    if options.jsonl is not None:
        bad = False
        for out in run_jsonl(options.jsonl):
            bad |= out["verdict"] == "error"
            echo(json.dumps(out, ensure_ascii=False))
        return EXIT_USAGE if bad else EXIT_OK
    report = check_options(options)
    echo(json.dumps(report.to_json(), ensure_ascii=False) if options.as_json else equiv.render(report))
    return EXIT_FOR[report.verdict.status]


# --- grades into the LMS (issue 16): grader override, grader export ---


@main.command("override")
@click.argument("out", type=click.Path(exists=True, path_type=Path), metavar="DIR")
@click.argument("learner", required=False)
@click.argument("target", required=False, metavar="EXERCISE[.ITEM]")
@click.argument("points", required=False, type=float)
@click.option("--reason", help="Why (kept with the grade and shown wherever it is used).")
@click.option("--by", help="Who made it (default: your user name).")
@click.option("--list", "list_all", is_flag=True, help="List every override, in force or undone.")
@click.option("--undo", type=int, metavar="ID", help="Undo override ID (it stays in the history).")
def override_command(**params: Any) -> int:
    """Record a manual grade for LEARNER's EXERCISE (its total) or EXERCISE.ITEM in DIR's gradebook.

    Exports and reports use it, marked; later grader batch runs keep it unless --drop-overrides.
    """
    from .commands import OverrideCommand, override
    from .render.regrade import override_line

    action, done = override(OverrideCommand(**params))
    if action == "list" and not done:
        echo("no manual overrides in this gradebook")
    for o in done:
        echo(override_line(o) if action == "list" else f"{action} {override_line(o)}")
    if action != "list":
        echo("grades.csv and the reports follow at the next grader batch run (nothing is regraded); "
             "grader export uses it now")
    return EXIT_OK


@main.command("export")
@click.option("--gradebook", "gradebook", required=True, type=click.Path(exists=True, path_type=Path),
              metavar="DIR", help="The --out folder of grader batch (or its gradebook.sqlite).")
@click.option("--canvas", type=click.Path(exists=True, dir_okay=False, path_type=Path), metavar="EXPORT.csv",
              help="The gradebook export downloaded from Canvas (Grades > Export > Export Entire Gradebook).")
@click.option("--moodle", is_flag=True, help="Write Moodle's CSV grade import, keyed by --key (needs --roster).")
@click.option("-o", "--output", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The file to upload; a side file NAME.matching.csv lists matches and unmatched learners.")
@click.option("--roster", type=click.Path(exists=True, dir_okay=False, path_type=Path), metavar="roster.csv",
              help="id, name, email, optional section and aliases: maps batch learner names to people.")
@click.option("--columns", type=click.Choice(["exercises", "total"]), default="total", show_default=True,
              help="One column per exercise, or one total.")
@click.option("--assignment", "assignments", multiple=True, metavar="NAME",
              help='The LMS column: "Homework 3 (1234)" for the total; EXERCISE="Name" per exercise.')
@click.option("--scale", type=click.Choice(["points", "percent"]), default="points", show_default=True,
              help="Points (our maximum must equal Canvas's points possible) or percentages.")
@click.option("--key", type=click.Choice(["email", "idnumber"]), default="email", show_default=True,
              help="Moodle: match people by the roster's email or id (Moodle's ID number).")
@click.option("--feedback", is_flag=True, help="Moodle: add a feedback column with a one-line summary per exercise.")
def export_command(**params: Any) -> int:
    """Write the batch's grades as a file Canvas or Moodle imports as is."""
    from .commands import export
    from .lms.export import ExportOptions
    from .render.lms import summary_lines

    params["assignments"] = tuple(params["assignments"])
    for line in summary_lines(export(ExportOptions(**params))):
        echo(line)
    return EXIT_OK


# --- the learner kit (issue 12): grader release, grader check ---


@main.command("release")
@click.option("--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder to write the learner kit into (templates and NAME.check.json bundles).")
@click.option("--exercise", "-e", "names", multiple=True, help="Exercise to release (repeatable; default: all).")
@click.option("--feedback", type=click.Choice(["full", "hints", "score"]), default="hints", show_default=True,
              help="What grader check shows learners: hints never shows a reference expression or value.")
@click.option("--reveal-quiz", is_flag=True,
              help="Store number and choice quiz answers in the kit so they can be checked (they are then "
                   "readable by learners); by default such questions are checked when learners submit.")
@click.option("--seed", type=int, default=None, help="Seed of the kit's sample points and cases (default: fresh).")
@catalog_option
@click.option("--roster", type=click.Path(dir_okay=False, path_type=Path), default=None, metavar="roster.csv",
              help="Per-learner variants: one kit per roster id (id, name, email columns), in OUT/ID/.")
@click.option("--secret-file", type=click.Path(dir_okay=False, path_type=Path), default=None, metavar="KEY",
              help="The key the learners' numbers are drawn with (keep it: grading needs the same one).")
def release_command(**params: Any) -> int:
    """Write the solution-free learner kit: templates plus one check bundle per exercise."""
    from .commands import ReleaseCommand, release_kit

    done: Any = release_kit(ReleaseCommand(**params))
    for path in done.files:
        echo(f"{path}")
    echo(f"learner kit: {done.out} ({len(done.files)} files, {done.bytes / 1024:.0f} KiB); no solutions inside")
    return EXIT_OK


@main.command("check")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--kit", "kit", type=click.Path(path_type=Path), default=None,
              help="The learner kit folder (default: $GRADER_KIT, the file's folder, the working directory).")
@click.option("--exercise", "-e", help="Exercise name (default: from the file name).")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the result as JSON here (Gradescope's results.json shape).")
@click.option("--junit", "junit_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write JUnit XML here, one test case per checked item.")
@click.option("--fail-under", type=click.FloatRange(0, 100), metavar="PERCENT",
              help="Exit with status 1 when the checked items score below PERCENT.")
@click.option("--classroom", is_flag=True, help="Also write GitHub Classroom's step result to $GITHUB_OUTPUT.")
@click.option("--html", "html_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the HTML feedback report here.")
@click.option("--quiet", "-q", is_flag=True, help="Print only the summary line.")
@click.option("--timeout", type=click.FloatRange(0.1, 600), default=10.0, show_default=True,
              help="Wall-clock seconds allowed for each call of a learner function.")
@click.option("--sandbox", type=click.Choice(["auto", "bwrap", "rlimits"]), default="auto", show_default=True,
              help="Isolation for your code, as in grader grade.")
def check_command(**params: Any) -> int:
    """Check your FILE against the learner kit, offline, as often as you like (public items only).

    Exit status 0 when checked, 1 below --fail-under, 2 on a usage error, 3 on an internal error.
    """
    from .commands import CheckOptions, check
    from .render import terminal

    options = CheckOptions(**params)
    graded, line = check(options, os.environ)
    if not options.quiet:
        echo(terminal.render(graded.result, color=sys.stdout.isatty()))
        for name, path in graded.reports:
            echo(f"{name}: {path}")
    echo(line)
    if graded.below:
        echo(f"grader: score {graded.result.percent:.1f}% is below --fail-under {options.fail_under:g}%", err=True)
        return EXIT_BELOW
    return EXIT_OK


if __name__ == "__main__":
    main()
