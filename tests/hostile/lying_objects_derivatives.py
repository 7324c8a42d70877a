"""Returns objects whose __eq__, __float__, __array__ and __array_ufunc__ lie."""
import numpy as np
import sympy


class Liar:
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    def __float__(self):
        return 1.0

    def __array__(self, dtype=None, copy=None):
        return np.ones(3)

    def __array_ufunc__(self, *args, **kwargs):
        return True

    def __hash__(self):
        return 0


class LyingSymbol(sympy.Symbol):
    def __eq__(self, other):
        return True

    __hash__ = sympy.Symbol.__hash__


class LyingFloat(float):
    def __eq__(self, other):
        return True

    __hash__ = float.__hash__


def d_exp(x):
    return Liar()


def d_exp_neg(x):
    return LyingSymbol("y")


def d_pow_base(x, a):
    return LyingFloat(0.5)


def d_log(x):
    return 1 / x


def d_power(x, n):
    return [Liar(), Liar()]
