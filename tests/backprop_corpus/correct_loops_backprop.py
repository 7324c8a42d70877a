"""A correct submission written with loops over the examples.

expect: correct
"""
import math

import numpy as np


def sig(z):
    # the stable form: never exp of a large positive number
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def forward(X, params):
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    n_h, m = W1.shape[0], X.shape[1]
    Z1 = np.zeros((n_h, m))
    A1 = np.zeros((n_h, m))
    Z2 = np.zeros((W2.shape[0], m))
    A2 = np.zeros((W2.shape[0], m))
    for j in range(m):
        for i in range(n_h):
            Z1[i, j] = sum(W1[i, k] * X[k, j] for k in range(X.shape[0])) + b1[i, 0]
            A1[i, j] = sig(Z1[i, j])
        for o in range(W2.shape[0]):
            Z2[o, j] = sum(W2[o, i] * A1[i, j] for i in range(n_h)) + b2[o, 0]
            A2[o, j] = sig(Z2[o, j])
    return {"Z1": Z1, "A1": A1, "Z2": Z2, "A2": A2}


def loss(X, Y, params, lam):
    m = X.shape[1]
    Z2 = forward(X, params)["Z2"]
    total = 0.0
    for o in range(Y.shape[0]):
        for j in range(m):
            z = float(Z2[o, j])  # -log σ(z) = log(1 + e^-z), written so e^|z| never overflows
            total += max(z, 0.0) + math.log1p(math.exp(-abs(z))) - Y[o, j] * z
    squares = sum(float(w) ** 2 for w in params["W1"].ravel()) + sum(float(w) ** 2 for w in params["W2"].ravel())
    return total / m + lam / (2 * m) * squares


def backward(X, Y, params, lam):
    m = X.shape[1]
    c = forward(X, params)
    W1, W2 = params["W1"], params["W2"]
    grads = {"dW1": np.zeros_like(W1), "db1": np.zeros_like(params["b1"]),
             "dW2": np.zeros_like(W2), "db2": np.zeros_like(params["b2"])}
    for j in range(m):  # one example at a time, then average
        x = X[:, j:j + 1]
        a1 = c["A1"][:, j:j + 1]
        dz2 = c["A2"][:, j:j + 1] - Y[:, j:j + 1]
        dz1 = (W2.T @ dz2) * a1 * (1 - a1)
        grads["dW2"] += np.outer(dz2, a1)
        grads["db2"] += dz2
        grads["dW1"] += np.outer(dz1, x)
        grads["db1"] += dz1
    for k in grads:
        grads[k] = grads[k] / m
    grads["dW1"] = grads["dW1"] + lam / m * W1
    grads["dW2"] = grads["dW2"] + lam / m * W2
    return grads


def sgd_step(params, grads, lr):
    new = {}
    for name, value in params.items():
        new[name] = value.copy()
        new[name] -= lr * grads["d" + name]
    return new
