"""Classification with a ReLU hidden layer and softmax cross-entropy over classes.

Reference solutions in plain NumPy. Shapes: X (n_in, m), Y (n_classes, m) one-hot,
params = {"W1": (n_hidden, n_in), "b1": (n_hidden, 1), "W2": (n_classes, n_hidden),
"b2": (n_classes, 1)}. The catalogue test grades this file like any submission.
"""

import numpy as np

from grader.networks import networks
from grader.spec import computation, exercise, mistake, stage

EXERCISE = exercise("Classification: ReLU and softmax cross-entropy", order=4,
                    summary="forward pass with a stable softmax, cross-entropy over classes with the "
                            "log-sum-exp trick and L2 regularisation, its gradients and one step.")


#: three networks with 3 or 4 classes, m = 1 among them, a large-input one (ReLU passes |Z1| ≈ 800 on, so
#: the scores reach the thousands: e^z overflows and a softmax underflows to exactly 0) and one whose
#: class biases are ±50; λ differs between them so a wrong regularisation factor cannot hide. The seed
#: keeps every |Z1| of the first network away from ReLU's kink, where finite differences would not apply.
NET = computation(
    cases=lambda rng: networks(rng, [(3, 4, 3, 5), (4, 3, 3, 1), (2, 5, 4, 6)], targets="onehot",
                               lambdas=(0.3, 0.6, 0.2, 0.5, 0.4), lr=0.1),
    params="params", regulariser="lam", seed="softmax-3")


def _log_softmax(Z):
    """log softmax over the classes (axis 0) with the log-sum-exp trick: no overflow, no log(0)."""
    shifted = Z - Z.max(axis=0, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=0, keepdims=True))


def _forward_with(X, params, act=lambda z: np.maximum(z, 0), axis=0):
    Z1 = params["W1"] @ X + params["b1"]
    A1 = act(Z1)
    Z2 = params["W2"] @ A1 + params["b2"]
    shifted = Z2 - Z2.max(axis=axis, keepdims=True)
    E = np.exp(shifted)
    return {"Z1": Z1, "A1": A1, "Z2": Z2, "P": E / np.sum(E, axis=axis, keepdims=True)}


FORWARD_MISTAKES = [
    mistake(lambda X, params: _forward_with(X, params, act=lambda z: z),
            "ReLU is not applied: A1 = max(Z1, 0)", tag="activation_missing"),
    mistake(lambda X, params: _forward_with(X, params, act=lambda z: 1 / (1 + np.exp(-z))),
            "this is the sigmoid; the hidden layer uses ReLU: A1 = max(Z1, 0)", tag="sigmoid_activation"),
    mistake(lambda X, params: _forward_with(X, params, axis=1),
            "the softmax is normalised over the examples: each column (one example) must sum to 1, so "
            "normalise over the classes, axis=0", tag="softmax_wrong_axis"),
]


@stage(points=2, computation=NET, mistakes=FORWARD_MISTAKES,
       follows={"A1": lambda own, X, params: np.maximum(own["Z1"], 0),
                "Z2": lambda own, X, params: params["W2"] @ own["A1"] + params["b2"],
                "P": lambda own, X, params: np.exp(_log_softmax(own["Z2"]))})
def forward(X, params):
    """Forward pass: Z1 = W1 X + b1, A1 = max(Z1, 0), Z2 = W2 A1 + b2, P = softmax(Z2) per column."""
    Z1 = params["W1"] @ X + params["b1"]
    A1 = np.maximum(Z1, 0)
    Z2 = params["W2"] @ A1 + params["b2"]
    return {"Z1": Z1, "A1": A1, "Z2": Z2, "P": np.exp(_log_softmax(Z2))}


def _reg(params, lam, m, names=("W1", "W2")):
    return lam / (2 * m) * sum(np.sum(params[k] ** 2) for k in names)


def _cross_entropy(Z2, Y, params, lam):
    m = Y.shape[1]
    return float(-np.sum(Y * _log_softmax(Z2)) / m + _reg(params, lam, m))


def _naive_loss(X, Y, params, lam):
    with np.errstate(all="ignore"):
        Z2 = forward(X, params)["Z2"]
        P = np.exp(Z2) / np.sum(np.exp(Z2), axis=0, keepdims=True)
        return float(-np.sum(Y * np.log(P)) / X.shape[1] + _reg(params, lam, X.shape[1]))


LOSS_MISTAKES = [
    mistake(_naive_loss,
            "log(softmax) without the log-sum-exp trick: e^z overflows and the softmax underflows to 0 for "
            "large scores; compute log P = Z - max Z - log Σ e^(Z - max Z)", tag="no_log_sum_exp"),
    mistake(lambda X, Y, params, lam: float(-np.mean(Y * _log_softmax(forward(X, params)["Z2"]))
                                            + _reg(params, lam, X.shape[1])),
            "the cross-entropy is averaged over every entry (np.mean): sum over the classes, divide by m only",
            tag="mean_over_classes"),
    mistake(lambda X, Y, params, lam: float(-np.sum(Y * _log_softmax(forward(X, params)["Z2"])) / X.shape[1]
                                            + _reg(params, lam, X.shape[1], ("W1", "b1", "W2", "b2"))),
            "the biases are regularised too: only ‖W1‖² and ‖W2‖² belong in the λ term", tag="bias_regularised"),
]


@stage(points=2, computation=NET, after=forward, mistakes=LOSS_MISTAKES,
       given=lambda out, X, Y, params, lam: _cross_entropy(out["Z2"], Y, params, lam))
def loss(X, Y, params, lam):
    """J = -(1/m) Σ_examples log p_(true class) + λ/(2m) (‖W1‖² + ‖W2‖²), with log-sum-exp."""
    return _cross_entropy(forward(X, params)["Z2"], Y, params, lam)


def _backward_with(X, Y, params, lam, relu_prime=lambda f: f["Z1"] > 0, output=None, dw2_input="A1"):
    m = X.shape[1]
    f = forward(X, params)
    dZ2 = (f["P"] - Y) / m
    if output is not None:
        dZ2 = dZ2 * output(f["P"])
    dW2 = dZ2 @ f[dw2_input].T + lam / m * params["W2"]
    db2 = np.sum(dZ2, axis=1, keepdims=True)
    dZ1 = (params["W2"].T @ dZ2) * relu_prime(f)
    return {"dW1": dZ1 @ X.T + lam / m * params["W1"], "db1": np.sum(dZ1, axis=1, keepdims=True),
            "dW2": dW2, "db2": db2}


BACKWARD_MISTAKES = [
    mistake(lambda X, Y, params, lam: _backward_with(X, Y, params, lam, relu_prime=lambda f: 1.0),
            "the hidden layer's error is missing ReLU'(Z1): dZ1 = (W2ᵀ dZ2) * (Z1 > 0)", tag="missing_relu_prime"),
    mistake(lambda X, Y, params, lam: _backward_with(X, Y, params, lam, relu_prime=lambda f: f["A1"]),
            "ReLU'(z) is 1 where z > 0 and 0 elsewhere: multiply by (Z1 > 0), not by A1", tag="relu_prime_as_a1"),
    mistake(lambda X, Y, params, lam: _backward_with(X, Y, params, lam, output=lambda P: P * (1 - P)),
            "softmax with cross-entropy gives simply dZ2 = (P - Y)/m: there is no extra P (1 - P) factor",
            tag="output_softmax_prime"),
    mistake(lambda X, Y, params, lam: _backward_with(X, Y, params, lam, dw2_input="Z1"),
            "dW2 multiplies dZ2 by the hidden activations: dW2 = dZ2 A1ᵀ, not dZ2 Z1ᵀ", tag="pre_activation_used"),
]


@stage(points=4, computation=NET, gradient_of=loss, after=(forward, loss), mistakes=BACKWARD_MISTAKES,
       hints={"sign_error": "dZ2 = (P - Y)/m, not (Y - P)/m"})
def backward(X, Y, params, lam):
    """Gradients of J: dZ2 = (P - Y)/m, dW2 = dZ2 A1ᵀ + (λ/m) W2, db2 = Σ dZ2,
    dZ1 = (W2ᵀ dZ2) * (Z1 > 0), dW1 = dZ1 Xᵀ + (λ/m) W1, db1 = Σ dZ1."""
    m = X.shape[1]
    f = forward(X, params)
    dZ2 = (f["P"] - Y) / m
    dZ1 = (params["W2"].T @ dZ2) * (f["Z1"] > 0)
    return {"dW1": dZ1 @ X.T + lam / m * params["W1"], "db1": np.sum(dZ1, axis=1, keepdims=True),
            "dW2": dZ2 @ f["A1"].T + lam / m * params["W2"], "db2": np.sum(dZ2, axis=1, keepdims=True)}


@stage(points=2, computation=NET, update_of=loss, gradients=backward)
def sgd_step(params, grads, lr):
    """One gradient-descent step θ ← θ - lr · dθ on W1, b1, W2, b2; returns a new dict."""
    return {k: params[k] - lr * grads["d" + k] for k in ("W1", "b1", "W2", "b2")}
