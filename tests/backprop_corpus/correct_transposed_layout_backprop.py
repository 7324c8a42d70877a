"""A correct submission that works internally with rows as examples and transposes back.

expect: correct
"""
import numpy as np


def _sigmoid(z):
    out = np.empty_like(z, dtype=float)
    pos = z >= 0
    out[pos] = 1 / (1 + np.exp(-z[pos]))
    e = np.exp(z[~pos])
    out[~pos] = e / (1 + e)
    return out


def forward(X, params):
    Xr = X.T                                   # (m, n_in)
    Z1r = Xr @ params["W1"].T + params["b1"].T  # (m, n_hidden)
    A1r = _sigmoid(Z1r)
    Z2r = A1r @ params["W2"].T + params["b2"].T
    A2r = _sigmoid(Z2r)
    return {"Z1": Z1r.T, "A1": A1r.T, "Z2": Z2r.T, "A2": A2r.T}


def loss(X, Y, params, lam):
    m = X.shape[1]
    A2 = forward(X, params)["A2"]
    Z2 = forward(X, params)["Z2"]
    J = -(Y * Z2 - np.logaddexp(0, Z2)).sum() / m
    J += lam / 2 / m * (np.linalg.norm(params["W1"]) ** 2 + np.linalg.norm(params["W2"]) ** 2)
    return float(J)


def backward(X, Y, params, lam):
    m = X.shape[1]
    f = forward(X, params)
    d2 = (f["A2"] - Y).T                        # (m, n_out)
    a1 = f["A1"].T
    d1 = (d2 @ params["W2"]) * a1 * (1 - a1)    # (m, n_hidden)
    return {
        "dW2": (a1.T @ d2).T / m + lam / m * params["W2"],
        "db2": d2.sum(axis=0)[:, np.newaxis] / m,
        "dW1": (X @ d1).T / m + lam / m * params["W1"],
        "db1": d1.sum(axis=0)[:, np.newaxis] / m,
    }


def sgd_step(params, grads, lr):
    return {k: params[k] - lr * grads["d" + k] for k in ["W1", "b1", "W2", "b2"]}
