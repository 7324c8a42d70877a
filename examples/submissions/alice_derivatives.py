"""A sample submission with some typical mistakes (used by the README's first command)."""

import sympy
from sympy import cos, exp, log, tanh


def sig(z):
    return 1 / (1 + exp(-z))


def d_exp(x):
    return exp(x)


def d_exp_neg(x):
    return exp(-x)  # forgot the chain rule's -1


def d_pow_base(x, a):
    return a**x  # forgot ln a


def d_log(x):
    return 1 / x


def d_power(x, n):
    return n * x**(n - 1)


def sigmoid(x):
    return sig(x)


def d_sigmoid(x):
    return sig(x) * (1 - sig(x))


def d_tanh(x):
    return 1 + tanh(x) ** 2  # wrong sign


def tanh_via_sigmoid(x):
    return 2 * sig(2 * x) - 1


def d_sin_x2(x):
    return cos(x**2)  # missing the inner derivative 2x


def d_quotient(x):
    return sympy.diff(x / (1 + x**2), x)  # not allowed: derive it yourself
