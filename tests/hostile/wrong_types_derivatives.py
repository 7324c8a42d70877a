"""Returns NaN, sympy.nan, a generator, a set, a module, a class and a dict."""
import math

import sympy


def d_exp(x):
    return float("nan")


def d_exp_neg(x):
    return sympy.nan


def d_pow_base(x, a):
    return (i for i in range(3))


def d_log(x):
    return 1 / x


def d_power(x, n):
    return {x, n}


def sigmoid(x):
    return math


def d_sigmoid(x):
    return {"answer": x}
