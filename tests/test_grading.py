"""Grading broken submissions: each failure is specific, costs only its own item."""

from __future__ import annotations

import pytest

from grader.grading import grade_file

from .conftest import SUBMISSIONS


@pytest.fixture(scope="module")
def raises_result(catalogue, fast_limits):
    return {i.item: i for i in grade_file(SUBMISSIONS / "raises_derivatives.py",
                                          catalogue["derivatives"], fast_limits).items}


@pytest.mark.parametrize("item,fragment,diagnosis", [
    ("d_exp", "correct", None),
    ("d_exp_neg", "d_exp_neg raised NameError: name 'undefined_helper' is not defined on line 11", "exception"),
    ("d_pow_base", "d_pow_base raised ZeroDivisionError: division by zero on line 15", "exception"),
    ("d_log", "d_log returned None: did you forget the return statement?", "wrong_type"),
    ("d_power", "d_power returned the number 0.5; expected an expression in x, n", "wrong_type"),
    ("sigmoid", "return a SymPy expression, not text", "wrong_type"),
    ("d_sigmoid", "d_sigmoid tried to stop the program (SystemExit: 1)", "exception"),
    ("d_tanh", "this item asks you to derive it yourself: sympy.Derivative is not allowed here", "forbidden_helper"),
    ("tanh_via_sigmoid", "your answer contains y, but tanh_via_sigmoid is a function of x only", "stray_variable"),
    ("d_sin_x2", "d_sin_x2 ran for more than 2 s", "timeout"),
    ("d_quotient", "there is no function d_quotient in your file", "missing_function"),
])
def test_each_broken_item_gets_its_own_message(raises_result, item, fragment, diagnosis):
    res = raises_result[item]
    assert fragment in res.feedback
    assert res.diagnosis == diagnosis
    assert res.points == (res.max_points if diagnosis is None else 0)


def test_syntax_error_costs_only_the_function_it_breaks(catalogue, fast_limits):
    result = grade_file(SUBMISSIONS / "syntax_error_derivatives.py", catalogue["derivatives"], fast_limits)
    by = {i.item: i for i in result.items}
    assert result.import_error is None
    assert by["d_exp"].status == "passed"
    assert by["d_log"].points == 0 and "SyntaxError on line 8: expected ':'" in by["d_log"].feedback
    assert result.notes[0] == "lines 8-9 not run (defining d_log): SyntaxError: expected ':' (line 8)"


def test_partly_wrong_submission_gets_diagnoses(catalogue, fast_limits):
    result = grade_file(SUBMISSIONS / "partly_wrong_derivatives.py", catalogue["derivatives"], fast_limits)
    by = {i.item: i for i in result.items}
    assert by["d_sigmoid"].status == "passed"
    assert by["d_exp_neg"].diagnosis == "sign_error"
    assert by["d_sin_x2"].diagnosis == "missing_chain_factor"
    assert by["d_quotient"].diagnosis == "forbidden_helper"
    assert 0 < result.score < result.max_score
