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


def test_cli_format_prairielearn(tmp_path, tiny_catalogue):
    sub = tmp_path / "tiny.py"
    sub.write_text("from sympy import exp\n\ndef d_exp(x):\n    return exp(x)\n\ndef d_square(x):\n    return x\n")
    cmd = [GRADER] if GRADER else [sys.executable, "-m", "grader.cli"]
    out = subprocess.run([*cmd, "grade", str(sub), "--catalog", str(tiny_catalogue), "--json",
                          str(tmp_path / "results.json"), "--format", "prairielearn", "--quiet"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    doc = json.loads((tmp_path / "results.json").read_text())
    assert doc["gradable"] is True and doc["score"] == pytest.approx(1 / 3)
    assert [(t["name"], t["points"], t["max_points"]) for t in doc["tests"]] == [("d_exp", 1, 1), ("d_square", 0, 2)]
