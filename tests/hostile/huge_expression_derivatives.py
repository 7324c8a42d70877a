"""Returns expressions built to make checking them hang: deep, wide, and with huge integers."""
import sympy
from sympy import Add, Integer, Mul, Pow, exp


def d_exp(x):
    e = x
    for _ in range(5000):
        e = Pow(e + 1, 2, evaluate=False)
    return e


def d_exp_neg(x):
    return Add(*[Mul(Integer(i), x ** i, evaluate=False) for i in range(1, 8000)], evaluate=False)


def d_pow_base(x, a):
    return Pow(x, Integer(10) ** 1000, evaluate=False)


def d_log(x):
    return 1 / x


def d_power(x, n):
    return (x + n) ** 300  # expands to something large but legal: graded normally, just wrong
