"""PrairieLearn's external-grader results.json (``grader grade --json PATH --format prairielearn``)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import replace

import pytest

from grader.render import prairielearn
from grader.results import ErrorInfo

from .conftest import SUBMISSIONS

GRADER = shutil.which("grader")


def test_score_is_a_fraction_and_tests_have_points(ci_result):
    doc = json.loads(prairielearn.render(ci_result))
    assert doc["gradable"] is True and doc["score"] == pytest.approx(1.5 / 6)
    assert [t["name"] for t in doc["tests"]] == [i.item for i in ci_result.items]
    assert all(set(t) == {"name", "description", "points", "max_points", "message", "output"} for t in doc["tests"])
    assert [(t["points"], t["max_points"]) for t in doc["tests"]] == [(1, 1), (0, 2), (0, 1), (0.5, 1), (0, 1)]
    assert doc["tests"][1]["message"] == "tanh' = 1 - tanh², with a minus"
    assert "Your answer: 1 + tanh(x)**2" in doc["tests"][1]["output"]
    assert doc["output"] == "debug print\n"


def test_syntax_error_is_not_gradable(ci_result):
    doc = prairielearn.to_dict(replace(ci_result, import_error=ErrorInfo("SyntaxError", "invalid syntax")))
    assert doc["gradable"] is False and "score" not in doc
    assert doc["format_errors"] == ["Your file could not be read: SyntaxError: invalid syntax"]


def test_import_time_exception_is_graded_zero_not_invalid(ci_result):
    zero = tuple(replace(i, points=0.0, status="error") for i in ci_result.items)
    doc = prairielearn.to_dict(replace(ci_result, items=zero, import_error=ErrorInfo("NameError", "x")))
    assert doc["gradable"] is True and doc["score"] == 0.0
    assert "Your file could not be run: NameError: x" in doc["message"]


def test_cli_format_prairielearn(tmp_path):
    cmd = [GRADER] if GRADER else [sys.executable, "-m", "grader.cli"]
    out = subprocess.run([*cmd, "grade", str(SUBMISSIONS / "partly_wrong_derivatives.py"), "--exercise",
                          "derivatives", "--json", str(tmp_path / "results.json"), "--format", "prairielearn",
                          "--quiet"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    doc = json.loads((tmp_path / "results.json").read_text())
    score, max_score = (float(x) for x in out.stdout.strip().split("/"))
    assert 0 < doc["score"] < 1 and doc["score"] == pytest.approx(score / max_score)
    assert sum(t["max_points"] for t in doc["tests"]) == max_score
