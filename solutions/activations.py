"""Activation functions with NumPy: the sigmoid, its derivative and tanh's derivative.

Reference solutions. ``sigmoid`` never evaluates e^t for a large positive t,
so it stays finite and silent for |z| up to 1000 and beyond.
"""

import numpy as np

from grader.spec import AUTOGRAD_MODULES, exercise, mistake, numeric

EXERCISE = exercise("Activation functions in NumPy", order=3,
                    summary="σ(z) without overflow, σ'(z) = σ(z)(1 - σ(z)) and tanh'(z) = 1 - tanh²(z), "
                            "on arrays of any shape.")


def _sigmoid(z):
    z = np.asarray(z, dtype=float)
    e = np.exp(-np.abs(z))  # never overflows: the exponent is at most 0
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


#: what a learner whose formula overflows is told
NO_OVERFLOW = ("e^t overflows a float for t > 709, and np.where evaluates both of its branches: build it "
               "from e^(-|z|), which never overflows")


def _cases(rng):
    return [
        (rng.normal(0, 3, (7,)),),
        (rng.normal(0, 5, (3, 4)),),
        (np.array(0.0),),
        (np.array([-1000.0, -750.0, -40.0, 0.0, 40.0, 750.0, 1000.0]),),
        (rng.uniform(-1000, 1000, (2, 3, 5)),),
    ]


@numeric(points=2, cases=_cases, no_warnings=NO_OVERFLOW, mistakes=[
    mistake(lambda z: _sigmoid(-z), "that is σ(-z): the sigmoid is 1/(1 + e^(-z)), with a minus sign "
            "in the exponent", tag="sign_error"),
    mistake(lambda z: np.tanh(z), "tanh is not the sigmoid: σ(z) = 1/(1 + e^(-z)) lies between 0 and 1 "
            "(tanh(z) = 2σ(2z) - 1 lies between -1 and 1)", tag="tanh_instead_of_sigmoid"),
])
def sigmoid(z):
    """σ(z) = 1/(1 + e^(-z)) elementwise, without overflow"""
    return _sigmoid(z)


@numeric(points=2, cases=_cases, no_warnings=NO_OVERFLOW, forbid=AUTOGRAD_MODULES, mistakes=[
    mistake(lambda z: _sigmoid(z) * (1 + _sigmoid(z)), "σ'(z) = σ(z)(1 - σ(z)), with a minus", 
            tag="sigma_one_plus_sigma"),
    mistake(lambda z: _sigmoid(z) ** 2, "σ(z)² is only part of it: σ'(z) = σ(z)(1 - σ(z))",
            tag="sigma_squared"),
    mistake(lambda z: _sigmoid(z), "that is σ(z) itself; its derivative is σ(z)(1 - σ(z))",
            tag="function_not_derivative"),
])
def sigmoid_grad(z):
    """σ'(z) = σ(z)(1 - σ(z)) elementwise"""
    s = _sigmoid(z)
    return s * (1 - s)


@numeric(points=2, cases=_cases, no_warnings="np.tanh never overflows, but (e^z - e^(-z))/(e^z + e^(-z)) does "
                                             "for |z| > 709: use np.tanh", forbid=AUTOGRAD_MODULES, mistakes=[
    mistake(lambda z: 1 + np.tanh(z) ** 2, "tanh' = 1 - tanh², with a minus (it is sech², at most 1)",
            tag="one_plus_tanh_squared"),
    mistake(lambda z: 1 - np.tanh(z), "square the tanh: tanh'(z) = 1 - tanh²(z)", tag="tanh_not_squared"),
    mistake(lambda z: np.tanh(z), "that is tanh(z) itself; its derivative is 1 - tanh²(z)",
            tag="function_not_derivative"),
])
def tanh_grad(z):
    """tanh'(z) = 1 - tanh²(z) elementwise"""
    return 1 - np.tanh(z) ** 2
