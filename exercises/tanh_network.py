"""A network with a tanh hidden layer and a cache, in NumPy (deeplearning.ai style).

Shapes (one column per example, m examples):

    X  (n_x, m)   inputs          Y  (n_y, m)   labels, each 0 or 1
    parameters = {"W1": (n_h, n_x), "b1": (n_h, 1), "W2": (n_y, n_h), "b2": (n_y, 1)}

The hidden layer uses tanh, the output layer the sigmoid σ(z) = 1 / (1 + e^(-z)).
forward_propagation returns a *cache*, the dict of everything the backward pass
needs; backward_propagation receives that cache (the grader gives it the cache of
the right forward pass, so each function is graded on its own).

Cost (cross-entropy):

    J = -(1/m) Σ [ y log a2 + (1 - y) log(1 - a2) ]

Some outputs saturate to exactly 0 or 1 (|Z2| beyond 40): log(A2) is -inf there,
so compute the logs from Z2: log σ(z) = -log(1 + e^(-z)) = -np.logaddexp(0, -z),
and log(1 - σ(z)) = -np.logaddexp(0, z).

Rules the grader checks: never modify the arrays or dicts you are given (the
cache included), return exactly the keys asked for, make it work for any m
(including m = 1). float32 or float64 are both fine.
"""

import numpy as np


def forward_propagation(X, parameters):
    """Return the cache {"Z1", "A1", "Z2", "A2"}:

        Z1 = W1 X + b1,   A1 = tanh(Z1),   Z2 = W2 A1 + b2,   A2 = σ(Z2)
    """
    raise NotImplementedError


def compute_cost(X, Y, parameters):
    """The cost J above, as a Python float."""
    raise NotImplementedError


def backward_propagation(parameters, cache, X, Y):
    """The gradients of J as a dict with keys "dW1", "db1", "dW2", "db2", from the cache:

        dZ2 = A2 - Y
        dW2 = (1/m) dZ2 A1ᵀ            db2 = (1/m) Σ_examples dZ2
        dZ1 = (W2ᵀ dZ2) * (1 - A1²)    (tanh'(z) = 1 - tanh²(z); * is entrywise)
        dW1 = (1/m) dZ1 Xᵀ             db1 = (1/m) Σ_examples dZ1
    """
    raise NotImplementedError


def update_parameters(parameters, grads, learning_rate):
    """One step of gradient descent, θ ← θ - learning_rate · dθ for W1, b1, W2, b2. Return a NEW dict;
    leave ``parameters`` and ``grads`` unmodified."""
    raise NotImplementedError
