"""Loss and backward both leave out the regularisation: backward is consistent with this loss.

The slip is charged once, to loss; backward agrees with finite differences of
this loss and keeps its points (error carried forward).

expect: carried_forward
"""
import numpy as np


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def forward(X, params):
    Z1 = params["W1"] @ X + params["b1"]
    A1 = sigmoid(Z1)
    Z2 = params["W2"] @ A1 + params["b2"]
    return {"Z1": Z1, "A1": A1, "Z2": Z2, "A2": sigmoid(Z2)}


def loss(X, Y, params, lam):
    m = X.shape[1]
    A2 = forward(X, params)["A2"]
    Z2 = forward(X, params)["Z2"]
    return float(-np.sum(Y * Z2 - np.logaddexp(0, Z2)) / m)


def backward(X, Y, params, lam):
    m = X.shape[1]
    c = forward(X, params)
    dZ2 = c["A2"] - Y
    dZ1 = (params["W2"].T @ dZ2) * c["A1"] * (1 - c["A1"])
    return {"dW1": dZ1 @ X.T / m, "db1": np.sum(dZ1, axis=1, keepdims=True) / m,
            "dW2": dZ2 @ c["A1"].T / m, "db2": np.sum(dZ2, axis=1, keepdims=True) / m}


def sgd_step(params, grads, lr):
    return {k: params[k] - lr * grads["d" + k] for k in params}
