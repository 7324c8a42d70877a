"""A correct submission computing everything in float32.

expect: correct
"""
import numpy as np

F = np.float32


def sigmoid(z):
    z = np.clip(z, F(-60), F(60))  # keeps exp finite in float32; σ is 0 or 1 out there anyway
    return F(1) / (F(1) + np.exp(-z))


def _p(params):
    return {k: np.asarray(v, dtype=F) for k, v in params.items()}


def forward(X, params):
    p = _p(params)
    X = X.astype(F)
    Z1 = p["W1"] @ X + p["b1"]
    A1 = sigmoid(Z1)
    Z2 = p["W2"] @ A1 + p["b2"]
    return {"Z1": Z1, "A1": A1, "Z2": Z2, "A2": sigmoid(Z2)}


def loss(X, Y, params, lam):
    p = _p(params)
    m = X.shape[1]
    A2 = forward(X, params)["A2"]
    Z2 = forward(X, params)["Z2"]
    Y = Y.astype(F)
    cross = -np.sum(Y * Z2 - np.logaddexp(F(0), Z2)) / F(m)
    return float(cross + F(lam) / F(2 * m) * (np.sum(p["W1"] ** 2) + np.sum(p["W2"] ** 2)))


def backward(X, Y, params, lam):
    p = _p(params)
    m = F(X.shape[1])
    f = forward(X, params)
    dZ2 = f["A2"] - Y.astype(F)
    dZ1 = (p["W2"].T @ dZ2) * f["A1"] * (F(1) - f["A1"])
    return {"dW1": dZ1 @ X.astype(F).T / m + F(lam) / m * p["W1"],
            "db1": dZ1.sum(axis=1, keepdims=True) / m,
            "dW2": dZ2 @ f["A1"].T / m + F(lam) / m * p["W2"],
            "db2": dZ2.sum(axis=1, keepdims=True) / m}


def sgd_step(params, grads, lr):
    return {k: (params[k] - F(lr) * grads["d" + k]).astype(F) for k in ("W1", "b1", "W2", "b2")}
