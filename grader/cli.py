"""The ``grader`` command: options in, one library call, a renderer, an exit status.

Exit statuses (decided here and nowhere else, in ``guarded``):
  0  grading completed (and the score is at or above ``--fail-under``, if given)
  1  the score, as a percentage of the maximum, is below ``--fail-under``
  2  usage error: unknown exercise, unreadable file, bad option
  3  internal error of the grader
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from . import __version__
from .errors import GraderError, UsageError

EXIT_OK, EXIT_BELOW, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3


class BelowFailUnder(Exception):
    """The graded score is below ``--fail-under``: not an error, exit status 1."""


def _fail(message: str, code: int) -> None:
    click.echo(f"grader: error: {message}", err=True)
    sys.exit(code)


def guarded(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn the grader's own errors into one line on stderr and the right exit status."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except BelowFailUnder as exc:
            click.echo(f"grader: {exc}", err=True)
            sys.exit(EXIT_BELOW)
        except UsageError as exc:
            _fail(str(exc), EXIT_USAGE)
        except GraderError as exc:
            _fail(str(exc), EXIT_INTERNAL)
        except (click.exceptions.Exit, click.ClickException, SystemExit, KeyboardInterrupt):
            raise
        except Exception as exc:  # an internal bug: say so briefly, exit 3
            _fail(f"internal error: {type(exc).__name__}: {exc}", EXIT_INTERNAL)

    wrapper.__name__ = func.__name__
    wrapper.__doc__ = func.__doc__
    return wrapper


def _write(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None


catalog_option = click.option(
    "--catalog", "catalog", type=click.Path(file_okay=False, path_type=Path), default=None,
    help="Catalogue directory with exercises/ and solutions/ (default: $GRADER_CATALOG, the source "
         "checkout, or the copy installed with grader).")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="grader")
def main() -> None:
    """Auto-grader for the calculus behind deep learning."""


@main.command("list")
@catalog_option
@guarded
def list_command(catalog: Path | None) -> None:
    """Print the catalogue: exercises, their items, kinds and points."""
    from .catalogue import find_catalogue, load_catalogue

    root = find_catalogue(catalog)
    for ex in load_catalogue(root):
        click.echo(click.style(f"{ex.name}", bold=True) + f"  {ex.title}  ({ex.max_points:g} points, "
                   f"hand in {ex.name}{ex.submission_suffix})")
        for it in ex.items:
            hidden = "  [hidden]" if it.hidden else ""
            click.echo(f"  {it.name:<22} {it.kind:<10} {it.points:>4g}  {it.title}{hidden}")
    click.echo(f"\ncatalogue: {root}")


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
@click.option("--show-solutions", is_flag=True, help="Show the reference answers in the HTML report.")
@click.option("--quiet", "-q", is_flag=True, help="Print only the total.")
@click.option("--timeout", type=click.FloatRange(0.1, 600), default=10.0, show_default=True,
              help="Wall-clock seconds allowed for each call of a learner function.")
@click.option("--sandbox", type=click.Choice(["auto", "bwrap", "rlimits"]), default="auto", show_default=True,
              help="Isolation for learner code: bwrap (bubblewrap: no network, read-only view without the "
                   "solutions), rlimits (resource limits only), auto (bwrap when it works here).")
@catalog_option
@guarded
def grade_command(file: Path, exercise: str | None, json_path: Path | None, json_format: str,
                  junit_path: Path | None, fail_under: float | None, classroom: bool, html_path: Path | None,
                  show_solutions: bool, quiet: bool, timeout: float, sandbox: str, catalog: Path | None) -> None:
    """Grade one submission FILE and print a score table.

    Exit status 0 when graded, 1 below --fail-under, 2 on a usage error, 3 on an internal error.
    """
    from .catalogue import exercise_for_file, find_catalogue, get_exercise
    from .grading import grade_file
    from .render import classroom as classroom_render
    from .render import gradescope, html, junit, prairielearn, terminal
    from .runtypes import Limits

    if classroom and not os.environ.get("GITHUB_OUTPUT"):
        raise UsageError(classroom_render.NO_OUTPUT)
    ex = None
    try:
        root = find_catalogue(catalog)
        ex = get_exercise(exercise, root) if exercise else None
        if not file.exists():
            raise UsageError(f"no such file: {file}")
        ex = ex or exercise_for_file(file, root)
        result = grade_file(file, ex, Limits(wall_seconds=timeout, sandbox=sandbox))  # reads and checks the file
    except UsageError as exc:  # in GitHub Actions, the learner reads why in the run's summary and in Classroom
        classroom_render.write_github_problem(str(exc), ex.max_points if ex else 0.0, os.environ, classroom)
        raise
    if quiet:
        click.echo(f"{result.score:g}/{result.max_score:g}")
    else:
        click.echo(terminal.render(result, color=sys.stdout.isatty()))
    if json_path:
        _write(json_path, (prairielearn if json_format == "prairielearn" else gradescope).render(result))
        if not quiet:
            click.echo(f"JSON result: {json_path}")
    if junit_path:
        _write(junit_path, junit.render(result))
        if not quiet:
            click.echo(f"JUnit XML: {junit_path}")
    try:
        classroom_render.write_github(result, os.environ, classroom)
    except OSError as exc:
        raise UsageError(f"cannot write GitHub Actions output {exc.filename}: {exc.strerror or exc}") from None
    if html_path:
        _write(html_path, html.render(result, show_solutions=show_solutions))
        if not quiet:
            click.echo(f"HTML report: {html_path}")
    if fail_under is not None and result.percent < fail_under:
        raise BelowFailUnder(f"score {result.percent:.1f}% is below --fail-under {fail_under:g}%")


@main.command("batch")
@click.argument("submissions", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Output folder: gradebook.sqlite, grades.csv, grades.json, summary.html, reports/.")
@click.option("--jobs", "-j", type=click.IntRange(1, 256), default=None,
              help="Worker processes (default: the machine's cores).")
@click.option("--regrade", is_flag=True, help="Grade everything again, even what the gradebook already has.")
@click.option("--timeout", type=click.FloatRange(0.1, 600), default=10.0, show_default=True,
              help="Wall-clock seconds allowed for each call of a learner function.")
@catalog_option
@guarded
def batch_command(submissions: Path, out: Path, jobs: int | None, regrade: bool, timeout: float,
                  catalog: Path | None) -> None:
    """Grade every submission in the SUBMISSIONS folder; resumable (rerun the same command)."""
    from .batch import BatchOptions, default_jobs, run_batch, summary_lines
    from .render.progress import Progress
    from .runtypes import Limits

    options = BatchOptions(out, jobs or default_jobs(), regrade, Limits(wall_seconds=timeout))
    progress = Progress()
    try:
        outcome = run_batch(submissions, catalog, options, progress, log=lambda m: click.echo(m, err=True))
    finally:
        progress.close()
    click.echo("\n".join(summary_lines(outcome)))
    if outcome.run.interrupted:
        sys.exit(130)  # interrupted: what was recorded is kept; the same command resumes


@main.command("gradescope-bundle")
@click.option("--exercise", "-e", required=True, help="Exercise the Gradescope assignment grades.")
@click.option("--output", "-o", "out", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("autograder.zip"), show_default=True, help="Where to write the zip.")
@click.option("--timeout", type=click.FloatRange(0.1, 600), default=10.0, show_default=True,
              help="Wall-clock seconds allowed for each call of a learner function.")
@catalog_option
@guarded
def gradescope_bundle_command(exercise: str, out: Path, timeout: float, catalog: Path | None) -> None:
    """Build the Gradescope autograder zip (setup.sh, run_autograder) for one exercise."""
    from .bundle import build
    from .catalogue import find_catalogue, get_exercise

    bundle = build(get_exercise(exercise, find_catalogue(catalog)), out, timeout)
    click.echo(f"{bundle.path}: Gradescope autograder for {bundle.exercise} "
               f"({len(bundle.members)} files, {bundle.wheel}); upload it as the assignment's autograder")


@main.command("gradescope-run", hidden=True)
@click.option("--root", type=click.Path(file_okay=False, path_type=Path), default=Path("/autograder"),
              show_default=True, help="Gradescope's autograder folder (submission/ in, results/ out).")
@click.option("--exercise", "-e", required=True)
@click.option("--timeout", type=click.FloatRange(0.1, 600), default=10.0, show_default=True)
@catalog_option
@guarded
def gradescope_run_command(root: Path, exercise: str, timeout: float, catalog: Path | None) -> None:
    """Inside Gradescope's container: grade ROOT/submission into ROOT/results/results.json."""
    from .bundle import autograde
    from .catalogue import find_catalogue, get_exercise
    from .render import terminal
    from .runtypes import Limits

    done = autograde(root, get_exercise(exercise, find_catalogue(catalog)), Limits(wall_seconds=timeout))
    click.echo(terminal.render(done.result, color=False) if done.result else f"not graded: {done.problem}")
    click.echo(f"results: {done.results_path}")


@main.command("equiv", context_settings={"ignore_unknown_options": True})
@click.argument("a", required=False)
@click.argument("b", required=False)
@click.option("--var", "variables", multiple=True, metavar="NAME[:DOMAIN]",
              help="A variable and its domain: x, x:positive, n:integer, t:(0,1). Repeatable; "
                   "default: every name in A and B, real.")
@click.option("--json", "as_json", is_flag=True, help="Print the verdict as one JSON object.")
@click.option("--jsonl", "jsonl", type=click.File("r", encoding="utf-8"), default=None,
              help="Read one JSON object per line (a, b, vars, id, ...) and write one verdict per line.")
@guarded
def equiv_command(a: str | None, b: str | None, variables: tuple[str, ...], as_json: bool,
                  jsonl: Any) -> None:
    """Check whether expressions A and B are equal as real functions.

    Exit 0 equivalent, 1 not equivalent, 3 undecided, 2 bad input. With --jsonl,
    exit 0 when every line was read and 2 when some line was malformed.
    """
    import json

    from .equiv_tool import EXIT_FOR, check_pair, render_text, run_jsonl
    from .parsing import ParseError

    if jsonl is not None:
        if a is not None or b is not None:
            raise UsageError("give either A and B or --jsonl FILE, not both")
        bad = False
        for out in run_jsonl(jsonl):
            bad |= out["verdict"] == "error"
            click.echo(json.dumps(out, ensure_ascii=False))
        sys.exit(EXIT_USAGE if bad else EXIT_OK)
    if a is None or b is None:
        raise UsageError("give two expressions A and B (or --jsonl FILE)")
    try:
        report = check_pair(a, b, variables)
    except ParseError as exc:
        raise UsageError(f"cannot read {'A' if exc.text == a else 'B'}: {exc}") from None
    click.echo(json.dumps(report.to_json(), ensure_ascii=False) if as_json else render_text(report))
    sys.exit(EXIT_FOR[report.verdict.status])


if __name__ == "__main__":
    main()
