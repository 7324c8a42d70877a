"""The course's exercises graded end to end on learner files: gradients, activations, the README list."""

from __future__ import annotations

import re

import numpy as np
import pytest

from grader.grading import grade_file

from .conftest import ROOT, SUBMISSIONS


@pytest.fixture(scope="module")
def gradients_result(catalogue):
    from grader.runtypes import Limits

    result = grade_file(SUBMISSIONS / "partly_wrong_gradients.py", catalogue["gradients"], Limits(wall_seconds=5))
    return {i.item: i for i in result.items}


@pytest.fixture(scope="module")
def activations_result(catalogue):
    from grader.runtypes import Limits

    result = grade_file(SUBMISSIONS / "naive_activations.py", catalogue["activations"], Limits(wall_seconds=5))
    return {i.item: i for i in result.items}


def test_delegating_a_partial_derivative_to_sympy_costs_the_item(gradients_result):
    res = gradients_result["dz_dx"]
    assert (res.points, res.diagnosis) == (0, "forbidden_helper")
    assert res.feedback.startswith("this item asks you to derive it yourself: sympy.diff is not allowed here "
                                   "(line 8")
    assert "the runtime guard caught it too" in res.details


def test_right_answers_earn_their_points(gradients_result):
    for name in ("dz_dy", "grad_f"):
        assert gradients_result[name].status == "passed"
        assert gradients_result[name].points == gradients_result[name].max_points


def test_swapped_numeric_partials_get_the_authored_feedback(gradients_result):
    res = gradients_result["grad_z_numeric"]
    assert res.diagnosis == "components_swapped"
    assert res.feedback.startswith("the two partials are swapped")
    assert any("entries differ" in d for d in res.details), "the generic comparison stays as evidence"


def test_gradient_ascent_is_recognised(gradients_result):
    res = gradients_result["gd_step"]
    assert res.diagnosis == "ascent_instead_of_descent" and res.points == 0


def test_a_trajectory_that_settles_elsewhere_is_told_it_does_not_converge_to_3(gradients_result):
    res = gradients_result["gradient_descent"]
    assert res.status == "failed" and res.diagnosis == "numeric_values"
    note = [d for d in res.details if "does not converge to 3" in d]
    assert note and "your last value is -2.99996" in note[0]
    assert res.evidence["converges"] is False


def test_the_textbook_sigmoid_is_right_but_its_overflow_warning_costs_the_item(activations_result):
    res = activations_result["sigmoid"]
    assert (res.status, res.points, res.diagnosis) == ("failed", 0, "runtime_warning")
    assert "overflow encountered in exp (line 7)" in res.feedback
    assert all("underflow" not in d for d in res.details)


def test_a_wrong_derivative_gets_its_mistake_feedback_and_the_warning_as_detail(activations_result):
    res = activations_result["sigmoid_grad"]
    assert (res.diagnosis, res.feedback) == ("sigma_one_plus_sigma", "σ'(z) = σ(z)(1 - σ(z)), with a minus")
    assert any("overflow encountered in exp" in d for d in res.details)


def test_a_warning_free_item_passes(activations_result):
    assert activations_result["tanh_grad"].status == "passed"


def _curriculum_section() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(r"^## The curriculum\n(.*?)(?=^## )", text, re.S | re.M)
    assert match, "README needs a '## The curriculum' section"
    return match.group(1)


def test_readme_lists_every_exercise_and_item_of_the_course(catalogue):
    section = _curriculum_section()
    for ex in catalogue.values():
        assert f"`{ex.name}`" in section, ex.name
        for item in ex.items:
            assert f"`{item.name}`" in section, f"{ex.name}.{item.name}"


def test_np_where_still_overflows_and_the_hint_says_why_and_silencing_is_flagged(catalogue, fast_limits):
    result = grade_file(SUBMISSIONS / "where_activations.py", catalogue["activations"], fast_limits)
    by = {i.item: i for i in result.items}
    assert by["sigmoid"].diagnosis == "runtime_warning"
    assert "overflow encountered in exp (line 7)" in by["sigmoid"].feedback
    assert "np.where evaluates both of its branches" in by["sigmoid"].feedback
    tanh = by["tanh_grad"]
    assert tanh.status == "passed"
    assert tanh.details == ("flagged for your instructor: line 16 uses errstate, which can hide the warnings "
                            "this item checks for",)


def test_a_learners_own_warnings_are_sent_back_bounded_and_are_not_an_overflow(catalogue, fast_limits, tmp_path):
    sub = tmp_path / "activations.py"
    sub.write_text("import warnings\nimport numpy as np\n\n\ndef sigmoid(z):\n"
                   "    for i in range(3000):\n        warnings.warn(f'step {i}')\n"
                   "    e = np.exp(-np.abs(z))\n    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))\n",
                   encoding="utf-8")
    result = grade_file(sub, catalogue["activations"], fast_limits)
    res = result.items[0]
    assert res.status == "passed", res.feedback
    assert res.details == ()

    from grader.encoding import encode_value
    from grader.runtypes import Call
    from grader.sandbox import run_calls

    run = run_calls(sub, [Call("s", "sigmoid", (encode_value(np.zeros(3)),))], fast_limits)
    assert run.outcomes["s"].warnings == tuple(f"UserWarning: step {i} (line 7)" for i in range(5))
