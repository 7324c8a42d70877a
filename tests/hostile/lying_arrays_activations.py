"""NumPy answers that lie: an ndarray subclass with __eq__/__array_ufunc__, an object array, NaN."""
import numpy as np


class LyingArray(np.ndarray):
    def __eq__(self, other):
        return np.ones(np.shape(other), dtype=bool)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return np.zeros(1)

    def __float__(self):
        return 0.5


def sigmoid(z):
    return np.zeros(np.shape(z)).view(LyingArray)


def sigmoid_grad(z):
    return np.array([object()] * np.size(z), dtype=object)


def tanh_grad(z):
    return np.full(np.shape(z), np.nan)
