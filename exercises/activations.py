"""Activation functions with NumPy.

Each function receives a NumPy array ``z`` of any shape (also 0-d) and returns
an array of the same shape, computed elementwise. Do not modify ``z``.

    σ(z) = 1 / (1 + e^(-z))        σ'(z) = σ(z)(1 - σ(z))        tanh'(z) = 1 - tanh²(z)

Your functions must run without NumPy warnings for |z| up to 1000: e^1000
overflows a float, so never compute e^t for a large positive t. The
derivatives are written by hand from the formulas (no torch, jax, autograd or
tensorflow).

Grade your work with:  grader grade activations.py
"""

import numpy as np


def sigmoid(z):
    """Return σ(z) = 1 / (1 + e^(-z)) elementwise, with no overflow warning for |z| up to 1000.

    Hint: for z < 0 rewrite σ(z) = e^z / (1 + e^z), so the exponent is never large and positive.
    """
    raise NotImplementedError


def sigmoid_grad(z):
    """Return σ'(z) = σ(z)(1 - σ(z)) elementwise (again without warnings for |z| up to 1000)."""
    raise NotImplementedError


def tanh_grad(z):
    """Return tanh'(z) = 1 - tanh²(z) elementwise (np.tanh is allowed)."""
    raise NotImplementedError
