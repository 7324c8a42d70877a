"""End to end: the installed ``grader`` command on real files."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from .conftest import ROOT, SUBMISSIONS

GRADER = shutil.which("grader")


def run(*args: str, cwd=None) -> subprocess.CompletedProcess[str]:
    cmd = [GRADER, *args] if GRADER else [sys.executable, "-m", "grader.cli", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=cwd)


def test_list_shows_the_catalogue():
    out = run("list")
    assert out.returncode == 0
    assert "derivatives" in out.stdout and "d_sigmoid" in out.stdout and "symbolic" in out.stdout


def test_reference_gets_full_marks_and_valid_json(tmp_path):
    out = run("grade", str(ROOT / "solutions" / "derivatives.py"), "--json", str(tmp_path / "r.json"),
              "--html", str(tmp_path / "r.html"))
    assert out.returncode == 0, out.stderr
    doc = json.loads((tmp_path / "r.json").read_text())
    assert doc["score"] == sum(t["max_score"] for t in doc["tests"]) > 0
    assert all(t["status"] == "passed" for t in doc["tests"])
    assert set(doc) <= {"score", "execution_time", "output", "output_format", "visibility",
                        "stdout_visibility", "tests", "extra_data", "leaderboard"}
    assert "<html" in (tmp_path / "r.html").read_text()
    assert "Total: 15 / 15" in out.stdout


def test_template_scores_zero_with_exit_zero(tmp_path):
    sub = tmp_path / "derivatives.py"
    shutil.copy(ROOT / "exercises" / "derivatives.py", sub)
    out = run("grade", str(sub))
    assert out.returncode == 0
    assert out.stdout.count("not attempted yet") == 11
    assert "Total: 0 / 15" in out.stdout


def test_partly_wrong_file(tmp_path):
    sub = tmp_path / "alice_derivatives.py"
    shutil.copy(SUBMISSIONS / "partly_wrong_derivatives.py", sub)
    out = run("grade", str(sub), "--json", str(tmp_path / "r.json"))
    assert out.returncode == 0
    doc = json.loads((tmp_path / "r.json").read_text())
    statuses = {t["extra_data"]["item"]: t["status"] for t in doc["tests"]}
    assert statuses["d_exp"] == "passed" and statuses["d_tanh"] == "failed"
    assert 0 < doc["score"] < 15


def test_syntax_error_file_reports_line(tmp_path):
    out = run("grade", str(SUBMISSIONS / "syntax_error_derivatives.py"))
    assert out.returncode == 0
    assert "SyntaxError on line 8" in out.stdout


def test_raising_functions_are_graded_item_by_item():
    out = run("grade", str(SUBMISSIONS / "raises_derivatives.py"), "--timeout", "2")
    assert out.returncode == 0
    assert "ZeroDivisionError" in out.stdout and "NameError" in out.stdout
    assert "Total: 1 / 15" in out.stdout


@pytest.mark.parametrize("args,message", [
    (["grade", "missing.py"], "no such file"),
    (["grade", "{sub}", "--exercise", "nope"], "unknown exercise 'nope'"),
    (["grade", "{notes}"], "cannot tell which exercise"),
], ids=["missing-file", "unknown-exercise", "unknown-name"])
def test_usage_errors_exit_2_without_traceback(tmp_path, args, message):
    notes = tmp_path / "notes.py"
    notes.write_text("x = 1\n")
    args = [a.format(sub=SUBMISSIONS / "partly_wrong_derivatives.py", notes=notes) for a in args]
    out = run(*args)
    assert out.returncode == 2
    assert message in out.stderr and "Traceback" not in out.stderr


def test_binary_file_is_a_usage_error(tmp_path):
    bad = tmp_path / "derivatives.py"
    bad.write_bytes(b"\xff\xfe\x00garbage")
    out = run("grade", str(bad))
    assert out.returncode == 2 and "not UTF-8" in out.stderr
