"""The whole catalogue: references earn full marks, untouched templates score zero,
and every authored wrong answer gets exactly its authored feedback."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.catalogue import exercise_for_file, find_catalogue, get_exercise, load_catalogue, match_file_name
from grader.checks import checker_for
from grader.encoding import encode_value
from grader.errors import UsageError
from grader.grading import grade_file
from grader.runtypes import CallOutcome, RunResult

from .conftest import ROOT

EXERCISES = [ex for ex in load_catalogue(find_catalogue(ROOT))]
PY_EXERCISES = [ex for ex in EXERCISES if ex.submission_suffix == ".py"]


def test_catalogue_has_the_derivatives_exercise_with_items():
    names = [e.name for e in EXERCISES]
    assert "derivatives" in names
    deriv = get_exercise("derivatives", find_catalogue(ROOT))
    assert [i.name for i in deriv.items][:3] == ["d_exp", "d_exp_neg", "d_pow_base"]
    assert deriv.max_points == sum(i.points for i in deriv.items) > 0


@pytest.mark.parametrize("ex", PY_EXERCISES, ids=lambda e: e.name)
def test_reference_scores_full_marks(ex, fast_limits):
    result = grade_file(ex.solution, ex, fast_limits)
    failing = [(i.item, i.feedback) for i in result.items if i.status != "passed"]
    assert failing == []
    assert result.score == result.max_score


@pytest.mark.parametrize("ex", PY_EXERCISES, ids=lambda e: e.name)
def test_untouched_template_scores_zero_with_a_message_per_item(ex, fast_limits):
    result = grade_file(ex.template, ex, fast_limits)
    assert result.score == 0
    assert result.import_error is None
    for item in result.items:
        assert item.feedback.startswith("not attempted yet"), (item.item, item.feedback)


def _fake_run(call_ids, value) -> RunResult:
    return RunResult({cid: CallOutcome(cid, "ok", encode_value(value)) for cid in call_ids})


MISTAKES = [(ex, item, m) for ex in PY_EXERCISES for item in ex.items for m in item.mistakes
            if item.kind == "symbolic" and callable(m.answer)]


@pytest.mark.parametrize("ex,item,mistake", MISTAKES,
                         ids=[f"{e.name}.{i.name}.{m.tag}" for e, i, m in MISTAKES])
def test_authored_mistake_gets_its_authored_feedback(ex, item, mistake):
    checker = checker_for(item.kind)
    from grader.checks.symbolic import symbols_for

    wrong = mistake.answer(*symbols_for(item).values())
    run = _fake_run([c.id for c in checker.calls(item)], wrong)
    res = checker.check(item, run, ex.name)
    assert res.points == 0 and res.status == "failed"
    assert res.feedback == mistake.feedback
    assert res.diagnosis == mistake.tag


@pytest.mark.parametrize("name,expected", [
    ("derivatives.py", "derivatives"), ("alice_derivatives.py", "derivatives"),
    ("bob-derivatives.py", "derivatives"),
])
def test_exercise_from_file_name(name, expected):
    assert exercise_for_file(Path(name), find_catalogue(ROOT)).name == expected


def test_unknown_file_name_is_a_usage_error():
    with pytest.raises(UsageError, match="--exercise"):
        exercise_for_file(Path("homework.py"), find_catalogue(ROOT))


def test_catalogue_option_must_point_at_a_catalogue(tmp_path):
    with pytest.raises(UsageError, match="exercises/ and solutions/"):
        find_catalogue(tmp_path)


def test_instructor_adds_an_exercise_without_code_changes(tmp_path, fast_limits):
    (tmp_path / "exercises").mkdir()
    (tmp_path / "solutions").mkdir()
    (tmp_path / "exercises" / "extra.py").write_text("def d_cube(x):\n    raise NotImplementedError\n")
    (tmp_path / "solutions" / "extra.py").write_text(
        '"""Extra practice"""\nfrom grader.spec import symbolic\n\n'
        "@symbolic(points=3)\ndef d_cube(x):\n    return 3 * x**2\n")
    (ex,) = load_catalogue(tmp_path)
    assert (ex.name, ex.title, ex.max_points) == ("extra", "Extra practice", 3)
    sub = tmp_path / "extra.py"
    sub.write_text("def d_cube(x):\n    return 3*x*x\n")
    assert grade_file(sub, ex, fast_limits).score == 3


# -- the whole course, .toml exercises and numeric/quiz mistakes (issue 3) --------------------

TOML_EXERCISES = [ex for ex in EXERCISES if ex.submission_suffix == ".toml"]


def test_the_catalogue_holds_the_whole_course_in_order():
    names = [e.name for e in EXERCISES]
    assert {"derivatives", "gradients", "activations", "backprop", "quiz"} <= set(names)
    assert names.index("derivatives") < names.index("gradients") < names.index("activations") \
        < names.index("quiz")
    assert TOML_EXERCISES, "the quiz is a .toml exercise"


@pytest.mark.parametrize("ex", TOML_EXERCISES, ids=lambda e: e.name)
def test_toml_reference_key_scores_full_marks_and_template_zero(ex, tmp_path):
    from grader.checks.quiz import reference_sheet

    key = tmp_path / f"key_{ex.name}.toml"
    key.write_text(reference_sheet(ex.items), encoding="utf-8")
    full = grade_file(key, ex)
    assert [(i.item, i.feedback) for i in full.items if i.status != "passed"] == []
    assert full.score == full.max_score
    blank = grade_file(ex.template, ex)
    assert blank.score == 0
    assert all(i.feedback.startswith("not attempted yet") for i in blank.items)


def _numeric_fake_run(item, answer) -> RunResult:
    from grader.checks.numeric import item_cases
    from grader.checks.numeric_review import _quietly

    outcomes = {}
    for i, case in enumerate(item_cases(item)):
        cid = f"{item.name}#{i}"
        outcomes[cid] = CallOutcome(cid, "ok", encode_value(_quietly(answer, case)),
                                    args_after=tuple(encode_value(a) for a in case))
    return RunResult(outcomes)


NUMERIC_MISTAKES = [(ex, item, m) for ex in PY_EXERCISES for item in ex.items for m in item.mistakes
                    if item.kind == "numeric" and callable(m.answer)]


@pytest.mark.parametrize("ex,item,mistake", NUMERIC_MISTAKES,
                         ids=[f"{e.name}.{i.name}.{m.tag}" for e, i, m in NUMERIC_MISTAKES])
def test_authored_numeric_mistake_gets_its_authored_feedback(ex, item, mistake):
    res = checker_for(item.kind).check(item, _numeric_fake_run(item, mistake.answer), ex.name)
    assert (res.points, res.status) == (0, "failed")
    assert (res.feedback, res.diagnosis) == (mistake.feedback, mistake.tag)


QUIZ_MISTAKES = [(ex, item, m) for ex in TOML_EXERCISES for item in ex.items for m in item.mistakes]


@pytest.mark.parametrize("ex,item,mistake", QUIZ_MISTAKES,
                         ids=[f"{e.name}.{i.name}.{m.tag}" for e, i, m in QUIZ_MISTAKES])
def test_authored_quiz_mistake_gets_its_authored_feedback(ex, item, mistake):
    from grader.checks.inputs import Sheet
    from grader.checks.quiz import check

    res = check(item, Sheet({item.name: {"answer": mistake.answer}}), ex.name)
    assert (res.points, res.status) == (0, "failed")
    assert (res.feedback, res.diagnosis) == (mistake.feedback, mistake.tag)


@pytest.mark.parametrize("ex", [e for e in EXERCISES if e.name in ("derivatives", "gradients", "activations", "quiz")],
                         ids=lambda e: e.name)
def test_every_item_has_two_or_three_authored_mistakes(ex):
    lacking = [i.name for i in ex.items if not 2 <= len(i.mistakes) <= 3]
    assert lacking == []


STAGE_MISTAKES = [(ex, item, m) for ex in PY_EXERCISES for item in ex.items for m in item.mistakes
                  if item.kind == "stage" and callable(m.answer)]


def _stage_run(ex, wrong_item, answer) -> RunResult:
    """Every call of the exercise on the references, except that ``wrong_item``'s stage is ``answer``."""
    from .test_backprop import run_functions

    functions = {i.name: i.reference for i in ex.items}
    functions[wrong_item.name] = answer
    calls = [c for i in ex.items for c in checker_for(i.kind).calls(i)]
    return run_functions(functions, calls)


def test_stage_items_have_authored_mistakes():
    assert STAGE_MISTAKES, "the catalogue's stage exercises author their mistakes"


@pytest.mark.parametrize("ex,item,mistake", STAGE_MISTAKES,
                         ids=[f"{e.name}.{i.name}.{m.tag}" for e, i, m in STAGE_MISTAKES])
def test_authored_stage_mistake_gets_its_authored_feedback(ex, item, mistake):
    res = checker_for(item.kind).check(item, _stage_run(ex, item, mistake.answer), ex.name)
    assert res.points < res.max_points and res.status == "failed", (res.points, res.feedback)
    assert mistake.feedback in res.feedback
    tags = {res.diagnosis, *(res.evidence or {}).get("diagnoses", {}).values()}
    assert mistake.tag in tags


@pytest.mark.parametrize("ex", [e for e in PY_EXERCISES if any(i.kind == "stage" for i in e.items)],
                         ids=lambda e: e.name)
def test_stage_references_in_process_get_full_marks(ex):
    """The same in-process run as the mistakes above, on the references only: so a mistake's lost
    points are its own, not the harness's."""
    run = _stage_run(ex, ex.items[0], ex.items[0].reference)
    for item in ex.items:
        res = checker_for(item.kind).check(item, run, ex.name)
        assert res.points == res.max_points, (item.name, res.feedback)


@pytest.mark.parametrize("name,expected", [
    ("quiz.toml", ("quiz", "")), ("quiz.py", None), ("Alice_Derivatives.py", ("derivatives", "Alice")),
    ("derivatives.toml", None), ("x_derivatives.py", ("derivatives", "x")),
], ids=["quiz-toml", "quiz-wrong-suffix", "any-case", "wrong-suffix", "prefixed"])
def test_one_rule_matches_file_names_to_exercises(name, expected):
    assert match_file_name(name, EXERCISES) == expected


def test_a_python_file_named_after_the_quiz_is_not_graded_as_toml():
    with pytest.raises(UsageError, match="quiz.toml"):
        exercise_for_file(Path("quiz.py"), find_catalogue(ROOT))


def test_every_typed_authored_mistake_parses():
    from grader.checks.symbolic import symbols_for
    from grader.diagnosis import mistake_expression
    from grader.spec import SymbolicItem

    unreadable = [(ex.name, item.name, m.answer) for ex in EXERCISES for item in ex.items for m in item.mistakes
                  if isinstance(m.answer, str) and getattr(item, "answer", "expression") != "choice"
                  and mistake_expression(
                      m, symbols_for(item) if isinstance(item, SymbolicItem) else
                      {v.name: v for v in getattr(item, "variables", ())}) is None]
    assert unreadable == []
