"""Partial derivatives, gradients and gradient descent.

Reference solutions, written as hand-derived expressions (no ``sympy.diff``):
the catalogue test grades this file like any submission.
"""

import numpy as np

from grader.spec import AUTOGRAD_MODULES, exercise, mistake, numeric, symbolic

EXERCISE = exercise("Partial derivatives, gradients and gradient descent", order=2,
                    summary="∂z/∂x and ∂z/∂y of z = x² + 3xy + y², the gradient of x² + y², "
                            "and gradient descent on J(θ) = (θ - 3)².")


def _z(x, y):
    return x**2 + 3 * x * y + y**2


@symbolic(points=1, antiderivative=_z, mistakes=[
    mistake(lambda x, y: 2 * x + 3 * x * y, "the term 3xy differentiates to 3y when y is held constant "
            "(the x disappears, as in d/dx 3x = 3)", tag="cross_term_kept"),
    mistake(lambda x, y: 2 * x + 3 * y + 2 * y, "y is a constant in ∂/∂x, so y² differentiates to 0, "
            "not 2y", tag="constant_term_differentiated"),
    mistake(lambda x, y: 2 * x, "3xy depends on x too: holding y constant it contributes 3y",
            tag="cross_term_dropped"),
])
def dz_dx(x, y):
    """∂z/∂x for z = x² + 3xy + y²"""
    return 2 * x + 3 * y


@symbolic(points=1, antiderivative=_z, mistakes=[
    mistake(lambda x, y: 2 * x + 3 * y, "that is ∂z/∂x; for ∂z/∂y hold x constant: 3xy gives 3x and "
            "y² gives 2y", tag="wrong_variable"),
    mistake(lambda x, y: 3 * x, "y² depends on y: it contributes 2y to ∂z/∂y", tag="square_term_dropped"),
    mistake(lambda x, y: 2 * y, "3xy depends on y too: holding x constant it contributes 3x",
            tag="cross_term_dropped"),
])
def dz_dy(x, y):
    """∂z/∂y for z = x² + 3xy + y²"""
    return 3 * x + 2 * y


@symbolic(points=2, mistakes=[
    mistake(lambda x, y: [x, y], "each component lost the factor 2 of the power rule: "
            "∂(x²)/∂x = 2x and ∂(y²)/∂y = 2y", tag="missing_factor_2"),
    mistake(lambda x, y: [2 * y, 2 * x], "the components are in the wrong order: ∇f lists ∂f/∂x first, "
            "then ∂f/∂y", tag="components_swapped"),
    mistake(lambda x, y: [-2 * x, -2 * y], "that is -∇f, the direction of steepest descent; the gradient "
            "itself points uphill: (2x, 2y)", tag="negative_gradient"),
])
def grad_f(x, y):
    """∇f for f = x² + y², as [∂f/∂x, ∂f/∂y]"""
    return [2 * x, 2 * y]


def _point_cases(rng):
    shapes = [(5,), (3, 4), (), (2, 2, 3)]
    cases = [(rng.normal(0, 3, s), rng.normal(0, 3, s)) for s in shapes]
    cases.append((np.array([1.0, 0.0, -2.0]), np.array([2.0, 0.0, 0.5])))
    return cases


@numeric(points=2, cases=_point_cases, forbid=AUTOGRAD_MODULES, mistakes=[
    mistake(lambda x, y: (3 * x + 2 * y, 2 * x + 3 * y), "the two partials are swapped: ∂z/∂x = 2x + 3y "
            "comes first, ∂z/∂y = 3x + 2y second", tag="components_swapped"),
    mistake(lambda x, y: (2 * x, 2 * y), "the cross term 3xy is missing: it adds 3y to ∂z/∂x and 3x to ∂z/∂y",
            tag="cross_term_dropped"),
    mistake(lambda x, y: (2 * x + 3 * x * y, 3 * x * y + 2 * y), "3xy differentiates to 3y with respect to x "
            "(and 3x with respect to y): the variable you differentiate by disappears", tag="cross_term_kept"),
])
def grad_z_numeric(x, y):
    """∇z of z = x² + 3xy + y² at arrays of points, as (∂z/∂x, ∂z/∂y)"""
    return (2 * x + 3 * y, 3 * x + 2 * y)


def _step_cases(rng):
    fixed = [(0.0, 0.1), (3.0, 0.1), (10.0, 0.25), (-4.0, 0.05), (1.5, 1.0)]
    return fixed + [(float(rng.uniform(-10, 10)), float(rng.uniform(0.01, 0.5))) for _ in range(3)]


@numeric(points=1, cases=_step_cases, forbid=AUTOGRAD_MODULES, mistakes=[
    mistake(lambda theta, lr: theta + lr * 2 * (theta - 3), "gradient descent subtracts: θ ← θ - η·J'(θ); "
            "adding the gradient climbs away from the minimum", tag="ascent_instead_of_descent"),
    mistake(lambda theta, lr: theta - lr * (theta - 3), "J'(θ) = 2(θ - 3): the factor 2 from the power rule "
            "is missing", tag="missing_factor_2"),
    mistake(lambda theta, lr: theta - 2 * (theta - 3), "the step is η·J'(θ): multiply the gradient by the "
            "learning rate lr", tag="learning_rate_ignored"),
])
def gd_step(theta, lr):
    """one gradient-descent step on J(θ) = (θ - 3)²"""
    return theta - lr * 2 * (theta - 3)


def _trajectory(theta0, lr, epochs, update):
    thetas = [float(theta0)]
    for _ in range(int(epochs)):
        thetas.append(update(thetas[-1], lr))
    return thetas


def _descent_cases(rng):
    return [(0.0, 0.1, 50), (10.0, 0.05, 200), (-5.0, 0.3, 40), (3.0, 0.1, 5),
            (float(rng.uniform(-20, 20)), 0.2, 60)]


@numeric(points=2, cases=_descent_cases, converges_to=3.0, forbid=AUTOGRAD_MODULES, mistakes=[
    mistake(lambda theta0, lr, epochs: _trajectory(theta0, lr, epochs, lambda t, lr: t - lr * 2 * (t - 3))[1:],
            "the list must start with theta0 and hold epochs + 1 values: θ0, θ1, ..., θ_epochs",
            tag="start_value_missing"),
    mistake(lambda theta0, lr, epochs: _trajectory(theta0, lr, epochs, lambda t, lr: t - lr * (t - 3)),
            "J'(θ) = 2(θ - 3): the factor 2 from the power rule is missing, so every step is half as long",
            tag="missing_factor_2"),
    mistake(lambda theta0, lr, epochs: _trajectory(theta0, lr, epochs, lambda t, lr: t + lr * 2 * (t - 3)),
            "gradient descent subtracts: θ ← θ - η·J'(θ); adding the gradient moves θ away from 3",
            tag="ascent_instead_of_descent"),
])
def gradient_descent(theta0, lr, epochs):
    """gradient descent on J(θ) = (θ - 3)²: the list of θ values visited"""
    return _trajectory(theta0, lr, epochs, lambda t, lr: t - lr * 2 * (t - 3))
