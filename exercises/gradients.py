"""Partial derivatives, gradients and gradient descent.

The first three functions receive SymPy symbols and return SymPy expressions
worked out by hand (``sympy.diff``, ``Derivative``, ``integrate`` and ``Subs``
are not allowed there). The last three use NumPy and plain floats; work the
gradients out by hand there too (no torch, jax, autograd or tensorflow).

    z(x, y) = x² + 3xy + y²        f(x, y) = x² + y²        J(θ) = (θ - 3)²

Grade your work with:  grader grade gradients.py
"""

import numpy as np
import sympy


def dz_dx(x, y):
    """Return ∂z/∂x for z = x² + 3xy + y², as a SymPy expression in x and y (y is held constant)."""
    raise NotImplementedError


def dz_dy(x, y):
    """Return ∂z/∂y for z = x² + 3xy + y², as a SymPy expression in x and y (x is held constant)."""
    raise NotImplementedError


def grad_f(x, y):
    """Return the gradient ∇f of f = x² + y² as a list of two expressions: [∂f/∂x, ∂f/∂y]."""
    raise NotImplementedError


def grad_z_numeric(x, y):
    """Return the gradient of z = x² + 3xy + y² at many points at once, with NumPy.

    ``x`` and ``y`` are NumPy arrays of the same shape (any shape, including
    0-d); point i is (x[i], y[i]). Return a tuple ``(dz_dx, dz_dy)`` of two
    arrays with that same shape. Do not modify ``x`` or ``y``.
    """
    raise NotImplementedError


def gd_step(theta, lr):
    """Return θ after one gradient-descent step on J(θ) = (θ - 3)².

    The update is θ ← θ - lr · J'(θ); ``theta`` and ``lr`` are floats.
    Example: gd_step(0.0, 0.1) is 0.6.
    """
    raise NotImplementedError


def gradient_descent(theta0, lr, epochs):
    """Run ``epochs`` gradient-descent steps on J(θ) = (θ - 3)² starting from ``theta0``.

    Return the list of θ values visited, starting with ``theta0``: a list of
    ``epochs + 1`` floats [θ0, θ1, ..., θ_epochs]. With a small learning rate
    the values approach the minimum θ = 3.
    """
    raise NotImplementedError
