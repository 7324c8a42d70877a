"""The terminal view: one line per item (verdict, points, feedback) and the total."""

from __future__ import annotations

import shutil
from typing import TYPE_CHECKING

import click

from ..results import ExerciseResult
from .text import printable, score

if TYPE_CHECKING:
    from ..batch import BatchOutcome

_SANDBOX = {"bwrap": "bwrap (no network, read-only view without the solutions)",
            "rlimits": "rlimits only (no filesystem or network isolation)"}
_MARK = {"passed": ("PASS", "green"), "failed": ("FAIL", "red"), "error": ("ERROR", "red"),
         "undecided": ("CHECK", "yellow")}


def render(result: ExerciseResult, color: bool | None = None) -> str:
    """The score table as text (ANSI colours when ``color``)."""
    width = max(60, min(shutil.get_terminal_size((100, 20)).columns, 160))
    name_w = max([len(i.item) for i in result.items] + [4])
    # learner-made text (file names, exception messages in feedback) never reaches the terminal raw
    title = click.style(f"{result.title} ({result.exercise})", bold=True)
    lines = [f"{title}  {printable(result.submission)}", ""]
    if result.import_error:
        why = printable(result.import_error.one_line())
        lines.append(click.style("Your file could not be run: ", fg="red") + why)
        lines.append("")
    for it in result.items:
        label, colour = _MARK[it.status]
        pts = f"{it.points:g}/{it.max_points:g}"
        head = f"{it.item:<{name_w}}  {click.style(f'{label:<5}', fg=colour)}  {pts:>7}  "
        room = max(width - name_w - 18, 30)
        fb = printable(it.feedback, room)
        lines.append(head + fb)
    lines.append("")
    total = f"Total: {score(result.score, result.max_score)} ({result.percent:.0f}%)"
    lines.append(click.style(total, bold=True))
    if result.sandbox_mode:
        lines.append(click.style(f"Sandbox: {_SANDBOX.get(result.sandbox_mode, result.sandbox_mode)}", dim=True))
    out = "\n".join(lines)
    return out if color else click.unstyle(out)


def batch_summary(outcome: BatchOutcome) -> list[str]:
    """What ``grader batch`` prints at the end: counts, problems, whether it was interrupted, files written."""
    run = outcome.run
    lines = [f"graded {run.graded}, already graded {run.skipped} (skipped), in {run.seconds:.1f} s"]
    lines += [f"problem: {printable(p, 200)}" for p in run.problems]
    if run.interrupted:
        lines.append("interrupted: everything graded so far is in the gradebook; run the same command to resume")
    lines += [f"wrote {path}" for path in outcome.outputs]
    return lines
