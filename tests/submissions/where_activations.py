"""A learner who guards the sigmoid with np.where (both branches still overflow) and silences tanh_grad."""

import numpy as np


def sigmoid(z):
    return np.where(z >= 0, 1 / (1 + np.exp(-z)), np.exp(z) / (1 + np.exp(z)))


def sigmoid_grad(z):
    s = sigmoid(z)
    return s * (1 - s)


def tanh_grad(z):
    with np.errstate(all="ignore"):
        return 1 - np.tanh(z) ** 2
