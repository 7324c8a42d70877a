"""The equivalence engine: verdicts, evidence, domains, floats, hostile input, the cache."""

from __future__ import annotations

import time

import pytest
import sympy as sp

from grader import equivalence
from grader.equivalence import Verdict, cache_info, clear_cache, compare
from grader.parsing import parse_expression
from grader.spec import Variable

X = [Variable("x")]
XY = [Variable("x"), Variable("y")]


def verdict(a: str, b: str, variables=X, **kw) -> Verdict:
    return compare(parse_expression(a), parse_expression(b), variables, **kw)


# A sample of the kinds of pairs the engine must get right (written here, not read from ../shared).
EQUIVALENT = [
    ("exp(x)", "E**x", X),
    ("-exp(-x)", "-1/exp(x)", X),
    ("a**x*log(a)", "exp(x*log(a))*log(a)", [Variable("a", lo=0.0), Variable("x")]),
    ("2**x*log(2)", "2**(x)*0.6931471805599453", X),
    ("n*x**(n-1)", "n*x**n/x", [Variable("n"), Variable("x")]),
    ("log(x*y)", "log(x)+log(y)", XY),
    ("σ(x)(1-σ(x))", "1/(4*cosh(x/2)**2)", X),
    ("sigmoid(x)*(1-sigmoid(x))", "exp(-x)/(1+exp(-x))^2", X),
    ("σ(x)(1-σ(x))", "(1-tanh(x/2)**2)/4", X),
    ("1-tanh(x)**2", "sech(x)**2", X),
    ("tanh(x)", "2/(1+exp(-2*x))-1", X),
    ("2*x+3", "2*x+3 + sin(x)**2 + cos(x)**2 - 1", X),
    ("theta-0.2*(theta-3)", "0.8*theta+0.6", [Variable("theta")]),
    ("sqrt(x**2)", "Abs(x)", X),
    ("exp(log(x))", "x", X),
    ("(x**2-1)/(x-1)", "x+1", X),
    ("(x+1)**6", "x**6+6*x**5+15*x**4+20*x**3+15*x**2+6*x+1", X),
    ("exp(1000*x)/(1+exp(1000*x))", "1/(1+exp(-1000*x))", X),
    ("log(1+exp(x))", "x+log(1+exp(-x))", X),
    ("softplus(x)", "log(1+e^x)", X),
    ("relu(x)", "(x+|x|)/2", X),
    ("2*x", "2*x + y - y", X),
]

NOT_EQUIVALENT = [
    ("-exp(-x)", "exp(-x)", X),
    ("a**x*log(a)", "x*a**(x-1)", [Variable("a", lo=0.0), Variable("x")]),
    ("1/(1+exp(-x))", "1/(1+exp(x))", X),
    ("σ(x)(1-σ(x))", "σ(x)^2", X),
    ("1-tanh(x)**2", "1-tanh(x)", X),
    ("2*x*cos(x**2)", "2*x*cos(x)**2", X),
    ("2*x+3", "2*x+3.000001", X),
    ("2*x+3*y", "3*x+2*y", XY),
    ("sqrt(x**2)", "x", X),
    ("1/x", "1/Abs(x)", X),
    ("sin(x)/x", "1", X),
    ("(x+1)**6", "x**6+6*x**5+15*x**4+20*x**3+15*x**2+6*x+2", X),
    ("log(1+exp(x))", "log(exp(x))", X),
    ("x", "x + 10^(-15)", X),
]


@pytest.mark.parametrize("a,b,variables", EQUIVALENT, ids=[f"{a} == {b}" for a, b, _ in EQUIVALENT])
def test_equivalent_pairs(a, b, variables):
    v = verdict(a, b, variables)
    assert v.status == "equivalent", v.evidence
    assert v.method in ("identical", "symbolic", "numeric")


@pytest.mark.parametrize("a,b,variables", NOT_EQUIVALENT, ids=[f"{a} != {b}" for a, b, _ in NOT_EQUIVALENT])
def test_not_equivalent_pairs_come_with_a_real_counterexample(a, b, variables):
    v = verdict(a, b, variables)
    assert v.status == "not_equivalent", v.evidence
    assert v.counterexample
    shown = v.evidence.split(" the answer is ")[1].split(" but the expected value is ")
    assert shown[0] != shown[1], "the two values must be shown with enough digits to differ"
    assert v.answer_value is not None and v.reference_value is not None
    assert v.answer_value != v.reference_value
    # the counterexample really is one: evaluate both sides there with SymPy itself
    ref, ans = parse_expression(a), parse_expression(b)
    subs = {s: sp.Float(v.counterexample[s.name], 50) for s in ref.free_symbols | ans.free_symbols
            if s.name in v.counterexample}
    assert float(ref.subs(subs).evalf(50)) == pytest.approx(v.reference_value, rel=1e-9, abs=1e-12)
    assert float(ans.subs(subs).evalf(50)) == pytest.approx(v.answer_value, rel=1e-9, abs=1e-12)


def test_evidence_says_how_equivalence_was_established():
    numeric = verdict("Abs(x - 2) + Abs(x + 2)", "Max(4, 2*Abs(x))")
    assert numeric.method == "numeric" and numeric.points_checked >= 12
    assert f"{numeric.points_checked} points" in numeric.evidence
    proof = verdict("(x**2-1)/(x-1)", "x+1")
    assert proof.method == "symbolic" and "proved" in proof.evidence


def test_domain_of_the_item_is_respected():
    positive = [Variable("x", lo=0.0)]
    assert verdict("sqrt(x**2)", "x", positive).status == "equivalent"
    assert verdict("sqrt(x**2)", "x", X).status == "not_equivalent"
    assert verdict("log(x^2)", "2log(x)", positive).status == "equivalent"
    assert verdict("Abs(x)", "-x", [Variable("x", hi=0.0)]).status == "equivalent"
    interval = [Variable("x", lo=0.0, hi=1.0)]
    assert verdict("Abs(x - 2)", "2 - x", interval).status == "equivalent"


def test_integer_variables_are_sampled_as_integers():
    n = [Variable("n", kind="integer")]
    assert verdict("(-1)^n", "cos(pi*n)", n).status == "equivalent"
    assert verdict("sin(pi*n)", "0", n).status == "equivalent"
    assert verdict("sin(pi*n)", "0", [Variable("n")]).status == "not_equivalent"


def test_answer_undefined_everywhere_is_wrong_but_both_undefined_is_undecided():
    v = verdict("log(x)", "log(-x^2-1)")
    assert v.status == "not_equivalent" and "not a real number" in v.evidence
    assert verdict("log(-x^2-1)", "log(-x^2-2)").status == "undecided"


def test_unknown_functions_are_opaque():
    f, g = sp.Function("f"), sp.Function("g")
    x = sp.Symbol("x", real=True)
    assert compare(f(x) + 1, 1 + f(x), X).status == "equivalent"
    assert compare(f(x), g(x), X).status == "not_equivalent"
    assert compare(sp.exp(-x), f(x), X).status == "not_equivalent"


def test_learner_undefined_sigmoid_is_the_sigmoid():
    x = sp.Symbol("x", real=True)
    for name in ("sigmoid", "σ"):
        s = sp.Function(name)(x)
        assert compare(sp.exp(-x) / (1 + sp.exp(-x))**2, s * (1 - s), X).status == "equivalent"


def test_lists_and_matrices_are_compared_componentwise_with_shape_messages():
    x, y = sp.symbols("x y", real=True)
    assert compare([2 * x, 3 * y], [x + x, y * 3], XY).status == "equivalent"
    wrong = compare([2 * x, 3 * y], [2 * x, 2 * y], XY)
    assert wrong.status == "not_equivalent" and wrong.evidence.startswith("component 2:")
    short = compare([2 * x, 3 * y], [2 * x], XY)
    assert short.method == "shape" and "expected 2 components, got 1" in short.evidence
    m = compare(sp.Matrix([[x, y, 1]]), sp.Matrix([[x], [y], [1]]), XY)
    assert m.status == "not_equivalent" and "expected 1x3, got 3x1" in m.evidence
    assert compare([x], x, X).method == "shape"


@pytest.mark.parametrize("hostile", [
    "(x+1)^(10^6)",
    "x^(10^(10^6))",
    "2^(2^(2^(2^100)))",
    "sin(10^(10^5) x)",
    "exp(exp(exp(exp(exp(x)))))",
    "+".join(["x^2"] * 400),
    "((((((((((x+1)^2+1)^2+1)^2+1)^2+1)^2+1)^2+1)^2+1)^2+1)^2+1)^2",
], ids=["huge-power", "tower", "power-tower", "huge-trig-arg", "exp-tower", "long-sum", "nested-squares"])
def test_hostile_expressions_come_back(hostile):
    started = time.perf_counter()
    v = verdict("x", hostile)
    # the engine's budget is 1 s; this bound only catches a hang (timings: benchmarks/bench_equivalence.py)
    assert time.perf_counter() - started < 30
    assert v.status in ("not_equivalent", "undecided")


def test_deep_trees_are_refused_not_crashed():
    x = sp.Symbol("x", real=True)
    deep = x
    for _ in range(400):
        deep = sp.Add(sp.sin(deep, evaluate=False), 1, evaluate=False)
    v = compare(x, deep, X)
    assert v.status == "undecided" and v.method == "too_large"


def test_budget_exhaustion_is_undecided_never_a_guess():
    clear_cache()
    v = verdict("σ(x)(1-σ(x))", "exp(-x)/(1+exp(-x))^2", budget=0.0)
    assert v.status == "undecided" and v.method == "budget"


def test_strings_are_read_with_the_safe_parser():
    assert compare("2x", "x+x", X).status == "equivalent"
    with pytest.raises(ValueError):
        compare("x", "__import__('os')", X)


def test_cache_hits_for_repeated_comparisons_and_keeps_domains_apart():
    clear_cache()
    x = sp.Symbol("x", real=True)
    first = compare(sp.sqrt(x**2), x, X)
    assert cache_info().misses == 1 and cache_info().hits == 0
    again = compare(sp.sqrt(x**2), x, X)
    assert again is first and cache_info().hits == 1
    positive = compare(sp.sqrt(x**2), x, [Variable("x", lo=0.0)])
    assert positive.status == "equivalent" and first.status == "not_equivalent"
    assert cache_info().misses == 2
    clear_cache()
    assert cache_info() == equivalence.CacheInfo(0, 0, 0, equivalence.CACHE_SIZE)


def test_verdict_is_frozen():
    v = verdict("x", "x")
    with pytest.raises(AttributeError):
        v.status = "not_equivalent"  # type: ignore[misc]


def test_threads_share_the_engine_safely():
    from concurrent.futures import ThreadPoolExecutor
    clear_cache()
    pairs = [("σ(x)(1-σ(x))", "1/(4*cosh(x/2)**2)", "equivalent"), ("2*x+3", "2*x+3.000001", "not_equivalent"),
             ("exp(1000*x)/(1+exp(1000*x))", "1/(1+exp(-1000*x))", "equivalent")] * 4
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(lambda ip: verdict(ip[1][0], ip[1][1], seed=ip[0]).status, enumerate(pairs)))
    assert got == [p[2] for p in pairs]


def test_small_integer_domains_are_checked_exhaustively():
    n = [Variable("n", kind="integer", lo=-0.5, hi=3.5)]  # n in {0, 1, 2, 3}
    v = verdict("n(n-1)(n-2)(n-3)", "0", n)  # zero on this domain, not as a polynomial
    assert v.status == "equivalent" and v.method == "exhaustive" and "4 of 4" in v.evidence
    wrong = verdict("n^3", "6n^2 - 11n + 6", n)  # agrees at n = 1, 2, 3 only
    assert wrong.status == "not_equivalent" and wrong.counterexample == {"n": 0.0}


@pytest.mark.parametrize("answer,status", [
    ("2*x + 3.000000000001", "not_equivalent"),  # 3e-13 off: a different number
    ("2*x + 3.0000000000000004", "equivalent"),  # the next double after 3
    ("exp(0.6931471805599453*x)*0.6931471805599453", "equivalent"),  # ln 2 to double precision, amplified
])
def test_float_literals_accepted_only_to_about_double_precision(answer, status):
    reference = "2*x+3" if answer.startswith("2*x") else "2^x*ln(2)"
    assert verdict(reference, answer).status == status


def test_components_share_one_budget():
    x = sp.Symbol("x", real=True)
    clear_cache()
    many = [sp.sin(k * x) ** 2 + sp.cos(k * x) ** 2 for k in range(1, 40)]
    v = compare(many, [sp.Integer(1)] * len(many), X, budget=0.0)
    assert v.status == "undecided" and v.method == "budget" and "0 of 39 components" in v.evidence
    assert compare(many, [sp.Integer(1)] * len(many), X).status == "equivalent"
