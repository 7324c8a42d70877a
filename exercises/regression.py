"""Regression with a two-layer network, in NumPy: mean squared error, parameters as positional arrays.

The hidden layer uses the sigmoid σ(z) = 1 / (1 + e^(-z)); the output layer is
linear (no activation), as usual for regression.

Shapes (one column per example, m examples):

    X   (n_in, m)     inputs            Y   (n_out, m)   real-valued targets
    W1  (n_hidden, n_in)   b1 (n_hidden, 1)   W2 (n_out, n_hidden)   b2 (n_out, 1)

Every parameter is its own argument: forward(X, W1, b1, W2, b2).

Loss (mean squared error over the examples, with a 1/2 that cancels in the gradient):

    J = 1/(2m) Σ (ŷ - y)²     summed over every entry of Ŷ and Y

Rules the grader checks: never modify the arrays you are given, make it work for
any m (including m = 1) and any layer widths, and compute σ so that it does not
overflow for |Z1| up to about 800. float32 or float64 are both fine. A later
function is also judged on your own earlier results, so one slip is not charged twice.
"""

import numpy as np


def forward(X, W1, b1, W2, b2):
    """Forward pass. Return a dict with keys "Z1", "A1", "Yhat":

        Z1 = W1 X + b1,   A1 = σ(Z1),   Yhat = W2 A1 + b2
    """
    raise NotImplementedError


def loss(X, Y, W1, b1, W2, b2):
    """The loss J above, as a Python float."""
    raise NotImplementedError


def backward(X, Y, W1, b1, W2, b2):
    """The gradients of J as a tuple (dW1, db1, dW2, db2), in the order of the parameters,
    each with its parameter's shape:

        dZ2 = (Ŷ - Y) / m
        dW2 = dZ2 A1ᵀ                  db2 = Σ_examples dZ2
        dZ1 = (W2ᵀ dZ2) * A1 (1 - A1)   (* is entrywise)
        dW1 = dZ1 Xᵀ                   db1 = Σ_examples dZ1
    """
    raise NotImplementedError


def sgd_step(W1, b1, W2, b2, grads, lr):
    """One step of gradient descent: ``grads`` is the tuple ``backward`` returns. Return the new
    (W1, b1, W2, b2) as a tuple of NEW arrays; leave the arguments unmodified."""
    raise NotImplementedError
