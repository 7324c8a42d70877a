"""The safe answer parser: what it accepts, how it reads it, and how it refuses."""

from __future__ import annotations

import re

import pytest
import sympy as sp

from grader.known_functions import sigmoid
from grader.parsing import ParseError, describe_reading, parse_expression

x, y, theta = sp.symbols("x y theta", real=True)


def same(a, b) -> bool:
    """Structural comparison after SymPy's own evaluation (the parser builds unevaluated trees)."""
    return sp.simplify(sp.sympify(a).doit() - sp.sympify(b)) == 0


@pytest.mark.parametrize("text,vars_,expected", [
    ("e^(-x)", ["x"], sp.exp(-x)),
    ("e^-x", ["x"], sp.exp(-x)),
    ("2^x*ln(2)", ["x"], 2**x * sp.log(2)),
    ("2**x*log(2)", ["x"], 2**x * sp.log(2)),
    ("3x+2y", [], 3 * x + 2 * y),
    ("3x+2y", ["x", "y"], 3 * x + 2 * y),
    ("2(x+1)", ["x"], 2 * x + 2),
    ("xy(x+1)", ["x", "y"], x * y * (x + 1)),
    ("2xe^x", ["x"], 2 * x * sp.exp(x)),
    ("σ(x)(1-σ(x))", ["x"], sigmoid(x) * (1 - sigmoid(x))),
    ("sigmoid(x)*(1-sigmoid(x))", ["x"], sigmoid(x) * (1 - sigmoid(x))),
    ("-x^2", ["x"], -x**2),
    ("x^-1", ["x"], 1 / x),
    ("2^3^2", [], sp.Integer(2**9)),
    ("sin^2(x) + cos²(x)", ["x"], sp.Integer(1)),
    ("|x| + √(x^2)", ["x"], 2 * sp.Abs(x)),
    ("1/2x", ["x"], x / 2),
    ("x − 3·y ÷ 2", ["x", "y"], x - sp.Rational(3, 2) * y),
    ("θ - 0.5*(theta-3)", ["theta"], theta / 2 + sp.Rational(3, 2)),
    ("log_2(x)", ["x"], sp.log(x) / sp.log(2)),
    ("relu(x) + max(x, 0)", ["x"], 2 * sp.Max(0, x)),
    ("xsin(x)", ["x"], x * sp.sin(x)),
    ("[x+1]^2", ["x"], (x + 1)**2),
    ("pi*x + π", ["x"], sp.pi * (x + 1)),
], ids=lambda v: str(v) if isinstance(v, str) else None)
def test_accepts_and_reads_correctly(text, vars_, expected):
    assert same(parse_expression(text, vars_), expected)


def test_variables_keep_their_assumptions():
    a = sp.Symbol("a", positive=True)
    expr = parse_expression("a^x", [a, "x"])
    assert a in expr.free_symbols


def test_decimal_literals_keep_all_their_digits():
    expr = parse_expression("0.6931471805599453", [])
    assert abs(sp.Float(expr, 30) - sp.log(2).evalf(30)) < 1e-16
    assert parse_expression("3.000001", []) != 3


def test_trees_are_not_evaluated_so_huge_powers_cost_nothing():
    expr = parse_expression("10^10^10 + (x+1)^(10^6)", ["x"])
    assert isinstance(expr, sp.Add)
    assert all(isinstance(a, sp.Pow) for a in expr.args)


@pytest.mark.parametrize("text,fragment,position", [
    ("__import__('os').system('ls')", "unexpected character \"'\"", 11),
    ("__import__", "unknown name '__import__'", 0),
    ("x.__class__", "unexpected character '.'", 1),
    ("3x+", "ends too early", 3),
    ("(x+1", "expected ')' to close the '(' opened at position 1", 4),
    ("x+1)", "unmatched ')'", 3),
    ("foo(x)", "unknown function 'foo'", 0),
    ("foo + 1", "unknown name 'foo': the variables here are x", 0),
    ("sin x", "sin needs its argument in brackets", 0),
    ("x = 2", "not an equation", 2),
    ("", "empty", 0),
    ("2**", "missing exponent", 3),
    ("x**/2", "missing exponent", 3),
    ("x+*2", "unexpected '*'", 2),
    ("x*/2", "two operators in a row", 2),
    ("max(x)", "two or more arguments", 0),
    ("x + 'y'", "quotes", 4),
    ("1" * 100, "number too long", 0),
    ("2,5x", "write decimals with a point", 1),
    ("2 3x", "two numbers in a row", 2),
], ids=lambda v: v if isinstance(v, str) else None)
def test_refuses_bad_input_with_a_position(text, fragment, position):
    with pytest.raises(ParseError) as info:
        parse_expression(text, ["x"])
    assert fragment in str(info.value)
    assert info.value.position == position
    assert isinstance(info.value, ValueError)
    assert f"at position {position + 1}" in str(info.value)


def test_free_mode_makes_unknown_names_symbols_but_refuses_dunder_calls():
    assert parse_expression("theta + w", []).free_symbols == {theta, sp.Symbol("w", real=True)}
    with pytest.raises(ParseError):
        parse_expression("__import__('os').system('ls')")
    with pytest.raises(ParseError, match="not a valid name"):
        parse_expression("__class__", [])
    with pytest.raises(ParseError, match="unknown function 'foo'"):
        parse_expression("foo(x)", [])
    assert parse_expression("x(1-x)", []) == parse_expression("x*(1-x)", [])


def test_caret_points_at_the_problem():
    with pytest.raises(ParseError) as info:
        parse_expression("2x + )", ["x"])
    lines = str(info.value).splitlines()
    assert lines[1].strip() == "2x + )"
    assert lines[2].index("^") == lines[1].index(")")


def test_limits_on_length_and_nesting():
    with pytest.raises(ParseError, match="too long"):
        parse_expression("x+" * 1500 + "x", ["x"])
    with pytest.raises(ParseError, match="too deeply nested"):
        parse_expression("(" * 200 + "x" + ")" * 200, ["x"])
    with pytest.raises(ParseError, match="too deeply nested"):
        parse_expression("-" * 200 + "x", ["x"])
    with pytest.raises(ParseError, match="too deeply nested"):
        parse_expression("x^" * 200 + "x", ["x"])


@pytest.mark.parametrize("text,reading", [
    ("2^x*ln(2)", "2^x · ln(2)"),
    ("e^(-x)", "e^(−x)"),
    ("σ(x)(1-σ(x))", "σ(x) · (1 − σ(x))"),
    ("3x+2y", "3x + 2y"),
    ("sqrt(x)", "√(x)"),
    ("abs(x)", "|x|"),
    ("1/2x", "x/2"),
    ("2^3x", "2^3 · x"),
    ("x^2*y", "x^2 · y"),
])
def test_describe_reading_echoes_what_was_read(text, reading):
    assert describe_reading(parse_expression(text, ["x", "y"])) == reading


def test_describe_reading_accepts_plain_sympy():
    assert describe_reading(sp.exp(x) * 3) == "3e^x"
    assert describe_reading([x, 2]) == "[x, 2]"


# ---------------------------------------------------------------- notation: log bases, factorial, LaTeX

@pytest.mark.parametrize("typed, same_as", [
    ("log(x, 10)", "ln(x)/ln(10)"), ("log10(x)", "ln(x)/ln(10)"), ("log2(x)", "log(x)/log(2)"),
    ("log_2(x)", "log(x, 2)"), ("n!", "factorial(n)"), ("(n+1)!", "factorial(n+1)"), ("choose(n, 2)", "binomial(n, 2)"),
    ("Γ(x)", "gamma(x)"),
    (r"e^{-x}", "e^(-x)"), (r"\frac{1}{1+e^{-x}}", "1/(1+e^(-x))"), (r"\sigma(x)\cdot(1-\sigma(x))", "σ(x)(1-σ(x))"),
    (r"\sqrt{x^2+1}", "sqrt(x^2+1)"), (r"\sqrt[3]{x}", "x^(1/3)"), (r"\left(x+1\right)^{2}", "(x+1)^2"),
    (r"2\times x", "2x"), (r"\tanh(x) \exp(x)", "tanh(x) exp(x)"), (r"\ln(x) + \log(x)", "ln(x) + log(x)"),
    (r"\log_{10}(x)", "log10(x)"), (r"\frac{\sin(x)}{x}", "sin(x)/x"), (r"\Gamma(x)", "gamma(x)"),
    (r"\frac{1}{2}x", "(1/2)x"), (r"\operatorname{relu}(x)", "relu(x)"),
])
def test_notation_and_latex_read_as_plain_notation(typed, same_as):
    assert parse_expression(typed, ["x", "n"]) == parse_expression(same_as, ["x", "n"])


def test_latex_is_echoed_back_as_read():
    assert describe_reading(parse_expression(r"\frac{1}{1+e^{-x}}", ["x"])) == "1/(1 + e^(−x))"
    assert describe_reading(parse_expression(r"\sigma(x)\cdot(1-\sigma(x))", ["x"])) == "σ(x) · (1 − σ(x))"


@pytest.mark.parametrize("text, message", [
    (r"x_{1}", "subscripts (_) are not supported"), ("x_1 + 2", "subscripts (_) are not supported"),
    (r"\foo(x)", "unknown LaTeX command \\foo"), ("x \\", "backslash must start a LaTeX command"),
    (r"\frac{1}x", "needs its denominator in braces"),
])
def test_latex_mistakes_get_a_clear_message(text, message):
    with pytest.raises(ParseError, match=re.escape(message)):
        parse_expression(text)
