"""MathML for the report: SymPy's presentation printer, names escaped, output whitelisted."""

from __future__ import annotations

import pytest
import sympy as sp

from grader.render.mathml import is_safe, to_mathml

x = sp.Symbol("x", real=True)


def test_expression_becomes_a_math_element():
    out = to_mathml(sp.exp(-x) * sp.log(x))
    assert out is not None and out.startswith('<math xmlns="http://www.w3.org/1998/Math/MathML">')
    assert "<mi>ln</mi>" in out and "<msup>" in out and out.endswith("</math>")


def test_display_block():
    assert 'display="block"' in to_mathml(x, display=True)  # type: ignore[operator]


def test_list_becomes_a_bracketed_vector():
    out = to_mathml([x, x**2])
    assert out is not None and out.count("<mo>,</mo>") == 1 and "<mo>[</mo>" in out


@pytest.mark.parametrize("name", ["<script>", "a&b", 'q"uote', "x<y"], ids=["script", "amp", "quote", "lt"])
def test_symbol_and_function_names_are_escaped(name):
    out = to_mathml(sp.Symbol(name) + sp.Function(name)(x))
    assert out is not None and is_safe(out)
    assert "<script" not in out and "&lt;" in out or "&amp;" in out or "&quot;" in out


@pytest.mark.parametrize("value", ["exp(x)", None, object(), True], ids=["str", "none", "object", "bool"])
def test_non_expressions_give_none(value):
    assert to_mathml(value) is None


def test_huge_expression_gives_none():
    assert to_mathml(sp.Add(*(sp.Pow(x, i, evaluate=False) for i in range(500)), evaluate=False)) is None


def test_numbers_are_fine():
    assert "<mn>0.5</mn>" in to_mathml(0.5)  # type: ignore[operator]


@pytest.mark.parametrize("markup", [
    "<math><script>alert(1)</script></math>",
    '<math><mi onclick="alert(1)">x</mi></math>',
    '<math><mi>a & b</mi></math>',
    '<math><a href="http://example.org">x</a></math>',
    "<math><mi>x</mi><</math>",
    '<math><mi style="background:url(http://e.org)">x</mi></math>',
], ids=["script", "handler", "bare-amp", "link", "stray-lt", "style"])
def test_whitelist_refuses(markup):
    assert not is_safe(markup)


def test_whitelist_accepts_printer_entities():
    assert is_safe("<math><mrow><mi>&ExponentialE;</mi><mo>&InvisibleTimes;</mo><mi>&#963;</mi></mrow></math>")


def test_repeated_trees_are_printed_once():
    from grader.render import mathml

    mathml._scalar_body.cache_clear()
    expr = sp.exp(-x) / (1 + sp.exp(-x)) ** 2
    first = to_mathml(expr)
    assert to_mathml(sp.exp(-x) / (1 + sp.exp(-x)) ** 2) == first
    assert mathml._scalar_body.cache_info().hits == 1
