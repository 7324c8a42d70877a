"""The learner kit on stage items: the self-check judges them from stored arrays and never says "right"
where the instructor's grade says "wrong" (reference, template, every authored mistake, the backprop corpus)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from grader.catalogue import find_catalogue, load_catalogue
from grader.checks import checker_for, kind_of
from grader.grading import grade_file
from grader.kit import bundle_for, check_file

from .test_backprop import CORPUS, run_functions, run_in_process

ROOT = Path(__file__).resolve().parent.parent
EXERCISES = {ex.name: ex for ex in load_catalogue(find_catalogue(ROOT)) if any(i.kind == "stage" for i in ex.items)}
SEED = 4242


@pytest.fixture(scope="module")
def bundles():
    return {name: json.loads(json.dumps(bundle_for(ex, SEED))) for name, ex in EXERCISES.items()}


def _agree(graded, checked, label):
    """The check's verdict is the grade's, or "undecided" (said so) where values alone cannot decide."""
    assert checked.status in (graded.status, "undecided"), (label, graded.status, graded.feedback, checked.feedback)
    if checked.status == "undecided":
        assert "instructor's grading" in checked.feedback, label
    if checked.status == graded.status == "failed":
        assert checked.points <= graded.points + 1e-9 or checked.points == pytest.approx(graded.points), label


def _variants(ex):
    """(label, namespace): the reference of every stage, then each authored mistake in place of its stage."""
    base = {i.name: i.reference for i in ex.items}
    yield "reference", base
    for item in ex.items:
        for m in item.mistakes:
            if callable(m.answer):
                yield f"{item.name}:{m.tag}", {**base, item.name: m.answer}


def test_stage_exercises_are_checked_in_the_kit(bundles):
    assert set(EXERCISES) >= {"backprop", "regression", "softmax", "tanh_network"}
    for bundle in bundles.values():
        assert all(r["checked"] for r in bundle["items"] if r.get("kind") == "stage")


@pytest.mark.parametrize("name", sorted(EXERCISES))
def test_check_agrees_with_grade_on_references_and_authored_mistakes(name, bundles):
    ex = EXERCISES[name]
    records = {r["name"]: r for r in bundles[name]["items"]}
    adapter = kind_of("stage").kit
    stand_ins = {i.name: adapter.stand_in(records[i.name]) for i in ex.items}
    checker = checker_for("stage")
    grade_calls = [c for i in ex.items for c in checker.calls(i)]
    check_calls = [c for s in stand_ins.values() for c in checker.calls(s)]
    decided = undecided = 0
    for label, functions in _variants(ex):
        graded_run = run_functions(functions, grade_calls)
        checked_run = run_functions(functions, check_calls)
        for item in ex.items:
            graded = checker.check(item, graded_run, name)
            checked = adapter.check(records[item.name], checked_run, name)
            _agree(graded, checked, f"{label} / {item.name}")
            if label == "reference":
                assert checked.status == "passed", checked.feedback
            if checked.status == "undecided":
                undecided += 1
            else:
                decided += 1
    assert decided > 3 * undecided  # the kit decides most verdicts by itself


@pytest.mark.parametrize("path", sorted(CORPUS.glob("*.py")), ids=lambda p: p.stem)
def test_check_agrees_with_grade_on_the_backprop_corpus(path, bundles):
    ex = EXERCISES["backprop"]
    graded = grade_file(path, ex, runner=run_in_process)
    checked = check_file(path, bundles["backprop"], runner=run_in_process).result
    for g, c in zip(graded.items, checked.items):
        _agree(g, c, f"{path.stem} / {g.item}")


def test_template_is_not_attempted_on_every_stage(bundles, tmp_path):
    for name, ex in EXERCISES.items():
        done = check_file(ex.template, bundles[name], runner=run_in_process)
        assert done.checked == len(ex.items) and done.right == 0
        assert all(r.feedback.startswith("not attempted yet") for r in done.result.items)


def test_the_kit_cases_are_not_the_grading_cases(bundles):
    from grader.checks.stage_cases import cases_of
    from grader.encoding import decode_value

    ex = EXERCISES["backprop"]
    record = bundles["backprop"]["items"][0]
    kit_x = decode_value(record["cases"][0]["args"]["X"])
    graded_x = cases_of(ex.items[0].net)[0].args["X"]
    assert kit_x.shape == graded_x.shape and not (kit_x == graded_x).all()


def test_a_loss_right_on_a_wrong_forward_is_undecided_not_wrong(bundles, tmp_path):
    """The grade judges loss on the learner's own forward (given=): that code is not in the kit, so the
    check says the grading decides, and it still decides backward from finite differences of their loss."""
    path = tmp_path / "backprop.py"
    path.write_text((ROOT / "solutions" / "backprop.py").read_text() + '''

def forward(X, params):
    Z1 = params["W1"] @ X
    A1 = _sigmoid(Z1)
    Z2 = params["W2"] @ A1 + params["b2"]
    return {"Z1": Z1, "A1": A1, "Z2": Z2, "A2": _sigmoid(Z2)}
''')
    graded = {i.item: i for i in grade_file(path, EXERCISES["backprop"], runner=run_in_process).items}
    checked = {i.item: i for i in check_file(path, bundles["backprop"], runner=run_in_process).result.items}
    assert graded["forward"].status == checked["forward"].status == "failed"
    assert graded["loss"].status == "passed" and checked["loss"].status == "undecided"
    assert "instructor's grading" in checked["loss"].feedback
    assert graded["backward"].status == checked["backward"].status
    for name in graded:
        _agree(graded[name], checked[name], name)
