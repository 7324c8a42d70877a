"""The one function table (grader/known_functions.py) and its consumers agree.

The parser, the exact evaluator, the wire format and the plot evaluator each
derive their view from ``FUNCTION_TABLE``; these tests check that every name a
learner may type evaluates, every function allowed on the wire decodes and
evaluates, the plot evaluator covers every function an answer can contain,
and aliases mean the same SymPy function everywhere.
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
import sympy as sp

from grader import encoding, evaluate, known_functions, parsing
from grader.equivalence import compare
from grader.errors import DecodeError
from grader.evaluate import Undefined, compile_expr
from grader.known_functions import BY_NAME, FUNCTION_TABLE, KnownFunction, expand_known_functions, resolve
from grader.parsing import parse_expression
from grader.render import plot_eval
from grader.spec import Variable

x, y = sp.symbols("x y", real=True)
X = [Variable("x")]
#: points to try until the function is defined there (acosh needs x > 1, atanh |x| < 1, log x > 0,
#: factorial and binomial whole numbers)
CANDIDATES = (0.3, 1.7, -0.4, 2.5, -2.2, 3.0)
SPELLINGS = sorted(parsing.FUNCTIONS)
NODES = [f for f in FUNCTION_TABLE if f.sympy is not None]


def _args(entry: KnownFunction) -> list[sp.Symbol]:
    return [x, y][:max(1, entry.arity[0])]


def _exact(expr: object, xv: float, yv: float = 2.0) -> float | None:
    """The exact evaluator's value at (xv, yv), None where the expression is undefined."""
    try:
        value, _ = compile_expr(expr)({"x": mpmath.mpf(xv), "y": mpmath.mpf(yv)})
    except Undefined:
        return None
    return float(value)


def _somewhere(expr: object) -> tuple[float, float]:
    for xv in CANDIDATES:
        value = _exact(expr, xv)
        if value is not None:
            return xv, value
    raise AssertionError(f"{expr} is undefined at every candidate point")


# ---------------------------------------------------------------- every consumer's view comes from the table


def test_each_consumer_view_is_the_table():
    spellings = {w for f in FUNCTION_TABLE for w in f.spellings}
    assert set(parsing.FUNCTIONS) == spellings
    # the parser can say "takes n arguments" or "takes two or more": a typed arity must be one of those
    assert all(f.arity[0] == f.arity[1] or f.arity == (2, None) for f in FUNCTION_TABLE)
    wire = {f.name: f.sympy for f in FUNCTION_TABLE if f.wire}
    assert wire == encoding.FUNCTIONS
    assert set(evaluate.UNARY) == {f.name for f in FUNCTION_TABLE if f.mp is not None and f.growth != "extreme"}
    assert set(plot_eval._FUNCS) == {f.name for f in FUNCTION_TABLE if f.np is not None}


def test_every_sympy_function_in_the_table_evaluates_plots_and_may_cross_the_wire():
    for f in NODES:
        assert f.mp is not None and f.np is not None, f.name
        assert f.wire, f.name
        assert f.sympy.__name__ == f.name  # the name the evaluators look nodes up by
    for f in FUNCTION_TABLE:
        if f.sympy is None:  # a definition has no node of its own: nothing to evaluate or send
            assert f.definition is not None and not f.wire and f.mp is None and f.np is None, f.name


def test_a_name_claimed_by_two_entries_is_refused():
    twice = (KnownFunction("sin", sp.sin, ("sin",)), KnownFunction("asin", sp.asin, ("sin",)))
    with pytest.raises(ValueError, match="'sin' names both"):
        known_functions._index(twice)
    with pytest.raises(ValueError, match="twice"):
        known_functions._index((KnownFunction("sin", sp.sin), KnownFunction("sin", sp.sin)))


# ---------------------------------------------------------------- parser -> evaluator


@pytest.mark.parametrize("word", SPELLINGS)
def test_every_parseable_name_evaluates(word):
    entry = known_functions.BY_SPELLING[word]
    text = f"{word}(x)" if entry.arity[0] == 1 else f"{word}(x, y)"
    expr = parse_expression(text, ["x", "y"])
    _somewhere(expr)  # Unsupported (TooLarge) would escape here
    _somewhere(expand_known_functions(expr))


@pytest.mark.parametrize("entry", [f for f in FUNCTION_TABLE if f.spellings], ids=lambda f: f.name)
def test_aliases_resolve_to_the_same_sympy_function(entry):
    args = ", ".join(a.name for a in _args(entry))
    typed = {parse_expression(f"{w}({args})", ["x", "y"]) for w in entry.spellings}
    assert typed == {entry.build(*_args(entry))}
    for w in (entry.name, *entry.spellings):
        assert resolve(w, len(_args(entry))) is entry
        if w.isidentifier():  # a learner's sp.Function('arctan')(x) means the same as typed arctan(x)
            undefined = sp.Function(w)(*_args(entry))
            assert expand_known_functions(undefined) == expand_known_functions(entry.build(*_args(entry)))
            xv, value = _somewhere(entry.build(*_args(entry)))
            assert _exact(undefined, xv) == pytest.approx(value, rel=1e-12)


def test_undefined_functions_outside_the_table_or_of_the_wrong_arity_stay_opaque():
    assert resolve("f", 1) is None and resolve("sin", 2) is None and resolve("max", 1) is None
    g = sp.Function("sin")(x, y)
    assert expand_known_functions(g) == g
    assert compare(sp.sin(x), sp.Function("sin")(x, x), X).status == "not_equivalent"


# ---------------------------------------------------------------- wire -> evaluator


@pytest.mark.parametrize("name", sorted(encoding.FUNCTIONS))
def test_every_wire_function_decodes_and_evaluates(name):
    entry = BY_NAME[name]
    node = ["Fn", name, *(["Symbol", s.name] for s in _args(entry))]
    expr = encoding.decode_expr(node)
    assert type(expr) is entry.sympy or (name == "Max" and isinstance(expr, sp.Max))
    _somewhere(expr)
    built = entry.build(*_args(entry))  # and what the grader builds goes out and comes back
    assert encoding.decode_expr(encoding.encode_expr(built)) == built


def test_wire_refuses_a_known_function_with_the_wrong_number_of_arguments():
    with pytest.raises(DecodeError, match="sin cannot take 2"):
        encoding.decode_expr(["Fn", "sin", ["Symbol", "x"], ["Symbol", "y"]])
    with pytest.raises(DecodeError, match="Max cannot take 1"):
        encoding.decode_expr(["Fn", "Max", ["Symbol", "x"]])
    log2 = encoding.decode_expr(["Fn", "log", ["Symbol", "x"], ["Integer", "2"]])  # log(x, 2) is SymPy's own
    assert _exact(log2, 8.0) == pytest.approx(3.0)


def test_names_outside_the_table_do_not_cross_the_wire_as_functions():
    for name in ("sqrt", "relu", "polygamma", "zeta", "__import__"):
        with pytest.raises(DecodeError):
            encoding.decode_expr(["Fn", name, ["Symbol", "x"]])


# ---------------------------------------------------------------- plot evaluator


def _plot(expr: object, xv: float, yv: float = 2.0) -> float:
    out = plot_eval.evaluate_many(expr, {"x": np.array([xv]), "y": np.array([yv])})
    return float(out[0])


@pytest.mark.parametrize("entry", NODES, ids=lambda f: f.name)
def test_plot_evaluator_covers_every_function_an_answer_can_contain(entry):
    expr = entry.build(*_args(entry))
    for xv in CANDIDATES:
        exact = _exact(expr, xv)
        if exact is not None:
            assert _plot(expr, xv) == pytest.approx(exact, rel=1e-9, abs=1e-12), (entry.name, xv)
    # as illustrate.py draws them: after expand_known_functions, from a typed answer or the wire
    decoded = encoding.decode_expr(encoding.encode_expr(expr))
    xv, value = _somewhere(expr)
    assert _plot(expand_known_functions(decoded), xv) == pytest.approx(value, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("word", SPELLINGS)
def test_every_typed_answer_plots(word):
    entry = known_functions.BY_SPELLING[word]
    expr = expand_known_functions(parse_expression(f"{word}(x)" if entry.arity[0] == 1 else f"{word}(x, y)",
                                                   ["x", "y"]))
    xv, value = _somewhere(expr)
    assert _plot(expr, xv) == pytest.approx(value, rel=1e-9, abs=1e-12)


# ---------------------------------------------------------------- drift that was fixed


def test_typed_heaviside_plots_with_its_value_at_zero():
    # SymPy stores Heaviside(x) as Heaviside(x, 1/2); the plot used to know the one-argument form only
    expr = parse_expression("heaviside(x)", ["x"])
    out = plot_eval.evaluate_many(expr, {"x": np.array([-1.0, 0.0, 2.0])})
    assert list(out) == [0.0, 0.5, 1.0]
    at_zero = plot_eval.evaluate_many(sp.Heaviside(x, 0), {"x": np.array([0.0])})
    assert list(at_zero) == [0.0]


def test_lambertw_and_two_argument_log_plot():
    w = plot_eval.evaluate_many(sp.LambertW(x), {"x": np.array([math.e, -1.0, 0.0])})
    assert w[0] == pytest.approx(1.0) and math.isnan(w[1]) and w[2] == 0.0
    log2 = sp.log(x, 2, evaluate=False)
    assert plot_eval.evaluate_many(log2, {"x": np.array([8.0])})[0] == pytest.approx(3.0)


def test_arccot_is_typable_like_the_other_inverse_functions():
    assert parse_expression("arccot(x)", ["x"]) == sp.acot(x, evaluate=False)
    assert parse_expression("acot(x)", ["x"]) == sp.acot(x, evaluate=False)
    assert compare(parse_expression("arccot(x)", ["x"]), parse_expression("atan(1/x)", ["x"]),
                   [Variable("x", lo=0.0)]).status == "equivalent"


@pytest.mark.parametrize("text", ["max(x, 0)", "relu(x)", "min(x, 1)", "σ(x)", "softplus(x)"])
def test_max_min_relu_and_sigmoid_answers_cross_the_wire(text):
    # Max/Min are not sp.Function subclasses and sigmoid/softplus were off the list: "cannot send"
    expr = parse_expression(text, ["x"])
    back = encoding.decode_value(encoding.encode_value(expr))
    assert back == expr and compare(expr, back, X).status == "equivalent"


@pytest.mark.parametrize("name, meaning", [
    ("arctan", sp.atan(x)), ("arcsin", sp.asin(x)), ("sqrt", sp.sqrt(x)), ("abs", sp.Abs(x)),
    ("ceil", sp.ceiling(x)), ("sgn", sp.sign(x)), ("cosec", sp.csc(x)), ("ReLU", sp.Max(0, x)),
])
def test_learner_undefined_function_named_like_a_known_one_is_that_function(name, meaning):
    # these used to be opaque to the evaluator (arctan, ceil...) or unplottable (sqrt, abs)
    undefined = sp.Function(name)(x)
    assert compare(meaning, undefined, X).status == "equivalent"
    assert compare(meaning + 1, undefined, X).status == "not_equivalent"
    xv, value = _somewhere(meaning)
    assert _plot(expand_known_functions(undefined), xv) == pytest.approx(value)


def test_learner_undefined_max_of_two_arguments_is_max():
    assert compare(sp.Max(x, 2), sp.Function("max")(x, 2), X).status == "equivalent"


def test_undefined_functions_travel_by_name_and_get_their_meaning_grader_side():
    tree = encoding.encode_expr(sp.Function("sin")(x))
    assert tree[0] == "Applied"
    assert compare(sp.sin(x), encoding.decode_expr(tree), X).status == "equivalent"


def test_the_parser_hint_names_only_functions_it_accepts():
    with pytest.raises(parsing.ParseError) as info:
        parse_expression("foo(x)", ["x"])
    hint = info.value.reason.split("(known: ", 1)[1].rstrip(".)")
    named = {w.strip() for part in hint.split(",") for w in part.split(" or ")} - {"", "..."}
    assert named and named <= set(parsing.FUNCTIONS)
