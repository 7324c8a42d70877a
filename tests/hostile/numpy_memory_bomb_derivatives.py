"""Asks NumPy for a 80 GB array in one call."""
import numpy as np


def d_exp(x):
    return np.ones(10**10).sum() * x


def d_log(x):
    return 1 / x
