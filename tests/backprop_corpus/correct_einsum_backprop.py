"""A correct submission with einsum and σ written through tanh.

expect: correct
"""
import numpy as np


def sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # = 1 / (1 + e^-z), no overflow


def forward(X, params):
    Z1 = np.einsum("hi,im->hm", params["W1"], X) + params["b1"]
    A1 = sigmoid(Z1)
    Z2 = np.einsum("oh,hm->om", params["W2"], A1) + params["b2"]
    return {"Z1": Z1, "A1": A1, "Z2": Z2, "A2": sigmoid(Z2)}


def loss(X, Y, params, lam):
    m = X.shape[1]
    Z2 = forward(X, params)["Z2"]
    # y log σ(z) + (1 - y) log(1 - σ(z)) = y z - log(1 + e^z)
    cross = np.einsum("om->", np.logaddexp(0, Z2) - Y * Z2) / m
    reg = np.einsum("ij,ij->", params["W1"], params["W1"]) + np.einsum("ij,ij->", params["W2"], params["W2"])
    return float(cross + lam / (2 * m) * reg)


def backward(X, Y, params, lam):
    m = X.shape[1]
    f = forward(X, params)
    dZ2 = f["A2"] - Y
    dZ1 = np.einsum("oh,om->hm", params["W2"], dZ2) * f["A1"] * (1 - f["A1"])
    return {
        "dW2": np.einsum("om,hm->oh", dZ2, f["A1"]) / m + (lam / m) * params["W2"],
        "db2": np.einsum("om->o", dZ2)[:, None] / m,
        "dW1": np.einsum("hm,im->hi", dZ1, X) / m + (lam / m) * params["W1"],
        "db1": dZ1.mean(axis=1, keepdims=True),
    }


def sgd_step(params, grads, lr):
    return dict((k, v - lr * grads["d" + k]) for k, v in params.items())
