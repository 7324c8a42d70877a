"""Derivatives by hand: exponentials, logarithms, powers, sigmoid, tanh, chain and quotient rule.

Reference solutions. Every answer is written as the hand-derived expression
(no ``sympy.diff``): the catalogue test grades these files like any submission.
"""

from sympy import cos, exp, log, sin, tanh

from grader.spec import exercise, mistake, symbolic

EXERCISE = exercise("Derivatives by hand", order=1,
                    summary="d/dx of e^x, a^x, ln x, x^n, the sigmoid and tanh; chain and quotient rule.")


def _sig(z):
    return 1 / (1 + exp(-z))


@symbolic(points=1, antiderivative=lambda x: exp(x), mistakes=[
    mistake(lambda x: x * exp(x - 1), "the power rule does not apply to e^x: the exponent is the variable, "
            "and d/dx e^x = e^x", tag="power_rule_on_exp"),
    mistake(lambda x: 0 * x, "e^x is not a constant (only e is): it changes with x, and d/dx e^x = e^x",
            tag="treated_as_constant"),
])
def d_exp(x):
    """d/dx e^x"""
    return exp(x)


@symbolic(points=1, antiderivative=lambda x: exp(-x), inner=lambda x: -x, mistakes=[
    mistake(lambda x: exp(-x), "your answer is e^(-x) itself: the chain rule multiplies by the derivative "
            "of the exponent -x, which is -1", tag="sign_error"),
    mistake(lambda x: -exp(x), "the factor -1 is right, but the exponent stays -x: d/dx e^(-x) = -e^(-x)",
            tag="exponent_sign_dropped"),
])
def d_exp_neg(x):
    """d/dx e^(-x)"""
    return -exp(-x)


@symbolic(points=1, variables={"a": "positive"}, antiderivative=lambda x, a: a**x, mistakes=[
    mistake(lambda x, a: a**x, "a^x = e^(x ln a), so its derivative carries the factor ln a: "
            "d/dx a^x = a^x ln a", tag="missing_log_factor"),
    mistake(lambda x, a: x * a**(x - 1), "the power rule is for x^n with a fixed exponent; here the "
            "exponent is the variable: write a^x = e^(x ln a)", tag="power_rule_on_exp"),
])
def d_pow_base(x, a):
    """d/dx a^x for a constant a > 0"""
    return a**x * log(a)


@symbolic(points=1, variables={"x": "positive"}, antiderivative=lambda x: log(x), mistakes=[
    mistake(lambda x: 1 / log(x), "the derivative of ln x is 1/x, not 1/ln x", tag="reciprocal_of_log"),
    mistake(lambda x: -1 / x**2, "-1/x² is the derivative of 1/x; the derivative of ln x is 1/x itself",
            tag="derivative_of_reciprocal"),
])
def d_log(x):
    """d/dx ln x for x > 0"""
    return 1 / x


@symbolic(points=1, variables={"x": "positive"}, antiderivative=lambda x, n: x**n, mistakes=[
    mistake(lambda x, n: n * x**(n + 1), "the power rule lowers the exponent by one: "
            "d/dx x^n = n x^(n-1), not n x^(n+1)", tag="exponent_raised"),
    mistake(lambda x, n: x**(n - 1), "you lowered the exponent but dropped the factor n in front: "
            "d/dx x^n = n x^(n-1)", tag="missing_factor_n"),
    mistake(lambda x, n: n * x**n, "the factor n is right, but the exponent must go down by one: n x^(n-1)",
            tag="exponent_not_lowered"),
])
def d_power(x, n):
    """d/dx x^n for x > 0 and any real n"""
    return n * x**(n - 1)


@symbolic(points=1, forbid=(), mistakes=[
    mistake(lambda x: 1 / (1 + exp(x)), "that is σ(-x): the sigmoid is 1/(1 + e^(-x)), with a minus sign "
            "in the exponent", tag="sign_error"),
    mistake(lambda x: 1 / (1 - exp(-x)), "the denominator of the sigmoid is 1 + e^(-x), with a plus",
            tag="denominator_sign"),
])
def sigmoid(x):
    """The logistic sigmoid σ(x) as an expression"""
    return 1 / (1 + exp(-x))


@symbolic(points=2, antiderivative=_sig, mistakes=[
    mistake(lambda x: _sig(x) * (1 + _sig(x)), "σ'(x) = σ(x)(1 - σ(x)), with a minus: e^(-x)/(1 + e^(-x))^2 "
            "= σ(x) · e^(-x)/(1 + e^(-x)) and the second factor is 1 - σ(x)", tag="sigma_one_plus_sigma"),
    mistake(lambda x: -exp(-x) / (1 + exp(-x))**2, "check the sign: the chain rule on e^(-x) gives -e^(-x), "
            "and the quotient rule's minus cancels it", tag="sign_error"),
    mistake(lambda x: _sig(x)**2, "σ(x)² is only part of it: σ'(x) = σ(x)(1 - σ(x))", tag="sigma_squared"),
])
def d_sigmoid(x):
    """d/dx σ(x), σ(x) = 1/(1 + e^(-x))"""
    return exp(-x) / (1 + exp(-x))**2


@symbolic(points=2, antiderivative=tanh, mistakes=[
    mistake(lambda x: 1 + tanh(x)**2, "tanh' = 1 - tanh², with a minus (it is sech², which is at most 1)",
            tag="one_plus_tanh_squared"),
    mistake(lambda x: -tanh(x)**2, "you dropped the 1: tanh'(x) = 1 - tanh²(x)", tag="missing_one"),
])
def d_tanh(x):
    """d/dx tanh(x)"""
    return 1 - tanh(x)**2


@symbolic(points=1, forbid=(), mistakes=[
    mistake(lambda x: 2 * _sig(x) - 1, "2σ(x) - 1 is tanh(x/2): the sigmoid's argument must be 2x",
            tag="missing_factor_2x"),
    mistake(lambda x: _sig(2 * x) - 1, "σ(2x) - 1 is missing the factor 2: tanh(x) = 2σ(2x) - 1",
            tag="missing_factor_2"),
])
def tanh_via_sigmoid(x):
    """tanh(x) written with the sigmoid"""
    return 2 / (1 + exp(-2 * x)) - 1


@symbolic(points=2, antiderivative=lambda x: sin(x**2), inner=lambda x: x**2, mistakes=[
    mistake(lambda x: cos(x**2), "the chain rule also multiplies by the derivative of the inner function "
            "x², which is 2x", tag="missing_chain_factor"),
    mistake(lambda x: 2 * x * cos(2 * x), "cos keeps its argument x²: d/dx sin(x²) = cos(x²) · 2x",
            tag="inner_derivative_inside"),
])
def d_sin_x2(x):
    """d/dx sin(x²)"""
    return 2 * x * cos(x**2)


@symbolic(points=2, antiderivative=lambda x: x / (1 + x**2), mistakes=[
    mistake(lambda x: (1 + 3 * x**2) / (1 + x**2)**2, "the quotient rule subtracts: (f'g - fg')/g², "
            "so the numerator is (1 + x²) - x·2x = 1 - x²", tag="quotient_rule_plus"),
    mistake(lambda x: 1 / (2 * x), "the derivative of a quotient is not the quotient of the derivatives: "
            "use (f'g - fg')/g²", tag="quotient_of_derivatives"),
    mistake(lambda x: (1 - x**2) / (1 + x**2), "the denominator of the quotient rule is g², here (1 + x²)²",
            tag="denominator_not_squared"),
])
def d_quotient(x):
    """d/dx x/(1 + x²)"""
    return (1 - x**2) / (1 + x**2)**2
