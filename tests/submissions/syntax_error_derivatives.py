import sympy


def d_exp(x):
    return sympy.exp(x)


def d_log(x)
    return 1 / x
