"""README "Writing a gradient exercise", followed literally: its code blocks become a catalogue in
tmp_path; the reference earns full marks, the template zero, and the wrong answer its authored feedback."""

from __future__ import annotations

import re

import pytest

from grader.catalogue import load_catalogue
from grader.grading import grade_file

from .conftest import ROOT

BLOCK = re.compile(r"^```python\n# file: (\S+)\n(.*?)^```", re.S | re.M)


def _guide() -> dict[str, str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(r"^## Writing a gradient exercise\n(.*?)(?=^## )", text, re.S | re.M)
    assert match, "README needs a '## Writing a gradient exercise' section"
    files: dict[str, str] = {}
    for name, code in BLOCK.findall(match.group(1)):
        files[name] = files.get(name, "") + ("\n\n" if name in files else "") + code
    return files


@pytest.fixture(scope="module")
def guide(tmp_path_factory):
    root = tmp_path_factory.mktemp("guide")
    files = _guide()
    assert {"exercises/logistic.py", "solutions/logistic.py", "alice_logistic.py"} <= set(files)
    for name, code in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(code, encoding="utf-8")
    (exercise,) = load_catalogue(root)
    return root, exercise


def test_the_guides_reference_earns_full_marks_and_its_template_zero(guide, fast_limits):
    root, exercise = guide
    assert [i.name for i in exercise.items] == ["loss", "gradients"]
    full = grade_file(root / "solutions" / "logistic.py", exercise, fast_limits)
    assert [(i.item, i.feedback) for i in full.items if i.status != "passed"] == []
    assert full.score == full.max_score == 5
    blank = grade_file(root / "exercises" / "logistic.py", exercise, fast_limits)
    assert blank.score == 0


def test_the_guides_wrong_answer_gets_its_authored_feedback(guide, fast_limits):
    root, exercise = guide
    by = {i.item: i for i in grade_file(root / "alice_logistic.py", exercise, fast_limits).items}
    assert by["loss"].points == 2
    grads = by["gradients"]
    assert grads.points == 0 and grads.diagnosis == "sigma_missing"
    assert grads.feedback == "dW, db: the error is σ(Z) - Y: apply σ to Z before subtracting Y"
    assert any("disagree with finite differences of your own loss" in d for d in grads.details)
