"""A correct submission that loops over hidden units and uses np.dot.

expect: correct
"""
import numpy as np


def sigmoid(z):
    return np.exp(-np.logaddexp(0.0, -z))


def forward(X, params):
    Z1 = np.dot(params["W1"], X) + params["b1"]
    A1 = sigmoid(Z1)
    Z2 = np.dot(params["W2"], A1) + params["b2"]
    return dict(Z1=Z1, A1=A1, Z2=Z2, A2=sigmoid(Z2))


def loss(X, Y, params, lam):
    m = Y.shape[1]
    A2 = forward(X, params)["A2"]
    Z2 = forward(X, params)["Z2"]
    eps = 0.0
    ce = -(np.multiply(Y, Z2) - np.logaddexp(eps, Z2)).sum() / m
    l2 = sum(np.square(params[w]).sum() for w in ("W1", "W2"))
    return float(ce + lam * l2 / (2 * m))


def backward(X, Y, params, lam):
    m = Y.shape[1]
    f = forward(X, params)
    W1, W2 = params["W1"], params["W2"]
    dZ2 = f["A2"] - Y
    dW2 = np.dot(dZ2, f["A1"].T) / m + lam * W2 / m
    db2 = dZ2.mean(axis=1).reshape(-1, 1)
    dW1 = np.empty(W1.shape)
    db1 = np.empty((W1.shape[0], 1))
    for h in range(W1.shape[0]):  # one hidden unit at a time
        a = f["A1"][h]
        dz = np.dot(W2[:, h], dZ2) * a * (1 - a)
        dW1[h] = np.dot(X, dz) / m + lam * W1[h] / m
        db1[h, 0] = dz.sum() / m
    return {"dW1": dW1, "db1": db1, "dW2": dW2, "db2": db2}


def sgd_step(params, grads, lr):
    out = {}
    for k in params:
        out[k] = np.subtract(params[k], np.multiply(lr, grads["d" + k]))
    return out
