"""Regression with a two-layer network: mean squared error, parameters as positional arrays.

Reference solutions in plain NumPy. Shapes: X (n_in, m), Y (n_out, m) real targets,
W1 (n_hidden, n_in), b1 (n_hidden, 1), W2 (n_out, n_hidden), b2 (n_out, 1); a sigmoid
hidden layer and a linear output layer. The catalogue test grades this file like any submission.
"""

import numpy as np

from grader.networks import networks
from grader.spec import computation, exercise, mistake, stage

EXERCISE = exercise("Regression: a two-layer network with mean squared error", order=4,
                    summary="forward pass, squared-error loss, its gradients as a tuple and one "
                            "gradient-descent step, with every parameter its own argument.")


def _sigmoid(z):
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


#: three networks with two or three outputs (so averaging over outputs cannot hide), m = 1 among them,
#: a large-input one (|Z1| past 750) and one whose output biases are ±50
NET = computation(
    cases=lambda rng: networks(rng, [(3, 4, 2, 5), (4, 3, 2, 1), (2, 5, 3, 7)], layout="positional",
                               targets="real", lr=0.05),
    params=("W1", "b1", "W2", "b2"), seed="regression")


def _forward_with(X, W1, b1, W2, b2, act=_sigmoid, out=lambda z: z, bias2=True):
    Z1 = W1 @ X + b1
    A1 = act(Z1)
    return {"Z1": Z1, "A1": A1, "Yhat": out(W2 @ A1 + (b2 if bias2 else 0))}


FORWARD_MISTAKES = [
    mistake(lambda X, W1, b1, W2, b2: _forward_with(X, W1, b1, W2, b2, act=lambda z: z),
            "σ is not applied to the hidden layer: A1 = σ(Z1)", tag="activation_missing"),
    mistake(lambda X, W1, b1, W2, b2: _forward_with(X, W1, b1, W2, b2, out=_sigmoid),
            "the output layer of a regression network is linear: Ŷ = W2 A1 + b2, without σ", tag="output_sigmoid"),
    mistake(lambda X, W1, b1, W2, b2: _forward_with(X, W1, b1, W2, b2, bias2=False),
            "b2 is not added: Ŷ = W2 A1 + b2", tag="bias_missing"),
]


@stage(points=2, computation=NET, mistakes=FORWARD_MISTAKES,
       follows={"A1": lambda own, X, W1, b1, W2, b2: _sigmoid(own["Z1"]),
                "Yhat": lambda own, X, W1, b1, W2, b2: W2 @ own["A1"] + b2})
def forward(X, W1, b1, W2, b2):
    """Forward pass: Z1 = W1 X + b1, A1 = σ(Z1), Ŷ = W2 A1 + b2."""
    Z1 = W1 @ X + b1
    A1 = _sigmoid(Z1)
    return {"Z1": Z1, "A1": A1, "Yhat": W2 @ A1 + b2}


def _residual(X, Y, W1, b1, W2, b2):
    return forward(X, W1, b1, W2, b2)["Yhat"] - Y


LOSS_MISTAKES = [
    mistake(lambda X, Y, W1, b1, W2, b2: float(np.sum(_residual(X, Y, W1, b1, W2, b2) ** 2) / X.shape[1]),
            "the loss is twice the expected one: J = 1/(2m) Σ (ŷ - y)², with the 1/2", tag="missing_half"),
    mistake(lambda X, Y, W1, b1, W2, b2: float(np.mean(_residual(X, Y, W1, b1, W2, b2) ** 2) / 2),
            "np.mean divides by every entry (m × n_out): divide the sum by 2m only", tag="mean_over_outputs"),
    mistake(lambda X, Y, W1, b1, W2, b2: float(np.sum(np.abs(_residual(X, Y, W1, b1, W2, b2))) / (2 * X.shape[1])),
            "this is the absolute error: square the residuals, (ŷ - y)²", tag="absolute_error"),
    mistake(lambda X, Y, W1, b1, W2, b2: float(np.sum(_residual(X, Y, W1, b1, W2, b2)) ** 2 / (2 * X.shape[1])),
            "the residuals are summed before they are squared: square each one, then sum", tag="square_of_sum"),
]


@stage(points=2, computation=NET, after=forward, mistakes=LOSS_MISTAKES,
       given=lambda out, X, Y, W1, b1, W2, b2: float(np.sum((out["Yhat"] - Y) ** 2) / (2 * X.shape[1])))
def loss(X, Y, W1, b1, W2, b2):
    """J = 1/(2m) Σ (ŷ - y)² over every entry of Ŷ and Y."""
    m = X.shape[1]
    return float(np.sum((forward(X, W1, b1, W2, b2)["Yhat"] - Y) ** 2) / (2 * m))


def _backward_with(X, Y, W1, b1, W2, b2, out_factor=1.0, hidden=lambda A1: A1 * (1 - A1), output=None):
    m = X.shape[1]
    f = forward(X, W1, b1, W2, b2)
    dZ2 = out_factor * (f["Yhat"] - Y) / m
    if output is not None:
        dZ2 = dZ2 * output(f["Yhat"])
    dW2 = dZ2 @ f["A1"].T
    db2 = np.sum(dZ2, axis=1, keepdims=True)
    dZ1 = (W2.T @ dZ2) * hidden(f["A1"])
    return dZ1 @ X.T, np.sum(dZ1, axis=1, keepdims=True), dW2, db2


BACKWARD_MISTAKES = [
    mistake(lambda X, Y, W1, b1, W2, b2: _backward_with(X, Y, W1, b1, W2, b2, out_factor=2.0),
            "the 2 from the square cancels the 1/2 in J: dŶ = (Ŷ - Y)/m, not 2(Ŷ - Y)/m", tag="twice"),
    mistake(lambda X, Y, W1, b1, W2, b2: _backward_with(X, Y, W1, b1, W2, b2, output=lambda A: A * (1 - A)),
            "the output layer is linear, so there is no σ' at the output: dZ2 = (Ŷ - Y)/m", tag="output_sigmoid_prime"),
    mistake(lambda X, Y, W1, b1, W2, b2: _backward_with(X, Y, W1, b1, W2, b2, hidden=lambda A1: 1.0),
            "the hidden layer's error is missing σ'(Z1) = A1 (1 - A1): dZ1 = (W2ᵀ dZ2) * A1 * (1 - A1)",
            tag="missing_sigmoid_prime"),
    mistake(lambda X, Y, W1, b1, W2, b2: _backward_with(X, Y, W1, b1, W2, b2, hidden=lambda A1: 1 - A1 ** 2),
            "1 - A1² is the derivative of tanh; for the sigmoid σ'(Z1) = A1 (1 - A1)", tag="tanh_prime"),
]


@stage(points=4, computation=NET, gradient_of=loss, after=(forward, loss), mistakes=BACKWARD_MISTAKES,
       hints={"sign_error": "dZ2 = (Ŷ - Y)/m, not (Y - Ŷ)/m"})
def backward(X, Y, W1, b1, W2, b2):
    """The gradients (dW1, db1, dW2, db2) of J, in the order of the parameters:
    dZ2 = (Ŷ - Y)/m, dW2 = dZ2 A1ᵀ, db2 = Σ dZ2, dZ1 = (W2ᵀ dZ2) * A1 (1 - A1), dW1 = dZ1 Xᵀ, db1 = Σ dZ1."""
    m = X.shape[1]
    f = forward(X, W1, b1, W2, b2)
    dZ2 = (f["Yhat"] - Y) / m
    dW2 = dZ2 @ f["A1"].T
    db2 = np.sum(dZ2, axis=1, keepdims=True)
    dZ1 = (W2.T @ dZ2) * f["A1"] * (1 - f["A1"])
    return dZ1 @ X.T, np.sum(dZ1, axis=1, keepdims=True), dW2, db2


@stage(points=2, computation=NET, update_of=loss, gradients=backward)
def sgd_step(W1, b1, W2, b2, grads, lr):
    """One gradient-descent step on every parameter; returns the new (W1, b1, W2, b2)."""
    dW1, db1, dW2, db2 = grads
    return W1 - lr * dW1, b1 - lr * db1, W2 - lr * dW2, b2 - lr * db2
