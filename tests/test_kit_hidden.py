"""Hidden items: graded by ``grader grade``, absent from the kit beyond name and points, and ``grader check``
never says "all passed" while some remain."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _grader(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "grader.cli", *args], check=False, capture_output=True, text=True,
                          cwd=cwd, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=300)


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A course whose derivatives exercise has ``d_exp`` hidden (it prints a marker when called)."""
    root = tmp_path_factory.mktemp("course")
    (root / "exercises").mkdir()
    (root / "solutions").mkdir()
    shutil.copy(ROOT / "exercises" / "derivatives.py", root / "exercises")
    text = (ROOT / "solutions" / "derivatives.py").read_text()
    marked = text.replace("@symbolic(points=1, antiderivative=lambda x: exp(x), mistakes=[",
                          "@symbolic(points=1, hidden=True, antiderivative=lambda x: exp(x), mistakes=[", 1)
    assert marked != text
    (root / "solutions" / "derivatives.py").write_text(marked)
    kit = root / "kit"
    done = _grader("release", "--out", str(kit), "--seed", "7", "-e", "derivatives", "--catalog", str(root))
    assert done.returncode == 0, done.stderr
    return root, kit


def _submission(tmp_path, body=""):
    path = tmp_path / "derivatives.py"
    path.write_text((ROOT / "solutions" / "derivatives.py").read_text().replace(
        'def d_exp(x):\n    """d/dx e^x"""\n', 'def d_exp(x):\n    """d/dx e^x"""\n    print("HIDDEN-MARKER")\n', 1)
        + body)
    return path


def test_a_hidden_item_keeps_only_its_name_and_points_in_the_kit(course):
    _, kit = course
    bundle = json.loads((kit / "derivatives.check.json").read_text())
    record = next(r for r in bundle["items"] if r["name"] == "d_exp")
    assert record == {"name": "d_exp", "points": 1.0, "checked": False, "why": "hidden"}


def test_grade_grades_the_hidden_item_and_check_does_not_run_it(course, tmp_path):
    root, kit = course
    sub = _submission(tmp_path)
    graded = _grader("grade", str(sub), "--catalog", str(root), "--sandbox", "rlimits", "--json",
                     str(tmp_path / "g.json"))
    assert graded.returncode == 0, graded.stderr
    tests = {t["name"].split(":")[0].strip(): t for t in json.loads((tmp_path / "g.json").read_text())["tests"]}
    assert any("d_exp" in k and t["status"] == "passed" for k, t in tests.items())

    checked = _grader("check", str(sub), "--kit", str(kit), "--sandbox", "rlimits", "--json",
                      str(tmp_path / "c.json"))
    assert checked.returncode == 0, checked.stderr
    names = " ".join(t["name"] for t in json.loads((tmp_path / "c.json").read_text())["tests"])
    assert "d_exp" not in names.replace("d_exp_", "")
    assert "HIDDEN-MARKER" not in checked.stdout + (tmp_path / "c.json").read_text()
    last = checked.stdout.strip().splitlines()[-1]
    total = len(json.loads((kit / "derivatives.check.json").read_text())["items"])
    assert last.startswith(f"{total - 1} of {total} items checked: {total - 1} right, 0 wrong"), last
    assert "1 item is graded only after you submit" in last
    assert "all passed" not in checked.stdout.lower() and "all tests passed" not in checked.stdout.lower()


def test_check_never_says_all_passed_with_hidden_items_left(course, tmp_path):
    _, kit = course
    sub = _submission(tmp_path)
    for flag in ((), ("--quiet",)):
        done = _grader("check", str(sub), "--kit", str(kit), "--sandbox", "rlimits", *flag)
        assert done.returncode == 0, done.stderr
        assert "all passed" not in done.stdout.lower() and "graded only after you submit" in done.stdout


@pytest.mark.parametrize("level", ["hints", "score"])
def test_grade_for_learners_never_shows_printed_output_when_items_are_hidden(course, tmp_path, level):
    root, _ = course
    sub = _submission(tmp_path)
    done = _grader("grade", str(sub), "--catalog", str(root), "--sandbox", "rlimits", "--feedback", level,
                   "--html", str(tmp_path / "r.html"))
    assert done.returncode == 0, done.stderr
    assert "HIDDEN-MARKER" not in done.stdout + (tmp_path / "r.html").read_text()


def test_the_classroom_check_workflow_and_readme_use_real_check_options():
    """examples/github-classroom/check.yml: grader check with options the CLI has, wired to the reporter."""
    import re

    from grader.cli import main

    known = {opt for p in main.commands["check"].params for opt in p.opts}
    for path in (ROOT / "examples" / "github-classroom" / "check.yml", ROOT / "README.md"):
        lines = [ln for ln in path.read_text(encoding="utf-8").splitlines() if "grader check " in ln]
        used = {tok.strip("`,.") for ln in lines for tok in ln.split() if tok.startswith("--")}
        assert lines and used <= known, (path.name, used - known)
    text = (ROOT / "examples" / "github-classroom" / "check.yml").read_text(encoding="utf-8")
    step = re.search(r"- name: Check\n\s+id: (\w+)", text).group(1)
    assert f"runners: {step}" in text and f"{step.upper()}_RESULTS: \"${{{{ steps.{step}.outputs.result }}}}\"" in text
    assert "if: always()" in text.split("- name: Autograding Reporter", 1)[1].split("uses:", 1)[0]
    assert "pip install grader" in text and "--classroom" in text and "--kit kit" in text
