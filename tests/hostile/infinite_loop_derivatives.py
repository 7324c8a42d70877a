"""Loops forever inside a function: the call must time out, the rest still be graded."""
from sympy import exp


def d_exp(x):
    while True:
        pass


def d_log(x):
    return 1 / x
