"""A tanh hidden layer with a dict cache, in the style of the deeplearning.ai course.

Reference solutions in plain NumPy. Shapes: X (n_x, m), Y (n_y, m) of 0/1 labels,
parameters = {"W1": (n_h, n_x), "b1": (n_h, 1), "W2": (n_y, n_h), "b2": (n_y, 1)}; a tanh
hidden layer and a sigmoid output. ``backward_propagation`` receives the cache the forward pass
made (each case carries the reference's cache for its parameters). The catalogue test grades
this file like any submission.
"""

import numpy as np

from grader.networks import case, networks
from grader.spec import computation, exercise, mistake, stage

EXERCISE = exercise("A tanh hidden layer with a cache", order=4,
                    summary="forward propagation returning a cache, the cross-entropy cost, backward "
                            "propagation from the cache, and one parameter update.")


def _sigmoid(z):
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _cases(rng):
    """Three networks, m = 1 among them, a large-input one and a saturating one (|Z2| past 40, A2 exactly
    0 or 1), each with the cache of its forward pass and a learning rate."""
    out = []
    for c in networks(rng, [(2, 4, 1, 5), (3, 3, 1, 1), (2, 5, 2, 7)], params="parameters"):
        args = {**c.args, "cache": forward_propagation(c.X, c.parameters), "learning_rate": 1.2}
        out.append(case(batch=c.batch, label=c.label, extreme=c.extreme, info=c.info, **args))
    return out


NET = computation(cases=_cases, params="parameters", seed="tanh_network", unit="network")


def _forward_with(X, parameters, act=np.tanh, out=_sigmoid, bias1=True):
    Z1 = parameters["W1"] @ X + (parameters["b1"] if bias1 else 0)
    A1 = act(Z1)
    Z2 = parameters["W2"] @ A1 + parameters["b2"]
    return {"Z1": Z1, "A1": A1, "Z2": Z2, "A2": out(Z2)}


FORWARD_MISTAKES = [
    mistake(lambda X, parameters: _forward_with(X, parameters, act=_sigmoid),
            "the hidden layer uses tanh here, not the sigmoid: A1 = tanh(Z1)", tag="sigmoid_hidden"),
    mistake(lambda X, parameters: _forward_with(X, parameters, out=np.tanh),
            "the output layer gives a probability: A2 = σ(Z2), not tanh(Z2)", tag="tanh_output"),
    mistake(lambda X, parameters: _forward_with(X, parameters, bias1=False),
            "b1 is not added: Z1 = W1 X + b1", tag="bias_missing"),
]


@stage(points=2, computation=NET, mistakes=FORWARD_MISTAKES,
       follows={"A1": lambda own, X, parameters: np.tanh(own["Z1"]),
                "Z2": lambda own, X, parameters: parameters["W2"] @ own["A1"] + parameters["b2"],
                "A2": lambda own, X, parameters: _sigmoid(own["Z2"])})
def forward_propagation(X, parameters):
    """Forward propagation; returns the cache {"Z1", "A1", "Z2", "A2"}: Z1 = W1 X + b1, A1 = tanh(Z1),
    Z2 = W2 A1 + b2, A2 = σ(Z2)."""
    Z1 = parameters["W1"] @ X + parameters["b1"]
    A1 = np.tanh(Z1)
    Z2 = parameters["W2"] @ A1 + parameters["b2"]
    return {"Z1": Z1, "A1": A1, "Z2": Z2, "A2": _sigmoid(Z2)}


def _cost_of_logits(Z2, Y):
    return float(np.sum(Y * np.logaddexp(0.0, -Z2) + (1 - Y) * np.logaddexp(0.0, Z2)) / Y.shape[1])


def _naive_cost(X, Y, parameters):
    A2 = forward_propagation(X, parameters)["A2"]
    with np.errstate(all="ignore"):
        return float(-np.sum(Y * np.log(A2) + (1 - Y) * np.log(1 - A2)) / X.shape[1])


COST_MISTAKES = [
    mistake(_naive_cost,
            "log(A2) is -inf once A2 saturates to exactly 0 or 1: compute log σ(z) = -log(1 + e^(-z)) from Z2 "
            "(np.logaddexp(0, -Z2)) instead of taking the log of A2", tag="log_of_saturated_output"),
    mistake(lambda X, Y, parameters: float(np.sum(Y * np.logaddexp(0.0, -forward_propagation(X, parameters)["Z2"]))
                                           / X.shape[1]),
            "the (1 - y) log(1 - a2) term is missing: the cost also counts the examples labelled 0",
            tag="missing_negative_term"),
]


@stage(points=2, computation=NET, after=forward_propagation, mistakes=COST_MISTAKES,
       given=lambda cache, X, Y, parameters: _cost_of_logits(cache["Z2"], Y))
def compute_cost(X, Y, parameters):
    """J = -(1/m) Σ [y log a2 + (1 - y) log(1 - a2)], computed from Z2 so that it stays finite."""
    return _cost_of_logits(forward_propagation(X, parameters)["Z2"], Y)


def _backward_with(parameters, cache, X, Y, tanh_prime=lambda c: 1 - c["A1"] ** 2, output="A2"):
    m = X.shape[1]
    dZ2 = cache[output] - Y
    dZ1 = (parameters["W2"].T @ dZ2) * tanh_prime(cache)
    return {"dW1": dZ1 @ X.T / m, "db1": np.sum(dZ1, axis=1, keepdims=True) / m,
            "dW2": dZ2 @ cache["A1"].T / m, "db2": np.sum(dZ2, axis=1, keepdims=True) / m}


BACKWARD_MISTAKES = [
    mistake(lambda parameters, cache, X, Y: _backward_with(parameters, cache, X, Y, lambda c: 1.0),
            "the hidden layer's error is missing tanh'(Z1) = 1 - A1²: dZ1 = (W2ᵀ dZ2) * (1 - A1²)",
            tag="missing_tanh_prime"),
    mistake(lambda parameters, cache, X, Y: _backward_with(parameters, cache, X, Y, lambda c: c["A1"] * (1 - c["A1"])),
            "A1 (1 - A1) is the derivative of the sigmoid; for tanh it is 1 - A1²", tag="sigmoid_prime"),
    mistake(lambda parameters, cache, X, Y: _backward_with(parameters, cache, X, Y, lambda c: 1 - c["Z1"] ** 2),
            "tanh' is written with the activations: 1 - A1² = 1 - tanh²(Z1), not 1 - Z1²", tag="tanh_prime_of_z"),
    mistake(lambda parameters, cache, X, Y: _backward_with(parameters, cache, X, Y, output="Z2"),
            "the output error is dZ2 = A2 - Y, with the activations A2, not Z2 - Y", tag="pre_activation_used"),
]


@stage(points=4, computation=NET, gradient_of=compute_cost, after=(forward_propagation, compute_cost),
       mistakes=BACKWARD_MISTAKES, hints={"sign_error": "dZ2 = A2 - Y, not Y - A2"})
def backward_propagation(parameters, cache, X, Y):
    """Gradients from the cache: dZ2 = A2 - Y, dW2 = dZ2 A1ᵀ/m, db2 = Σ dZ2/m,
    dZ1 = (W2ᵀ dZ2) * (1 - A1²), dW1 = dZ1 Xᵀ/m, db1 = Σ dZ1/m."""
    m = X.shape[1]
    dZ2 = cache["A2"] - Y
    dZ1 = (parameters["W2"].T @ dZ2) * (1 - cache["A1"] ** 2)
    return {"dW1": dZ1 @ X.T / m, "db1": np.sum(dZ1, axis=1, keepdims=True) / m,
            "dW2": dZ2 @ cache["A1"].T / m, "db2": np.sum(dZ2, axis=1, keepdims=True) / m}


@stage(points=2, computation=NET, update_of=compute_cost, gradients=backward_propagation)
def update_parameters(parameters, grads, learning_rate):
    """One gradient-descent step θ ← θ - learning_rate · dθ; returns a new parameters dict."""
    return {k: parameters[k] - learning_rate * grads["d" + k] for k in ("W1", "b1", "W2", "b2")}
