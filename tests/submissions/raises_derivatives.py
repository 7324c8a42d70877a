"""Every function fails in its own way; the grader must say how, item by item."""
import sympy
from sympy import exp


def d_exp(x):
    return exp(x)


def d_exp_neg(x):
    return undefined_helper(x)  # NameError


def d_pow_base(x, a):
    return 1 / 0


def d_log(x):
    pass  # returns None


def d_power(x, n):
    return 0.5  # a float where an expression is asked


def sigmoid(x):
    return "1/(1+exp(-x))"


def d_sigmoid(x):
    raise SystemExit(1)


def d_tanh(x):
    return sympy.Derivative(sympy.tanh(x), x)


def tanh_via_sigmoid(x):
    y = sympy.Symbol("y")
    return 2 / (1 + exp(-2 * y)) - 1


def d_sin_x2(x):
    while True:
        pass


# d_quotient is missing
