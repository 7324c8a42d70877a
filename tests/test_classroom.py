"""GitHub Classroom's version-1 step result, $GITHUB_OUTPUT, and the $GITHUB_STEP_SUMMARY markdown."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import replace

import pytest

from grader.render import classroom
from grader.results import ErrorInfo

from .conftest import ROOT, SUBMISSIONS

GRADER = shutil.which("grader")
TEST_KEYS = {"name", "status", "score", "message", "test_code", "filename", "line_no", "duration"}


def decode(line: str) -> dict:
    key, _, value = line.partition("=")
    assert key == "result"
    return json.loads(base64.b64decode(value, validate=True).decode("utf-8"))


def test_version_one_result_has_the_reporters_keys(ci_result):
    doc = classroom.to_dict(ci_result)
    assert set(doc) == {"version", "status", "max_score", "tests"}
    assert doc["version"] == 1 and doc["status"] == "fail" and doc["max_score"] == 6.0
    assert all(set(t) == TEST_KEYS for t in doc["tests"])
    assert [t["status"] for t in doc["tests"]] == ["pass", "fail", "error", "fail", "error"]
    assert sum(t["score"] for t in doc["tests"]) == ci_result.score == 1.5  # what the reporter adds up
    log = next(t for t in doc["tests"] if t["name"].startswith("d_log"))
    assert log["line_no"] == 7 and log["filename"] == "alice_calc.py"
    assert doc["tests"][0]["line_no"] == 0 and doc["tests"][0]["filename"] == ""


@pytest.mark.parametrize("change,status", [
    (lambda r: replace(r, items=tuple(replace(i, status="passed", points=i.max_points) for i in r.items)), "pass"),
    (lambda r: r, "fail"),
    (lambda r: replace(r, import_error=ErrorInfo("SyntaxError", "bad")), "error"),
], ids=["all-passed", "some-failed", "file-did-not-run"])
def test_overall_status(ci_result, change, status):
    assert classroom.to_dict(change(ci_result))["status"] == status


def test_github_output_line_round_trips_and_appends(ci_result, tmp_path):
    out = tmp_path / "github_output"
    out.write_text("earlier=1\n")
    classroom.write_output(out, ci_result)
    lines = out.read_text().splitlines()
    assert lines[0] == "earlier=1" and len(lines) == 2
    assert decode(lines[1]) == classroom.to_dict(ci_result)


def test_summary_markdown_escapes_learner_text(ci_result):
    md = classroom.summary_markdown(ci_result)
    assert md.startswith("## Calculus &lt;check&gt;: 1.5 / 6 points (25%)")
    rows = [line for line in md.splitlines() if line.startswith("| `")]
    assert len(rows) == 5 and all(row.count(" | ") == 3 for row in rows)  # no stray | breaks the table
    assert "<script>" not in md and "&lt;script&gt;" in md and "\\|" in md
    fix = md.split("### Fix these first")[1]
    assert fix.index("d\\_tanh") < fix.index("d\\_log")  # most points lost first
    assert "  - at x = 1 your answer is 1.42" in fix


def test_write_github_only_writes_what_the_environment_asks_for(ci_result, tmp_path):
    assert classroom.write_github(ci_result, {}, classroom=False) == []
    summary = tmp_path / "summary.md"
    assert classroom.write_github(ci_result, {"GITHUB_STEP_SUMMARY": str(summary)}, False) == [summary]
    assert "| Item | Result | Points | Feedback |" in summary.read_text()
    with pytest.raises(ValueError, match="GITHUB_OUTPUT"):
        classroom.write_github(ci_result, {}, classroom=True)


def _run(args, env_extra, cwd):
    env = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}
    env.update(env_extra)
    cmd = [GRADER] if GRADER else [sys.executable, "-m", "grader.cli"]
    return subprocess.run([*cmd, *args], capture_output=True, text=True, timeout=120, env=env, cwd=cwd)


def test_cli_classroom_end_to_end(tmp_path, tiny_catalogue):
    sub = tmp_path / "alice_tiny.py"
    sub.write_text("from sympy import exp\n\ndef d_exp(x):\n    return exp(x)\n\ndef d_square(x):\n    return x\n")
    gh_out, gh_sum = tmp_path / "out", tmp_path / "summary.md"
    out = _run(["grade", str(sub), "--catalog", str(tiny_catalogue), "--classroom", "--quiet"],
               {"GITHUB_OUTPUT": str(gh_out), "GITHUB_STEP_SUMMARY": str(gh_sum)}, tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "1/3"
    (line,) = gh_out.read_text().splitlines()
    doc = decode(line)
    assert doc["max_score"] == 3 and doc["status"] == "fail"
    assert [(t["name"], t["status"], t["score"]) for t in doc["tests"]] == [
        ("d_exp", "pass", 1), ("d_square", "fail", 0)]  # titles come from the template (it has none here)
    assert "1 / 3 points" in gh_sum.read_text()


def test_cli_classroom_without_github_output_is_a_usage_error():
    from click.testing import CliRunner

    from grader.cli import main

    out = CliRunner().invoke(main, ["grade", str(SUBMISSIONS / "partly_wrong_derivatives.py"), "--classroom"],
                             env={"GITHUB_OUTPUT": None})
    assert out.exit_code == 2
    assert "GITHUB_OUTPUT" in out.output and "Traceback" not in out.output


EXAMPLES = [ROOT / "examples" / "github-classroom" / ".github" / "workflows" / "classroom.yml",
            ROOT / "examples" / "ci" / "github-actions.yml", ROOT / "examples" / "ci" / "gitlab-ci.yml",
            ROOT / "README.md"]


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_commands_use_real_options(path):
    """Every `grader grade ...` line in the examples and the README names options the CLI has."""
    from grader.cli import main

    known = {opt for p in main.commands["grade"].params for opt in p.opts}
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if "grader grade " in line]
    assert lines
    used = {tok for line in lines for tok in line.split() if tok.startswith("--")}
    assert used and used <= known, used - known


def test_classroom_workflow_wires_the_step_to_the_reporter():
    text = EXAMPLES[0].read_text(encoding="utf-8")
    step_id = re.search(r"- name: Grade\n\s+id: (\w+)", text).group(1)
    assert f"runners: {step_id}" in text
    assert f'{step_id.upper()}_RESULTS: "${{{{ steps.{step_id}.outputs.result }}}}"' in text
    assert "--classroom" in text and "classroom-resources/autograding-grading-reporter@v1" in text
    reporter = text.split("- name: Autograding Reporter", 1)[1]
    assert "if: always()" in reporter.split("uses:", 1)[0]  # runs after a failed Grade step too


def test_cli_missing_file_still_reports_to_classroom(tmp_path):
    from click.testing import CliRunner

    from grader.cli import main

    gh_out, gh_sum = tmp_path / "out", tmp_path / "summary.md"
    out = CliRunner().invoke(main, ["grade", str(tmp_path / "derivatives.py"), "--exercise", "derivatives",
                                    "--classroom"],
                             env={"GITHUB_OUTPUT": str(gh_out), "GITHUB_STEP_SUMMARY": str(gh_sum)})
    assert out.exit_code == 2 and "no such file" in out.output
    doc = decode(gh_out.read_text().strip())
    assert doc["status"] == "error" and doc["max_score"] == 15
    assert [(t["status"], t["score"]) for t in doc["tests"]] == [("error", 0)]
    assert "no such file" in doc["tests"][0]["message"] and "no such file" in gh_sum.read_text()
