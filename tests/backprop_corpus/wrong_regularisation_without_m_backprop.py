"""A wrong backward: used λ W in the gradient.

expect: regularisation_factor
"""
import numpy as np


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def forward(X, params):
    Z1 = params["W1"] @ X + params["b1"]
    A1 = sigmoid(Z1)
    Z2 = params["W2"] @ A1 + params["b2"]
    A2 = sigmoid(Z2)
    return {"Z1": Z1, "A1": A1, "Z2": Z2, "A2": A2}


def loss(X, Y, params, lam):
    m = X.shape[1]
    A2 = forward(X, params)["A2"]
    Z2 = forward(X, params)["Z2"]
    cross = -np.sum(Y * Z2 - np.logaddexp(0, Z2)) / m
    return float(cross + lam / (2 * m) * (np.sum(params["W1"] ** 2) + np.sum(params["W2"] ** 2)))


def sgd_step(params, grads, lr):
    return {k: params[k] - lr * grads["d" + k] for k in params}


def backward(X, Y, params, lam):
    m = X.shape[1]
    cache = forward(X, params)
    A1, A2 = cache["A1"], cache["A2"]
    W1, W2 = params["W1"], params["W2"]
    dZ2 = A2 - Y
    dW2 = dZ2 @ A1.T / m + lam * W2
    db2 = np.sum(dZ2, axis=1, keepdims=True) / m
    dZ1 = (W2.T @ dZ2) * A1 * (1 - A1)
    dW1 = dZ1 @ X.T / m + lam * W1
    db1 = np.sum(dZ1, axis=1, keepdims=True) / m
    return {"dW1": dW1, "db1": db1, "dW2": dW2, "db2": db2}
