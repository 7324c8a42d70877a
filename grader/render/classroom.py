"""GitHub Classroom and GitHub Actions: the grader step's ``result`` output and the job summary.

GitHub Classroom's ``autograding-grading-reporter`` action reads, for each
runner step listed in its ``runners`` input, an environment variable
``<STEP_ID>_RESULTS`` holding that step's ``result`` output: the version-1
JSON below, base64-encoded::

    {"version": 1, "status": "pass" | "fail" | "error", "max_score": 15,
     "tests": [{"name": ..., "status": "pass" | "fail" | "error", "score": 1,
                "message": ..., "test_code": "", "filename": "", "line_no": 0,
                "duration": 0}]}

The reporter adds the tests' ``score`` over all runners, posts the total to
Classroom, and fails the job when a runner's ``status`` is ``fail`` or
``error``. We write ``result=<base64>`` to the file named by ``$GITHUB_OUTPUT``.

``summary_markdown`` is the page GitHub shows for the job when it is appended
to ``$GITHUB_STEP_SUMMARY``: the total, a score table and the feedback on the
items that lost the most points. Learner text is escaped, never rendered.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from ..results import ExerciseResult, ItemResult
from .gradescope import test_name, test_output
from .text import headline, truncate, visible, visible_data

ClassroomStatus = Literal["pass", "fail", "error"]
MAX_MESSAGE_CHARS = 2_000
MAX_CELL_CHARS = 200
TOP_FEEDBACK = 5
NO_OUTPUT = ("--classroom writes the step result to $GITHUB_OUTPUT, which is not set (GitHub Actions "
             "sets it; to try it locally: GITHUB_OUTPUT=out.txt grader grade ... --classroom)")


def _status(item: ItemResult) -> ClassroomStatus:
    if item.status == "passed":
        return "pass"
    return "error" if item.status in ("error", "undecided") and item.points == 0 else "fail"


def _line_no(item: ItemResult) -> int:
    return item.error.frames[-1].lineno if item.error and item.error.frames else 0


def to_dict(result: ExerciseResult) -> dict[str, Any]:
    """The version-1 result the Classroom reporter decodes (controls in learner text made visible)."""
    if result.import_error:
        overall: ClassroomStatus = "error"
    elif all(i.status == "passed" for i in result.items):
        overall = "pass"
    else:
        overall = "fail"
    share = result.seconds / len(result.items) if result.items else 0.0
    return visible_data({
        "version": 1,
        "status": overall,
        "max_score": result.max_score,
        "tests": [{
            "name": test_name(item),
            "status": _status(item),
            "score": item.points,
            "message": truncate(test_output(item), MAX_MESSAGE_CHARS),
            "test_code": "",
            "filename": result.submission if item.error else "",
            "line_no": _line_no(item),
            "duration": round(share * 1000),
        } for item in result.items],
    })


def encoded(result: ExerciseResult) -> str:
    """The base64 text of the version-1 JSON (one line, as GITHUB_OUTPUT needs)."""
    raw = json.dumps(to_dict(result), ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return base64.b64encode(raw).decode("ascii")


def write_output(path: Path, result: ExerciseResult) -> None:
    """Append ``result=<base64>`` to the step-output file GitHub Actions gave us."""
    with path.open("a", encoding="utf-8") as fh:
        fh.write(f"result={encoded(result)}\n")


_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~$])")


def md_text(text: str, limit: int = MAX_CELL_CHARS) -> str:
    """Learner or feedback text made inert for a markdown table cell: one line, controls visible,
    HTML and markdown escaped."""
    one = " ".join(truncate(visible(text), limit).split())
    one = one.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_SPECIAL.sub(r"\\\1", one)


_MARK = {"passed": "✅ pass", "failed": "❌ fail", "error": "💥 error", "undecided": "❔ check"}


def summary_markdown(result: ExerciseResult) -> str:
    """The job summary: total, score table, then feedback on the items that lost the most points."""
    lines = [f"## {md_text(headline(result), 10 * MAX_CELL_CHARS)}", ""]
    if result.import_error:
        lines += [f"**Your file could not be run:** {md_text(result.import_error.one_line())}", ""]
    lines += ["| Item | Result | Points | Feedback |", "| --- | --- | ---: | --- |"]
    for it in result.items:
        lines.append(f"| `{it.item}` {md_text(it.title, 80)} | {_MARK[it.status]} | "
                     f"{it.points:g}/{it.max_points:g} | {md_text(it.feedback)} |")
    worst = sorted((i for i in result.items if i.lost > 0), key=lambda i: -i.lost)[:TOP_FEEDBACK]
    if worst:
        lines += ["", "### Fix these first", ""]
        for it in worst:
            lines.append(f"- **{md_text(it.item)}** (−{it.lost:g}): {md_text(it.feedback, 400)}")
            lines += [f"  - {md_text(d, 400)}" for d in it.details[:3]]
    return "\n".join(lines) + "\n"


def append_summary(path: Path, result: ExerciseResult) -> None:
    """Append the markdown summary to the file named by ``$GITHUB_STEP_SUMMARY``."""
    with path.open("a", encoding="utf-8") as fh:
        fh.write(summary_markdown(result))


def write_github(result: ExerciseResult, environ: Mapping[str, str], classroom: bool) -> list[Path]:
    """Write what GitHub Actions reads: the job summary whenever ``$GITHUB_STEP_SUMMARY`` is set,
    and with ``classroom`` the reporter's ``result`` in ``$GITHUB_OUTPUT``. Returns the files written."""
    written: list[Path] = []
    if environ.get("GITHUB_STEP_SUMMARY"):
        path = Path(environ["GITHUB_STEP_SUMMARY"])
        append_summary(path, result)
        written.append(path)
    if classroom:
        if not environ.get("GITHUB_OUTPUT"):
            raise ValueError(NO_OUTPUT)
        path = Path(environ["GITHUB_OUTPUT"])
        write_output(path, result)
        written.append(path)
    return written


def problem_dict(message: str, max_score: float) -> dict[str, Any]:
    """The version-1 result for a submission that could not be graded at all (missing file, not UTF-8)."""
    test = {"name": "submission", "status": "error", "score": 0, "message": truncate(message, MAX_MESSAGE_CHARS),
            "test_code": "", "filename": "", "line_no": 0, "duration": 0}
    return visible_data({"version": 1, "status": "error", "max_score": max_score, "tests": [test]})


def write_github_problem(message: str, max_score: float, environ: Mapping[str, str], classroom: bool) -> None:
    """Like :func:`write_github` for a submission that could not be graded: say why, score 0.
    Best effort: the command is failing anyway, so an unwritable file is not reported twice."""
    try:
        if environ.get("GITHUB_STEP_SUMMARY"):
            with Path(environ["GITHUB_STEP_SUMMARY"]).open("a", encoding="utf-8") as fh:
                fh.write(f"## Not graded\n\n{md_text(message, 1000)}\n")
        if classroom and environ.get("GITHUB_OUTPUT"):
            raw = json.dumps(problem_dict(message, max_score), ensure_ascii=False, separators=(",", ":"))
            with Path(environ["GITHUB_OUTPUT"]).open("a", encoding="utf-8") as fh:
                fh.write(f"result={base64.b64encode(raw.encode('utf-8')).decode('ascii')}\n")
    except OSError:
        pass
