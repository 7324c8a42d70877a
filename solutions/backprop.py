"""One backpropagation step of a two-layer sigmoid network.

Reference solutions in plain NumPy. Shapes: X (n_in, m), Y (n_out, m),
W1 (n_hidden, n_in), b1 (n_hidden, 1), W2 (n_out, n_hidden), b2 (n_out, 1).
The catalogue test grades this file like any submission.
"""

import numpy as np

from grader.networks import networks
from grader.spec import computation, exercise, mistake, stage

EXERCISE = exercise("Backpropagation: one step of a two-layer network", order=4,
                    summary="forward pass, logistic loss with L2 regularisation, gradients by "
                            "backpropagation and one gradient-descent step.")


def _sigmoid(z):
    """σ(z) = 1 / (1 + e^(-z)), computed without overflow for large |z|."""
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


#: three networks (n_in, n_hidden, n_out, m) with m = 1 among them, a large-input one (|Z1| past 750)
#: and a saturating one (|Z2| past 40); λ differs between them so a wrong regularisation factor cannot hide
NETWORK = computation(
    cases=lambda rng: networks(rng, [(3, 4, 2, 5), (4, 3, 2, 1), (2, 5, 3, 7)], lambdas=(0.7, 0.4, 1.1, 0.9, 0.5),
                               lr=0.1),
    params="params", regulariser="lam", seed="backprop")


def _forward_with(X, params, act=_sigmoid, bias1=True, z2_from_z1=False):
    """The forward pass with pluggable pieces, so the spec can describe real mistakes below."""
    Z1 = params["W1"] @ X + (params["b1"] if bias1 else 0)
    A1 = act(Z1)
    Z2 = params["W2"] @ (Z1 if z2_from_z1 else A1) + params["b2"]
    return {"Z1": Z1, "A1": A1, "Z2": Z2, "A2": _sigmoid(Z2)}


FORWARD_MISTAKES = [
    mistake(lambda X, params: _forward_with(X, params, bias1=False), "b1 is not added", tag="bias_missing"),
    mistake(lambda X, params: _forward_with(X, params, act=lambda z: z), "σ is not applied: A = σ(Z)",
            tag="activation_missing"),
    mistake(lambda X, params: _forward_with(X, params, act=np.tanh),
            "this is tanh(Z); use σ(Z) = 1/(1 + e^(-Z))", tag="tanh_activation"),
    mistake(lambda X, params: _forward_with(X, params, act=lambda z: np.maximum(z, 0)),
            "this is ReLU; use σ(Z) = 1/(1 + e^(-Z))", tag="relu_activation"),
    mistake(lambda X, params: _forward_with(X, params, act=lambda z: _sigmoid(-z)),
            "the exponent's sign is wrong: σ(z) = 1/(1 + e^(-z))", tag="sigmoid_sign"),
    mistake(lambda X, params: _forward_with(X, params, z2_from_z1=True),
            "Z2 is computed from Z1; it uses the activations: Z2 = W2 A1 + b2", tag="pre_activation_used"),
]


@stage(points=2, computation=NETWORK, mistakes=FORWARD_MISTAKES,
       follows={"A1": lambda own, X, params: _sigmoid(own["Z1"]),
                "Z2": lambda own, X, params: params["W2"] @ own["A1"] + params["b2"],
                "A2": lambda own, X, params: _sigmoid(own["Z2"])})
def forward(X, params):
    """Forward pass: Z1 = W1 X + b1, A1 = σ(Z1), Z2 = W2 A1 + b2, A2 = σ(Z2)."""
    Z1 = params["W1"] @ X + params["b1"]
    A1 = _sigmoid(Z1)
    Z2 = params["W2"] @ A1 + params["b2"]
    A2 = _sigmoid(Z2)
    return {"Z1": Z1, "A1": A1, "Z2": Z2, "A2": A2}


def _loss_of_logits(Z2, Y, params, lam):
    """The loss given the output layer's pre-activations (error carried forward from forward's Z2)."""
    m = Y.shape[1]
    data = -np.sum(Y * -np.logaddexp(0.0, -Z2) + (1 - Y) * -np.logaddexp(0.0, Z2)) / m
    return float(data + lam / (2 * m) * (np.sum(params["W1"] ** 2) + np.sum(params["W2"] ** 2)))


def _loss_with(X, Y, params, lam, bias=False, average_over_entries=False):
    m = X.shape[1]
    Z2 = forward(X, params)["Z2"]
    terms = Y * -np.logaddexp(0.0, -Z2) + (1 - Y) * -np.logaddexp(0.0, Z2)
    data = -np.mean(terms) if average_over_entries else -np.sum(terms) / m
    names = ("W1", "W2", "b1", "b2") if bias else ("W1", "W2")
    return float(data + lam / (2 * m) * sum(np.sum(params[k] ** 2) for k in names))


LOSS_MISTAKES = [
    mistake(lambda X, Y, params, lam: _loss_with(X, Y, params, lam, bias=True),
            "the biases are regularised too: only ‖W1‖² and ‖W2‖² belong in the λ term", tag="bias_regularised"),
    mistake(lambda X, Y, params, lam: _loss_with(X, Y, params, lam, average_over_entries=True),
            "the cross-entropy is averaged over every entry (np.mean): divide the sum by m only",
            tag="mean_over_outputs"),
]


@stage(points=2, computation=NETWORK, after=forward, mistakes=LOSS_MISTAKES,
       given=lambda cache, X, Y, params, lam: _loss_of_logits(cache["Z2"], Y, params, lam))
def loss(X, Y, params, lam):
    """J = -(1/m) Σ [y log a2 + (1 - y) log(1 - a2)] + λ/(2m) (‖W1‖² + ‖W2‖²)."""
    m = X.shape[1]
    Z2 = forward(X, params)["Z2"]
    # log σ(z) = -log(1 + e^(-z)) and log(1 - σ(z)) = -log(1 + e^z), without log(0)
    log_a2 = -np.logaddexp(0.0, -Z2)
    log_1_minus_a2 = -np.logaddexp(0.0, Z2)
    data = -np.sum(Y * log_a2 + (1 - Y) * log_1_minus_a2) / m
    reg = lam / (2 * m) * (np.sum(params["W1"] ** 2) + np.sum(params["W2"] ** 2))
    return float(data + reg)


def _backward_with(X, Y, params, lam, hidden_factor, output_factor=None, dw2_input="A1"):
    """Backpropagation with pluggable pieces, so the spec can describe real mistakes below."""
    m = X.shape[1]
    cache = forward(X, params)
    A1, A2 = cache["A1"], cache["A2"]
    dZ2 = A2 - Y
    if output_factor is not None:
        dZ2 = dZ2 * output_factor(cache)
    dW2 = dZ2 @ cache[dw2_input].T / m + lam / m * params["W2"]
    db2 = np.sum(dZ2, axis=1, keepdims=True) / m
    dZ1 = (params["W2"].T @ dZ2) * hidden_factor(cache)
    dW1 = dZ1 @ X.T / m + lam / m * params["W1"]
    db1 = np.sum(dZ1, axis=1, keepdims=True) / m
    return {"dW2": dW2, "db2": db2, "dW1": dW1, "db1": db1}


def _bias_regularised(X, Y, params, lam):
    grads = backward(X, Y, params, lam)
    m = X.shape[1]
    return {**grads, "db1": grads["db1"] + lam / m * params["b1"], "db2": grads["db2"] + lam / m * params["b2"]}


BACKWARD_MISTAKES = [
    mistake(lambda X, Y, params, lam: _backward_with(X, Y, params, lam, lambda c: 1.0),
            "the hidden layer's error is missing the factor σ'(Z1) = A1 (1 - A1): "
            "dZ1 = (W2ᵀ dZ2) * A1 * (1 - A1)", tag="missing_sigmoid_prime"),
    mistake(lambda X, Y, params, lam: _backward_with(X, Y, params, lam, lambda c: c["A1"] * (1 + c["A1"])),
            "σ'(z) = σ(z)(1 - σ(z)), not σ(z)(1 + σ(z)): use A1 * (1 - A1)", tag="sigmoid_prime_plus"),
    mistake(lambda X, Y, params, lam: _backward_with(X, Y, params, lam, lambda c: c["Z1"] * (1 - c["Z1"])),
            "σ' is written with the activations: σ'(Z1) = A1 (1 - A1), not Z1 (1 - Z1)",
            tag="sigmoid_prime_of_z"),
    mistake(lambda X, Y, params, lam: _backward_with(X, Y, params, lam, lambda c: 1 - c["A1"] ** 2),
            "1 - A1² is the derivative of tanh; for the sigmoid σ'(Z1) = A1 (1 - A1)", tag="tanh_prime"),
    mistake(lambda X, Y, params, lam: _backward_with(X, Y, params, lam, lambda c: c["A1"] * (1 - c["A1"]),
                                                     output_factor=lambda c: c["A2"] * (1 - c["A2"])),
            "with the logistic loss the output error is simply dZ2 = A2 - Y: the σ'(Z2) factor "
            "cancels (multiplying by A2 (1 - A2) is the squared-error formula)", tag="output_sigmoid_prime"),
    mistake(lambda X, Y, params, lam: _backward_with(X, Y, params, lam, lambda c: c["A1"] * (1 - c["A1"]),
                                                     dw2_input="Z1"),
            "dW2 multiplies dZ2 by the hidden layer's activations: dW2 = dZ2 A1ᵀ / m, not dZ2 Z1ᵀ / m",
            tag="pre_activation_used"),
    mistake(lambda X, Y, params, lam: _bias_regularised(X, Y, params, lam),
            "the bias gradients include a regularisation term (λ/m)·b: biases are not regularised, so they have "
            "no λ term", tag="bias_regularised"),
]


@stage(points=4, computation=NETWORK, gradient_of=loss, after=(forward, loss), mistakes=BACKWARD_MISTAKES,
       hints={"sign_error": "dZ2 = A2 - Y, not Y - A2"})
def backward(X, Y, params, lam):
    """Gradients of J: dZ2 = A2 - Y, dW2 = dZ2 A1ᵀ/m + (λ/m) W2, db2 = Σ dZ2 / m,
    dZ1 = (W2ᵀ dZ2) * A1 (1 - A1), dW1 = dZ1 Xᵀ/m + (λ/m) W1, db1 = Σ dZ1 / m."""
    m = X.shape[1]
    cache = forward(X, params)
    A1, A2 = cache["A1"], cache["A2"]
    dZ2 = A2 - Y
    dW2 = dZ2 @ A1.T / m + lam / m * params["W2"]
    db2 = np.sum(dZ2, axis=1, keepdims=True) / m
    dZ1 = (params["W2"].T @ dZ2) * A1 * (1 - A1)
    dW1 = dZ1 @ X.T / m + lam / m * params["W1"]
    db1 = np.sum(dZ1, axis=1, keepdims=True) / m
    return {"dW2": dW2, "db2": db2, "dW1": dW1, "db1": db1}


@stage(points=2, computation=NETWORK, update_of=loss, gradients=backward)
def sgd_step(params, grads, lr):
    """One gradient-descent step θ ← θ - η ∇J(θ) on every parameter; returns a new dict."""
    return {name: params[name] - lr * grads["d" + name] for name in ("W1", "b1", "W2", "b2")}
