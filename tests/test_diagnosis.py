"""Mistake diagnosis: each automatic diagnosis, authored mistakes first, and the wiring into symbolic items."""

from __future__ import annotations

import pytest
import sympy as sp

from grader.checks.symbolic import _compare_one, symbols_for
from grader.diagnosis import diagnose, mistake_expression
from grader.parsing import parse_expression
from grader.spec import mistake, symbolic

X = [sp.Symbol("x", real=True)]


def P(text: str):
    return parse_expression(text)


def var(name: str = "x"):
    from grader.spec import Variable
    return Variable(name)


def test_sign_error_names_the_chain_rule_when_the_item_has_an_inner_function():
    d = diagnose(P("-exp(-x)"), P("exp(-x)"), [var()], antiderivative=P("exp(-x)"), inner=P("-x"))
    assert d is not None and d.tag == "sign_error"
    assert d.feedback == "your answer is −1 times the right answer: check the sign from the chain rule on e^(−x)"
    plain = diagnose(P("1 - x"), P("x - 1"), [var()])
    assert plain is not None and plain.tag == "sign_error" and plain.feedback.endswith("check the sign")


@pytest.mark.parametrize("answer,factor,shown", [
    ("4x cos(x^2)", "2", "2 times"),
    ("x cos(x^2)", "1/2", "1/2 times"),
    ("pi*2x cos(x^2)", "pi", "π times"),
    ("-6x cos(x^2)", "-3", "−3 times"),
])
def test_constant_factor_says_the_factor(answer, factor, shown):
    d = diagnose(P("2x cos(x^2)"), P(answer), [var()])
    assert d is not None and d.tag == "constant_factor"
    assert d.detail["factor"] == factor
    assert d.feedback.startswith(f"your answer is {shown} the right answer")


def test_additive_constant_says_the_constant():
    d = diagnose(P("2x"), P("2x + 3/2"), [var()])
    assert d is not None and d.tag == "additive_constant" and d.detail["constant"] == "3/2"
    assert "by the constant 3/2" in d.feedback


def test_function_instead_of_derivative():
    d = diagnose(P("cos(x)"), P("sin(x)"), [var()], antiderivative=P("sin(x)"))
    assert d is not None and d.tag == "function_not_derivative"
    assert "sin(x) itself, not its derivative" in d.feedback
    plus = diagnose(P("cos(x)"), P("sin(x) + 5"), [var()], antiderivative=P("sin(x)"))
    assert plus is not None and plus.tag == "function_not_derivative" and plus.detail["constant"] == "5"
    assert diagnose(P("cos(x)"), P("sin(x)"), [var()]) is None  # without the spec's antiderivative: no guess


def test_derivative_with_respect_to_the_wrong_variable():
    f = P("x^2 y + sin(y)")
    d = diagnose(P("2x y"), P("x^2 + cos(y)"), [var("x"), var("y")], antiderivative=f)
    assert d is not None and d.tag == "wrong_variable"
    assert d.detail == {"variable": "y", "expected_variable": "x"}
    assert "with respect to y" in d.feedback and "with respect to x" in d.feedback


def test_missing_chain_rule_factor():
    d = diagnose(P("3 cos(3x + 1)"), P("cos(3x + 1)"), [var()], antiderivative=P("sin(3x+1)"),
                 inner=P("3x + 1"))
    assert d is not None and d.tag == "missing_chain_factor" and d.detail["factor"] == "3"
    assert "the inner function 3x + 1 has derivative 3" in d.feedback
    # without the declared inner function the same answer is only "a factor 1/3"
    plain = diagnose(P("3 cos(3x + 1)"), P("cos(3x + 1)"), [var()])
    assert plain is not None and plain.tag == "constant_factor" and plain.detail["factor"] == "1/3"


def test_zero_answer_and_unexplained_answers():
    zero = diagnose(P("2x"), P("0"), [var()])
    assert zero is not None and zero.tag == "zero"
    assert diagnose(P("2x"), P("x^2 + sin(x)"), [var()]) is None


def test_authored_mistakes_come_first_and_accept_strings():
    authored = [(P("exp(-x)"), "the chain rule multiplies by -1", "authored_sign")]
    d = diagnose(P("-exp(-x)"), P("exp(-x)"), [var()], mistakes=authored)
    assert d is not None and d.tag == "authored_sign" and d.feedback == "the chain rule multiplies by -1"
    sym = {"x": X[0]}
    assert mistake_expression(mistake("e^(-x)", "text"), sym) == parse_expression("e^(-x)", X)
    assert mistake_expression(mistake(lambda x: sp.exp(-x), "callable"), sym) == sp.exp(-X[0])
    assert mistake_expression(mistake("e^(-", "broken"), sym) is None


def test_diagnoses_are_cached():
    from grader.equivalence import cache_info, clear_cache
    clear_cache()
    diagnose(P("2x"), P("4x"), [var()])
    misses = cache_info().misses
    diagnose(P("2x"), P("4x"), [var()])
    assert cache_info().misses == misses and cache_info().hits >= 1


# -- wired into symbolic items ------------------------------------------------------------------

@symbolic(points=1, antiderivative=lambda x: sp.sin(x**2), inner=lambda x: x**2, mistakes=[
    mistake("2x cos(2x)", "cos keeps its argument x²", tag="inner_inside"),
])
def d_sin_x2(x):
    return 2 * x * sp.cos(x**2)


ITEM = d_sin_x2.__grader_item__


@pytest.mark.parametrize("answer,tag,fragment", [
    ("2x cos(2x)", "inner_inside", "cos keeps its argument x²"),
    ("cos(x^2)", "missing_chain_factor", "the inner function x^2 has derivative 2x"),
    ("-2x cos(x^2)", "sign_error", "check the sign from the chain rule on sin(x^2)"),
    ("sin(x^2)", "function_not_derivative", "sin(x^2) itself"),
    ("6x cos(x^2)", "constant_factor", "3 times the right answer"),
    ("x^3", "not_equivalent", "not equal to the expected expression: at x = 1"),
])
def test_symbolic_item_feedback_uses_the_diagnosis(answer, tag, fragment):
    symbols = symbols_for(ITEM)
    answer_expr = parse_expression(answer, list(symbols.values()))
    status, feedback, diag, verdict = _compare_one(ITEM, ITEM.reference(*symbols.values()), answer_expr, symbols)
    assert status == "failed" and diag == tag
    assert fragment in feedback
    assert verdict is not None and verdict.status == "not_equivalent"


def test_diagnosis_of_a_hostile_answer_comes_back():
    import time
    x = sp.Symbol("x", real=True)
    big = sp.Add(*[sp.sin(k * x)**2 for k in range(1, 300)], evaluate=False)
    started = time.perf_counter()
    assert diagnose(P("2x"), big, [var()], antiderivative=P("x^2"), inner=P("x")) is None
    # a budget of 1 s per diagnosis; the bound here only catches a hang (timing targets live in benchmarks/)
    assert time.perf_counter() - started < 30


def _run_returning(item, value):
    from grader.encoding import encode_value
    from grader.checks.symbolic import calls
    from grader.runtypes import CallOutcome, RunResult
    return RunResult({c.id: CallOutcome(c.id, "ok", encode_value(value)) for c in calls(item)})


@symbolic(points=2, antiderivative=lambda x, y: x**2 * y + sp.sin(y))
def grad_f(x, y):
    return [2 * x * y, x**2 + sp.cos(y)]


def test_gradient_components_get_their_own_diagnosis_and_evidence():
    from grader.checks.symbolic import check
    item = grad_f.__grader_item__
    x, y = symbols_for(item).values()
    res = check(item, _run_returning(item, [x**2 + sp.cos(y), 2 * x * y]), "gradients")
    assert res.status == "failed" and res.diagnosis == "wrong_variable"
    assert "component 1: your answer is the derivative with respect to y" in res.feedback
    assert "component 2: your answer is the derivative with respect to x" in res.feedback
    assert [c["verdict"] for c in res.evidence["components"]] == ["not_equivalent", "not_equivalent"]


def test_symbolic_evidence_keeps_its_keys_and_says_how_the_answer_reads():
    from grader.checks.symbolic import check
    x = symbols_for(ITEM)["x"]
    res = check(ITEM, _run_returning(ITEM, -2 * x * sp.cos(x**2)), "derivatives")
    assert {"verdict", "method", "evidence", "counterexample", "answer_value", "reference_value",
            "read_as"} <= set(res.evidence)
    assert res.evidence["read_as"] == "−2x · cos(x^2)"
    assert res.diagnosis == "sign_error"


@symbolic(points=1)
def jacobian(x, y):
    return sp.Matrix([[y, x]])


def test_matrix_of_the_wrong_shape_gets_a_shape_message():
    from grader.checks.symbolic import check
    item = jacobian.__grader_item__
    x, y = symbols_for(item).values()
    res = check(item, _run_returning(item, sp.Matrix([[y], [x]])), "gradients")
    assert res.diagnosis == "wrong_shape" and "should return a 1x2 matrix; yours is 2x1" in res.feedback
    ok = check(item, _run_returning(item, sp.Matrix([[y, x]])), "gradients")
    assert ok.status == "passed"


def test_a_diagnosis_that_ran_out_of_time_is_not_cached_as_none(monkeypatch):
    import sympy as sp

    from grader import diagnosis, equivalence
    from grader.spec import Variable

    x = sp.Symbol("x", real=True)
    real = equivalence.compare
    equivalence.clear_cache()
    monkeypatch.setattr(equivalence, "compare", lambda *a, **k: equivalence.Verdict("undecided", "budget", "slow"))
    assert diagnosis.diagnose(sp.exp(-x) * -1, sp.exp(-x), [Variable("x")]) is None
    monkeypatch.setattr(equivalence, "compare", real)
    found = diagnosis.diagnose(sp.exp(-x) * -1, sp.exp(-x), [Variable("x")])
    assert found is not None and found.tag == "sign_error"


@pytest.mark.parametrize("node", ["Integral", "Subs"])
def test_unevaluated_integral_or_subs_in_an_answer_is_refused(node):
    from grader.catalogue import find_catalogue, get_exercise
    from grader.runtypes import CallOutcome, RunResult
    from grader.checks.symbolic import check

    from .conftest import ROOT

    item = get_exercise("derivatives", find_catalogue(ROOT)).item("d_exp")
    wire = {"t": "expr", "tree": ["Applied", node, ["Fn", "exp", ["Symbol", "x"]]]}
    res = check(item, RunResult({"d_exp": CallOutcome("d_exp", "ok", wire)}), "derivatives")
    assert res.diagnosis == "forbidden_helper" and node in res.feedback


def test_a_stray_variable_named_like_the_message_is_not_called_a_forbidden_helper():
    x, derived = sp.symbols("x derived", real=True)

    @symbolic(points=1)
    def d_cube(x):
        return 3 * x**2

    item = d_cube.__grader_item__
    status, feedback, tag, _ = _compare_one(item, 3 * x**2, 3 * x * derived, symbols_for(item))
    assert tag == "stray_variable" and "derived" in feedback


@pytest.mark.parametrize("reference, answer, tag, named", [
    ("σ(x)(1-σ(x))", "1/(1+e^(-x))^2", "missing_factor", "e^(−x)"),
    ("2x cos(x^2)", "cos(x^2)", "missing_factor", "2x"),
    ("x^2 + sin(x)", "x^2", "missing_term", "sin(x)"),
    ("x^2", "x^2 + x", "extra_term", "x"),
    ("2x", "2x^2", "extra_factor", "x"),
])
def test_a_short_missing_or_extra_factor_or_term_is_named_without_any_hint(reference, answer, tag, named):
    from grader.spec import Variable

    found = diagnose(P(reference), P(answer), [Variable("x")])
    assert found is not None and found.tag == tag, found
    assert f" {named}:" in found.feedback
