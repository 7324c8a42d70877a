"""The quiz: a TOML sheet filled in by hand, read strictly, answers parsed without eval."""

from __future__ import annotations

import json

import pytest

from grader.checks.inputs import Sheet, read_sheet
from grader.checks.quiz import check, reference_sheet
from grader.grading import grade_file

from .conftest import SUBMISSIONS


@pytest.fixture(scope="module")
def quiz(catalogue):
    return catalogue["quiz"]


def _grade_one(quiz, name: str, answer) -> object:
    item = next(i for i in quiz.items if i.name == name)
    return check(item, Sheet({name: {"answer": answer}}), "quiz")


def test_the_quiz_has_at_least_twelve_questions_of_three_kinds(quiz):
    assert len(quiz.items) >= 12
    assert {i.answer for i in quiz.items} == {"expression", "number", "choice"}


def test_template_has_one_empty_answer_per_question_and_nothing_else(quiz):
    sheet = read_sheet(quiz.template.read_text(encoding="utf-8"))
    assert sheet.error is None
    assert list(sheet.tables) == [i.name for i in quiz.items]
    assert all(t == {"answer": ""} for t in sheet.tables.values())


@pytest.mark.parametrize("name,typed", [
    ("d_exp_neg", "-e^(-x)"), ("d_exp_neg", "−exp(−x)"), ("d_pow2", "2^x*ln(2)"), ("d_pow2", "ln(2) 2^x"),
    ("d_log_3x", "3/(3x)"), ("d_power", "5x^4"), ("dz_dy", "3x+2y"), ("dz_dy", "2y + 3x"),
    ("d_sigmoid", "σ(x)(1-σ(x))"), ("d_sigmoid", "sigmoid(x)*(1-sigmoid(x))"),
    ("d_sigmoid", "e^(-x)/(1+e^(-x))^2"), ("d_tanh", "1 - tanh(x)²"), ("tanh_via_sigmoid", "2σ(2x) - 1"),
    ("d_sin_x2", "2x cos(x^2)"),
], ids=lambda v: str(v))
def test_expressions_typed_the_way_people_type_math_are_accepted(quiz, name, typed):
    res = _grade_one(quiz, name, typed)
    assert (res.status, res.points) == ("passed", res.max_points), res.feedback
    assert res.details[0].startswith("we read your answer as ")


def test_the_echo_shows_how_a_misread_answer_was_read(quiz):
    # "1/3x" means (1/3)·x to the parser, as to a calculator: the echo lets the learner see it
    res = _grade_one(quiz, "d_log_3x", "1/3x")
    assert res.status == "failed"
    assert res.details == ("we read your answer as x/3",)


def test_a_function_needs_parentheses_and_the_error_points_at_the_spot(quiz):
    res = _grade_one(quiz, "d_sin_x2", "2x cos x^2")
    assert res.diagnosis == "syntax_error"
    shown, caret = res.details
    assert caret.index("^") == shown.index("cos")


def test_code_in_an_answer_is_a_syntax_error_and_never_runs(quiz, tmp_path):
    marker = tmp_path / "ran"
    res = _grade_one(quiz, "d_exp_neg", f"__import__('os').system('touch {marker}')")
    assert (res.status, res.diagnosis, res.points) == ("failed", "syntax_error", 0.0)
    assert res.feedback.startswith("we could not read your answer: ")
    assert "position" in res.feedback and any("^" in d for d in res.details)
    assert not marker.exists()


@pytest.mark.parametrize("typed", ["1/4", "0.25", 0.25, "0.2501", "σ(0)(1-σ(0))"], ids=str)
def test_numbers_may_be_typed_as_fractions_decimals_or_toml_numbers(quiz, typed):
    assert _grade_one(quiz, "sigma_prime_at_0", typed).status == "passed"


def test_a_number_outside_the_tolerance_is_wrong_and_says_what_was_read(quiz):
    res = _grade_one(quiz, "sigma_prime_at_0", "0.26")
    assert (res.status, res.diagnosis) == ("failed", "wrong_value")
    assert res.feedback == "0.26 is not the right value"
    assert res.details == ("we read your answer as 0.26",)


@pytest.mark.parametrize("typed,why", [("x", "wants a number"), ("1/0", "wants a number"),
                                       ("10^10^10^10", "wants a number")], ids=["symbol", "div0", "huge"])
def test_non_numbers_in_a_number_question_are_refused_quickly(quiz, typed, why):
    res = _grade_one(quiz, "dz_dy_at_1_2", typed)
    assert res.status == "failed" and why in res.feedback


@pytest.mark.parametrize("typed", ["a", "A", "a)", "(a)", ["a"]], ids=str)
def test_choices_are_letters_in_any_usual_spelling(quiz, typed):
    assert _grade_one(quiz, "gradient_direction", typed).status == "passed"


@pytest.mark.parametrize("typed", ["a, b, d", "d,b,a", "a b d", ["a", "b", "d"], "a and b and d"], ids=str)
def test_several_choices_in_any_order(quiz, typed):
    assert _grade_one(quiz, "descent_behaviour", typed).status == "passed"


def test_partly_right_choices_say_how_many_are_right(quiz):
    res = _grade_one(quiz, "descent_behaviour", "a, c")
    assert res.feedback == "1 of your 2 choices are right, and there are 3 right choices in all"


def test_an_unknown_letter_names_the_valid_ones(quiz):
    res = _grade_one(quiz, "gradient_direction", "e")
    assert (res.diagnosis, res.feedback) == ("unknown_choice", "'e' is not one of the choices: answer with a, b, c or d")


@pytest.mark.parametrize("table,diag,fragment", [
    ({}, "missing_answer", "there is no [d_exp_neg] section"),
    ({"d_exp_neg": {"answr": "-e^(-x)"}}, "missing_answer", "has no answer"),
    ({"d_exp_neg": "-e^(-x)"}, "missing_answer", "should be a section [d_exp_neg]"),
    ({"d_exp_neg": {"answer": True}}, "missing_answer", "text in double quotes"),
    ({"d_exp_neg": {"answer": "  "}}, "not_attempted", "not attempted yet"),
], ids=["no-section", "no-answer-key", "not-a-table", "bool", "blank"])
def test_sheet_shape_problems_cost_that_question_with_a_clear_message(quiz, table, diag, fragment):
    item = quiz.items[0]
    res = check(item, Sheet(table), "quiz")
    assert (res.points, res.diagnosis) == (0.0, diag) and fragment in res.feedback


def test_a_malformed_file_costs_every_question_with_the_line(quiz, tmp_path):
    sub = tmp_path / "quiz.toml"
    sub.write_text('[d_exp_neg]\nanswer = -e^(-x)\n', encoding="utf-8")
    result = grade_file(sub, quiz)
    assert result.score == 0
    assert {i.diagnosis for i in result.items} == {"malformed_quiz"}
    assert "not valid TOML" in result.items[0].feedback and "line 2" in result.items[0].feedback


def test_reference_key_scores_full_marks_and_untouched_template_zero(quiz, tmp_path):
    key = tmp_path / "key_quiz.toml"
    key.write_text(reference_sheet(quiz.items), encoding="utf-8")
    assert grade_file(key, quiz).score == quiz.max_points
    blank = grade_file(quiz.template, quiz)
    assert blank.score == 0 and all(i.feedback.startswith("not attempted yet") for i in blank.items)


def test_a_filled_in_sheet_mixes_right_answers_mistakes_and_typos(quiz):
    result = grade_file(SUBMISSIONS / "partly_right_quiz.toml", quiz)
    by = {i.item: i for i in result.items}
    assert by["d_exp_neg"].status == by["d_sigmoid"].status == by["sigma_prime_at_0"].status == "passed"
    assert by["d_pow2"].diagnosis == "missing_log_factor"
    assert by["d_tanh"].diagnosis == "one_plus_tanh_squared"
    assert by["d_sin_x2"].diagnosis == "syntax_error"
    assert by["dz_dy_at_1_2"].diagnosis == "wrong_variable"
    assert by["gradient_direction"].diagnosis == "gradient_points_downhill"
    assert by["descent_behaviour"].diagnosis == "not_attempted"
    assert result.score == sum(i.points for i in result.items if i.status == "passed")
    assert result.sandbox_mode == "none"


def test_unknown_sections_become_a_note(quiz, tmp_path):
    sub = tmp_path / "quiz.toml"
    sub.write_text('[d_exp_ng]\nanswer = "-e^(-x)"\n', encoding="utf-8")
    result = grade_file(sub, quiz)
    assert result.notes == ("the quiz file has a section [d_exp_ng] that is not a question; it was ignored",)


def test_grader_grade_works_on_a_quiz_file_end_to_end(tmp_path):
    from .test_cli import run

    out = run("grade", str(SUBMISSIONS / "partly_right_quiz.toml"), "--json", str(tmp_path / "r.json"),
              "--html", str(tmp_path / "r.html"))
    assert out.returncode == 0, out.stderr
    doc = json.loads((tmp_path / "r.json").read_text())
    names = [t["name"] for t in doc["tests"]]
    assert any("d_exp_neg" in n for n in names) and len(doc["tests"]) >= 12
    assert 0 < doc["score"] < sum(t["max_score"] for t in doc["tests"])
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "we read your answer as" in page and "σ(x)(1-σ(x))" in page


def test_a_hostile_deeply_nested_file_is_refused_not_crashed(quiz, tmp_path):
    sub = tmp_path / "quiz.toml"
    sub.write_text("[d_exp_neg]\nanswer = " + "[" * 5000 + "]" * 5000 + "\n", encoding="utf-8")
    result = grade_file(sub, quiz)
    assert result.score == 0
    assert {i.feedback for i in result.items} == {"your quiz file is nested too deeply to read"}


@pytest.mark.parametrize("name,answer,fragment", [
    ("gradient_direction", [1, 2], "with the letter of your choice (a, b, c, d)"),
    ("d_exp_neg", ["-e^(-x)"], "wants one answer, not a list"),
    ("gd_one_step", 0.6, "correct"),
], ids=["numbers-as-choices", "list-for-expression", "toml-float"])
def test_toml_value_types_are_handled(quiz, name, answer, fragment):
    assert fragment in _grade_one(quiz, name, answer).feedback



def test_a_question_that_asks_for_another_form_refuses_the_function_itself(quiz):
    res = _grade_one(quiz, "tanh_via_sigmoid", "tanh(x)")
    assert (res.points, res.diagnosis) == (0.0, "function_not_allowed")
    assert res.feedback == "this question asks you to write it without tanh"
    assert _grade_one(quiz, "tanh_via_sigmoid", "2/(1+e^(-2x)) - 1").status == "passed"


def test_wrong_expressions_get_the_engines_diagnosis_and_the_report_data(quiz):
    res = _grade_one(quiz, "d_pow2", "3*2^x*ln(2)")
    assert res.diagnosis == "constant_factor" and "3" in res.feedback
    assert res.evidence["answer_tree"]["t"] == "expr" and res.evidence["expected_tree"]["t"] == "expr"
    assert res.evidence["plot_variables"] and res.evidence["counterexample"]
    right = _grade_one(quiz, "d_pow2", "ln(2)*2^x")
    assert right.status == "passed" and "plot_variables" not in right.evidence


@pytest.mark.parametrize("name,typed", [("d_exp_neg", "-e^(-x)" + " + 0*x" * 200),
                                        ("d_exp_neg", "-e^(-x) + (" * 100),
                                        ("sigma_prime_at_0", "0." + "2" * 600)],
                         ids=["long-expression", "long-unreadable", "long-number"])
def test_a_long_answer_is_stored_cut_by_the_one_ellipsis_rule(quiz, name, typed):
    res = _grade_one(quiz, name, typed)
    assert len(res.answer) == 400 and res.answer.endswith("…") and res.answer[:399] == typed[:399]
