"""--feedback full|hints|score on grade and batch; titles from the template, never the reference's docstring."""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
from pathlib import Path

import pytest

from grader.catalogue import find_catalogue, get_exercise

ROOT = Path(__file__).resolve().parent.parent


def _grader(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "grader.cli", *args], check=False, capture_output=True, text=True,
                          cwd=cwd, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=300)


def test_backprop_titles_come_from_the_template_not_the_reference_docstring(tmp_path):
    ex = get_exercise("backprop", find_catalogue(ROOT))
    reference_doc = inspect.getdoc(ex.item("backward").reference)
    assert "dZ2 = A2 - Y" in reference_doc  # the answer, which learners must not see as a title
    sub = tmp_path / "backprop.py"
    sub.write_text((ROOT / "solutions" / "backprop.py").read_text())
    done = _grader("grade", str(sub), "--sandbox", "rlimits", "--html", str(tmp_path / "r.html"))
    assert done.returncode == 0, done.stderr
    page = (tmp_path / "r.html").read_text()
    for text in (done.stdout, page):
        assert "dZ2 = A2 - Y" not in text and "dW2 = dZ2" not in text
    assert ex.item("backward").title.startswith("The gradients of J")  # the template's first docstring line
    assert "The gradients of J" in page


WRONG_EXP = "\n\ndef d_exp_neg(x):\n    return exp(-x)\n"


@pytest.fixture(scope="module")
def wrong(tmp_path_factory):
    path = tmp_path_factory.mktemp("sub") / "derivatives.py"
    path.write_text((ROOT / "solutions" / "derivatives.py").read_text() + WRONG_EXP)
    return path


@pytest.mark.parametrize("level", ["full", "hints", "score"])
def test_grade_feedback_levels(wrong, tmp_path, level):
    html = tmp_path / "r.html"
    done = _grader("grade", str(wrong), "--sandbox", "rlimits", "--feedback", level, "--html", str(html))
    assert done.returncode == 0, done.stderr
    page = html.read_text()
    authored = "your answer is e^(-x) itself"
    if level == "score":
        assert authored not in done.stdout and authored not in page
        assert "wrong" in done.stdout
    else:
        assert authored in done.stdout
    assert ("<dt>Reference</dt>" in page) == (level == "full")
    assert ("<code>-exp(-x)</code>" in page) == (level == "full")


def test_show_solutions_is_a_deprecated_alias_of_full(wrong, tmp_path):
    a = _grader("grade", str(wrong), "--sandbox", "rlimits", "--show-solutions", "--html", str(tmp_path / "a.html"))
    b = _grader("grade", str(wrong), "--sandbox", "rlimits", "--feedback", "full", "--html", str(tmp_path / "b.html"))
    assert a.returncode == b.returncode == 0
    assert "deprecated" in a.stderr and "--feedback full" in a.stderr
    for page in ((tmp_path / "a.html").read_text(), (tmp_path / "b.html").read_text()):
        assert "<dt>Reference</dt>" in page and "<code>-exp(-x)</code>" in page


def test_batch_feedback_score_reports_show_verdicts_only(wrong, tmp_path):
    subs = tmp_path / "subs" / "alice"
    subs.mkdir(parents=True)
    (subs / "derivatives.py").write_text(wrong.read_text())
    done = _grader("batch", str(tmp_path / "subs"), "--out", str(tmp_path / "out"), "-j", "1", "--feedback",
                   "score")
    assert done.returncode == 0, done.stderr
    reports = list((tmp_path / "out" / "reports").rglob("*.html"))
    assert reports
    page = reports[0].read_text()
    assert "your answer is e^(-x) itself" not in page and "wrong" in page
