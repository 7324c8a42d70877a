"""Derivatives by hand.

Each function receives SymPy symbols and returns a SymPy expression: the
derivative worked out by hand. Build it from the given symbols with
functions such as ``sympy.exp``, ``sympy.log``, ``sympy.cos`` and
``sympy.tanh``. Calling ``sympy.diff`` (or ``Derivative``, ``integrate``,
``Subs``) is not allowed in these items: the point is to derive it yourself.

Grade your work with:  grader grade derivatives.py
"""

import sympy


def d_exp(x):
    """Return d/dx e^x."""
    raise NotImplementedError


def d_exp_neg(x):
    """Return d/dx e^(-x)  (chain rule: the inner function is -x)."""
    raise NotImplementedError


def d_pow_base(x, a):
    """Return d/dx a^x for a constant base a > 0.  Hint: a^x = e^(x ln a)."""
    raise NotImplementedError


def d_log(x):
    """Return d/dx ln x, for x > 0 (ln is the natural logarithm, sympy.log)."""
    raise NotImplementedError


def d_power(x, n):
    """Return d/dx x^n for x > 0 and a constant real exponent n (the power rule)."""
    raise NotImplementedError


def sigmoid(x):
    """Return the logistic sigmoid σ(x) = 1 / (1 + e^(-x)) as a SymPy expression."""
    raise NotImplementedError


def d_sigmoid(x):
    """Return σ'(x), the derivative of σ(x) = 1 / (1 + e^(-x)).

    Derive it by the quotient rule or the chain rule. Writing it in terms of
    σ itself (for example with a helper that builds 1/(1 + e^(-x))) is fine.
    """
    raise NotImplementedError


def d_tanh(x):
    """Return d/dx tanh(x), written in terms of tanh(x)."""
    raise NotImplementedError


def tanh_via_sigmoid(x):
    """Return tanh(x) written using the sigmoid σ (no sympy.tanh): tanh(x) = a·σ(b·x) + c for which a, b, c?"""
    raise NotImplementedError


def d_sin_x2(x):
    """Return d/dx sin(x²)  (chain rule: outer function sin, inner function x²)."""
    raise NotImplementedError


def d_quotient(x):
    """Return d/dx [ x / (1 + x²) ]  (quotient rule: (f'g - f g') / g²)."""
    raise NotImplementedError
