"""Classification with a ReLU hidden layer and softmax cross-entropy, in NumPy.

Shapes (one column per example, m examples, K classes):

    X   (n_in, m)     inputs
    Y   (K, m)        one-hot labels: Y[k, i] = 1 when example i is of class k
    params = {"W1": (n_hidden, n_in), "b1": (n_hidden, 1),
              "W2": (K, n_hidden),    "b2": (K, 1)}

The hidden layer uses ReLU(z) = max(z, 0); the output layer gives class scores Z2,
turned into probabilities by the softmax over the classes of each column:

    P[k, i] = e^(Z2[k, i]) / Σ_j e^(Z2[j, i])

Loss (cross-entropy plus L2 regularisation of the weights, not the biases):

    J = -(1/m) Σ_i log P[class of i, i] + λ/(2m) (‖W1‖² + ‖W2‖²)

Some scores are in the thousands: e^z overflows there and P underflows to exactly
0, so compute the softmax after subtracting each column's maximum, and log P with
the log-sum-exp trick, log P = Z - max Z - log Σ e^(Z - max Z), never as log(P).

Rules the grader checks: never modify the arrays or the dict you are given, return
exactly the keys asked for, make it work for any m (including m = 1). float32 or
float64 are both fine. A later function is also judged on your own earlier results.
"""

import numpy as np


def forward(X, params):
    """Forward pass. Return a dict with keys "Z1", "A1", "Z2", "P":

        Z1 = W1 X + b1,   A1 = max(Z1, 0),   Z2 = W2 A1 + b2,   P = softmax(Z2) (each column sums to 1)
    """
    raise NotImplementedError


def loss(X, Y, params, lam):
    """The loss J above as a Python float (λ is ``lam``), with the log-sum-exp trick."""
    raise NotImplementedError


def backward(X, Y, params, lam):
    """The gradients of J, as a dict with keys "dW1", "db1", "dW2", "db2":

        dZ2 = (P - Y) / m
        dW2 = dZ2 A1ᵀ + (λ/m) W2        db2 = Σ_examples dZ2
        dZ1 = (W2ᵀ dZ2) * (Z1 > 0)       (ReLU'(z) is 1 where z > 0, else 0)
        dW1 = dZ1 Xᵀ + (λ/m) W1         db1 = Σ_examples dZ1
    """
    raise NotImplementedError


def sgd_step(params, grads, lr):
    """One step of gradient descent, θ ← θ - lr · dθ for each of W1, b1, W2, b2. Return a NEW dict
    with keys "W1", "b1", "W2", "b2"; leave ``params`` and ``grads`` unmodified."""
    raise NotImplementedError
