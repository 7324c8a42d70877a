"""A learner's gradients: one delegated to SymPy, two classic mistakes, one trajectory that goes astray."""

import numpy as np
import sympy


def dz_dx(x, y):
    return sympy.diff(x**2 + 3 * x * y + y**2, x)


def dz_dy(x, y):
    return 3 * x + 2 * y


def grad_f(x, y):
    return [2 * x, 2 * y]


def grad_z_numeric(x, y):
    return (3 * x + 2 * y, 2 * x + 3 * y)


def gd_step(theta, lr):
    return theta + lr * 2 * (theta - 3)


def gradient_descent(theta0, lr, epochs):
    thetas = [theta0]
    for _ in range(epochs):
        theta = thetas[-1]
        thetas.append(theta - lr * 2 * (theta + 3))
    return thetas
