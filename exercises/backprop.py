"""One backpropagation step of a two-layer network, in NumPy.

The network has an input layer, one hidden layer and an output layer, with a
sigmoid σ(z) = 1 / (1 + e^(-z)) on both the hidden and the output layer.

Shapes (one column per example, m examples):

    X   (n_in, m)        inputs
    Y   (n_out, m)       targets, each 0 or 1
    params = {"W1": (n_hidden, n_in), "b1": (n_hidden, 1),
              "W2": (n_out, n_hidden), "b2": (n_out, 1)}

Loss (logistic loss plus L2 regularisation of the weights, not the biases):

    J = -(1/m) Σ [ y log a2 + (1 - y) log(1 - a2) ] + λ/(2m) (‖W1‖² + ‖W2‖²)

where the sum runs over every entry of Y and A2, and ‖W‖² is the sum of the
squares of W's entries.

Rules the grader checks: never modify the arrays you are given (work on new
arrays; ``W -= ...`` changes the caller's array), return exactly the
dictionary keys asked for, and make it work for any m (including m = 1) and
for layers of different widths. Some test inputs are large (|Z1| up to about
800): compute σ so that it does not overflow to NaN there. float32 or float64
are both fine. Each function is graded separately, and a later one is also
judged on your own earlier results, so one slip is not charged twice.
"""

import numpy as np


def forward(X, params):
    """Forward pass. Return a dict with

        Z1 = W1 X + b1,   A1 = σ(Z1),   Z2 = W2 A1 + b2,   A2 = σ(Z2)

    (keys "Z1", "A1", "Z2", "A2"; b1 and b2 are added to every column).
    """
    raise NotImplementedError


def loss(X, Y, params, lam):
    """The loss J above as a Python float (λ is ``lam``)."""
    raise NotImplementedError


def backward(X, Y, params, lam):
    """The gradients of J, as a dict with keys "dW1", "db1", "dW2", "db2",
    each with the same shape as the parameter it belongs to:

        dZ2 = A2 - Y
        dW2 = (1/m) dZ2 A1ᵀ + (λ/m) W2        db2 = (1/m) Σ_examples dZ2
        dZ1 = (W2ᵀ dZ2) * σ'(Z1),  σ'(Z1) = A1 (1 - A1)   (* is entrywise)
        dW1 = (1/m) dZ1 Xᵀ + (λ/m) W1         db1 = (1/m) Σ_examples dZ1
    """
    raise NotImplementedError


def sgd_step(params, grads, lr):
    """One step of gradient descent, θ ← θ - lr · dθ for each of W1, b1, W2, b2
    (``grads`` is what ``backward`` returns). Return a NEW dict with keys
    "W1", "b1", "W2", "b2"; leave ``params`` and ``grads`` unmodified.
    """
    raise NotImplementedError
