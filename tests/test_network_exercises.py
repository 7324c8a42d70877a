"""The three network exercises after backprop (regression, softmax, tanh_network): correct submissions
written differently (loops over examples, einsum, float32) get full marks, and each exercise ships
enough authored wrong answers (the catalogue test grades every one of them)."""

from __future__ import annotations

import pytest

from grader.grading import grade_file

from .test_backprop import run_in_process

SIGMOID = '''
def sigmoid(z):
    z = np.asarray(z)
    return 0.5 * (1 + np.tanh(z / 2))
'''

REGRESSION = {
    "loops": SIGMOID + '''
def forward(X, W1, b1, W2, b2):
    cols = [(W1 @ X[:, [i]] + b1) for i in range(X.shape[1])]
    Z1 = np.hstack(cols)
    A1 = sigmoid(Z1)
    Yhat = np.hstack([W2 @ A1[:, [i]] + b2 for i in range(X.shape[1])])
    return {"Z1": Z1, "A1": A1, "Yhat": Yhat}

def loss(X, Y, W1, b1, W2, b2):
    Yhat = forward(X, W1, b1, W2, b2)["Yhat"]
    total = 0.0
    for i in range(X.shape[1]):
        for k in range(Y.shape[0]):
            total += (Yhat[k, i] - Y[k, i]) ** 2
    return total / (2 * X.shape[1])

def backward(X, Y, W1, b1, W2, b2):
    m = X.shape[1]
    f = forward(X, W1, b1, W2, b2)
    dW1, db1, dW2, db2 = (np.zeros_like(W1), np.zeros_like(b1), np.zeros_like(W2), np.zeros_like(b2))
    for i in range(m):
        a1 = f["A1"][:, [i]]
        dz2 = (f["Yhat"][:, [i]] - Y[:, [i]]) / m
        dW2 += dz2 @ a1.T
        db2 += dz2
        dz1 = (W2.T @ dz2) * a1 * (1 - a1)
        dW1 += dz1 @ X[:, [i]].T
        db1 += dz1
    return dW1, db1, dW2, db2

def sgd_step(W1, b1, W2, b2, grads, lr):
    return tuple(p - lr * g for p, g in zip((W1, b1, W2, b2), grads))
''',
    "einsum": SIGMOID + '''
def forward(X, W1, b1, W2, b2):
    Z1 = np.einsum("hi,im->hm", W1, X) + b1
    A1 = sigmoid(Z1)
    return {"Z1": Z1, "A1": A1, "Yhat": np.einsum("oh,hm->om", W2, A1) + b2}

def loss(X, Y, W1, b1, W2, b2):
    R = forward(X, W1, b1, W2, b2)["Yhat"] - Y
    return float(np.einsum("om,om->", R, R)) / (2 * X.shape[1])

def backward(X, Y, W1, b1, W2, b2):
    m = X.shape[1]
    f = forward(X, W1, b1, W2, b2)
    dZ2 = (f["Yhat"] - Y) / m
    dZ1 = np.einsum("oh,om->hm", W2, dZ2) * f["A1"] * (1 - f["A1"])
    return (np.einsum("hm,im->hi", dZ1, X), dZ1.sum(axis=1, keepdims=True),
            np.einsum("om,hm->oh", dZ2, f["A1"]), dZ2.sum(axis=1, keepdims=True))

def sgd_step(W1, b1, W2, b2, grads, lr):
    dW1, db1, dW2, db2 = grads
    return [W1 - lr * dW1, b1 - lr * db1, W2 - lr * dW2, b2 - lr * db2]
''',
    "float32": SIGMOID + '''
f32 = np.float32

def forward(X, W1, b1, W2, b2):
    Z1 = W1.astype(f32) @ X.astype(f32) + b1.astype(f32)
    A1 = sigmoid(Z1).astype(f32)
    return {"Z1": Z1, "A1": A1, "Yhat": W2.astype(f32) @ A1 + b2.astype(f32)}

def loss(X, Y, W1, b1, W2, b2):
    R = forward(X, W1, b1, W2, b2)["Yhat"] - Y.astype(f32)
    return float(np.sum(R * R, dtype=f32) / f32(2 * X.shape[1]))

def backward(X, Y, W1, b1, W2, b2):
    m = f32(X.shape[1])
    f = forward(X, W1, b1, W2, b2)
    dZ2 = (f["Yhat"] - Y.astype(f32)) / m
    dZ1 = (W2.astype(f32).T @ dZ2) * f["A1"] * (1 - f["A1"])
    return dZ1 @ X.astype(f32).T, dZ1.sum(axis=1, keepdims=True), dZ2 @ f["A1"].T, dZ2.sum(axis=1, keepdims=True)

def sgd_step(W1, b1, W2, b2, grads, lr):
    return tuple((p - lr * g).astype(f32) for p, g in zip((W1, b1, W2, b2), grads))
''',
}

SOFTMAX = {
    "loops": '''
def forward(X, params):
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    Z1 = np.hstack([W1 @ X[:, [i]] + b1 for i in range(X.shape[1])])
    A1 = np.where(Z1 > 0, Z1, 0.0)
    Z2 = W2 @ A1 + b2
    P = np.empty_like(Z2)
    for i in range(Z2.shape[1]):
        e = np.exp(Z2[:, i] - Z2[:, i].max())
        P[:, i] = e / e.sum()
    return {"Z1": Z1, "A1": A1, "Z2": Z2, "P": P}

def loss(X, Y, params, lam):
    Z2 = forward(X, params)["Z2"]
    m = X.shape[1]
    total = 0.0
    for i in range(m):
        z = Z2[:, i]
        top = z.max()
        lse = top + np.log(np.sum(np.exp(z - top)))
        total += lse - z[int(np.argmax(Y[:, i]))]
    reg = sum(float(np.sum(params[k] * params[k])) for k in ("W1", "W2"))
    return total / m + lam / (2 * m) * reg

def backward(X, Y, params, lam):
    m = X.shape[1]
    f = forward(X, params)
    g = {k: np.zeros_like(params[k[1:]]) for k in ("dW1", "db1", "dW2", "db2")}
    for i in range(m):
        dz2 = (f["P"][:, [i]] - Y[:, [i]]) / m
        g["dW2"] += dz2 @ f["A1"][:, [i]].T
        g["db2"] += dz2
        dz1 = (params["W2"].T @ dz2) * (f["Z1"][:, [i]] > 0)
        g["dW1"] += dz1 @ X[:, [i]].T
        g["db1"] += dz1
    g["dW1"] += lam / m * params["W1"]
    g["dW2"] += lam / m * params["W2"]
    return g

def sgd_step(params, grads, lr):
    new = {}
    for k in params:
        new[k] = params[k] - lr * grads["d" + k]
    return new
''',
    "einsum": '''
def forward(X, params):
    Z1 = np.einsum("hi,im->hm", params["W1"], X) + params["b1"]
    A1 = Z1 * (Z1 > 0)
    Z2 = np.einsum("kh,hm->km", params["W2"], A1) + params["b2"]
    S = Z2 - Z2.max(axis=0)
    E = np.exp(S)
    return {"Z1": Z1, "A1": A1, "Z2": Z2, "P": E / np.einsum("km->m", E)}

def loss(X, Y, params, lam):
    Z2 = forward(X, params)["Z2"]
    top = Z2.max(axis=0)
    logp = Z2 - top - np.log(np.einsum("km->m", np.exp(Z2 - top)))
    m = X.shape[1]
    reg = np.einsum("ij,ij->", params["W1"], params["W1"]) + np.einsum("ij,ij->", params["W2"], params["W2"])
    return float(-np.einsum("km,km->", Y, logp) / m + lam * reg / (2 * m))

def backward(X, Y, params, lam):
    m = X.shape[1]
    f = forward(X, params)
    dZ2 = (f["P"] - Y) / m
    dZ1 = np.einsum("kh,km->hm", params["W2"], dZ2) * (f["Z1"] > 0)
    return {"dW2": np.einsum("km,hm->kh", dZ2, f["A1"]) + lam / m * params["W2"],
            "db2": np.einsum("km->k", dZ2)[:, None],
            "dW1": np.einsum("hm,im->hi", dZ1, X) + lam / m * params["W1"],
            "db1": np.einsum("hm->h", dZ1)[:, None]}

def sgd_step(params, grads, lr):
    return {k: v - lr * grads["d" + k] for k, v in params.items()}
''',
    "float32": '''
f32 = np.float32

def forward(X, params):
    p = {k: v.astype(f32) for k, v in params.items()}
    Z1 = p["W1"] @ X.astype(f32) + p["b1"]
    A1 = np.maximum(Z1, f32(0))
    Z2 = p["W2"] @ A1 + p["b2"]
    S = Z2 - Z2.max(axis=0, keepdims=True)
    P = np.exp(S) / np.exp(S).sum(axis=0, keepdims=True)
    return {"Z1": Z1, "A1": A1, "Z2": Z2, "P": P}

def loss(X, Y, params, lam):
    Z2 = forward(X, params)["Z2"]
    S = Z2 - Z2.max(axis=0, keepdims=True)
    logp = S - np.log(np.exp(S).sum(axis=0, keepdims=True))
    m = X.shape[1]
    reg = np.sum(params["W1"].astype(f32) ** 2) + np.sum(params["W2"].astype(f32) ** 2)
    return float(-np.sum(Y.astype(f32) * logp) / f32(m) + f32(lam) / f32(2 * m) * reg)

def backward(X, Y, params, lam):
    m = f32(X.shape[1])
    f = forward(X, params)
    W1, W2 = params["W1"].astype(f32), params["W2"].astype(f32)
    dZ2 = (f["P"] - Y.astype(f32)) / m
    dZ1 = (W2.T @ dZ2) * (f["Z1"] > 0).astype(f32)
    return {"dW1": dZ1 @ X.astype(f32).T + f32(lam) / m * W1, "db1": dZ1.sum(axis=1, keepdims=True),
            "dW2": dZ2 @ f["A1"].T + f32(lam) / m * W2, "db2": dZ2.sum(axis=1, keepdims=True)}

def sgd_step(params, grads, lr):
    return {k: (params[k] - f32(lr) * grads["d" + k]).astype(f32) for k in params}
''',
}

TANH = {
    "loops": '''
def forward_propagation(X, parameters):
    W1, b1, W2, b2 = (parameters[k] for k in ("W1", "b1", "W2", "b2"))
    cols = []
    for i in range(X.shape[1]):
        z1 = W1 @ X[:, [i]] + b1
        a1 = np.tanh(z1)
        z2 = W2 @ a1 + b2
        cols.append((z1, a1, z2, 1 / (1 + np.exp(-np.clip(z2, -700, 700)))))
    Z1, A1, Z2, A2 = (np.hstack([c[j] for c in cols]) for j in range(4))
    return {"Z1": Z1, "A1": A1, "Z2": Z2, "A2": A2}

def compute_cost(X, Y, parameters):
    Z2 = forward_propagation(X, parameters)["Z2"]
    m = X.shape[1]
    total = 0.0
    for k in range(Y.shape[0]):
        for i in range(m):
            z = Z2[k, i]
            total += np.logaddexp(0, -z) if Y[k, i] == 1 else np.logaddexp(0, z)
    return float(total / m)

def backward_propagation(parameters, cache, X, Y):
    m = X.shape[1]
    grads = {"dW1": 0, "db1": 0, "dW2": 0, "db2": 0}
    for i in range(m):
        dz2 = cache["A2"][:, [i]] - Y[:, [i]]
        a1 = cache["A1"][:, [i]]
        dz1 = (parameters["W2"].T @ dz2) * (1 - a1 * a1)
        grads["dW2"] = grads["dW2"] + dz2 @ a1.T / m
        grads["db2"] = grads["db2"] + dz2 / m
        grads["dW1"] = grads["dW1"] + dz1 @ X[:, [i]].T / m
        grads["db1"] = grads["db1"] + dz1 / m
    return grads

def update_parameters(parameters, grads, learning_rate):
    return {k: parameters[k] - learning_rate * grads["d" + k] for k in parameters}
''',
    "einsum": '''
def forward_propagation(X, parameters):
    Z1 = np.einsum("hx,xm->hm", parameters["W1"], X) + parameters["b1"]
    A1 = np.tanh(Z1)
    Z2 = np.einsum("yh,hm->ym", parameters["W2"], A1) + parameters["b2"]
    return {"Z1": Z1, "A1": A1, "Z2": Z2, "A2": 0.5 * (1 + np.tanh(Z2 / 2))}

def compute_cost(X, Y, parameters):
    Z2 = forward_propagation(X, parameters)["Z2"]
    terms = np.einsum("ym,ym->", Y, np.logaddexp(0, -Z2)) + np.einsum("ym,ym->", 1 - Y, np.logaddexp(0, Z2))
    return float(terms / X.shape[1])

def backward_propagation(parameters, cache, X, Y):
    m = X.shape[1]
    dZ2 = cache["A2"] - Y
    dZ1 = np.einsum("yh,ym->hm", parameters["W2"], dZ2) * (1 - np.tanh(cache["Z1"]) ** 2)
    return {"dW1": np.einsum("hm,xm->hx", dZ1, X) / m, "db1": np.einsum("hm->h", dZ1)[:, None] / m,
            "dW2": np.einsum("ym,hm->yh", dZ2, cache["A1"]) / m, "db2": np.einsum("ym->y", dZ2)[:, None] / m}

def update_parameters(parameters, grads, learning_rate):
    new = dict(parameters)
    for k in ("W1", "b1", "W2", "b2"):
        new[k] = new[k] - learning_rate * grads["d" + k]
    return new
''',
    "float32": '''
f32 = np.float32

def forward_propagation(X, parameters):
    p = {k: v.astype(f32) for k, v in parameters.items()}
    Z1 = p["W1"] @ X.astype(f32) + p["b1"]
    A1 = np.tanh(Z1)
    Z2 = p["W2"] @ A1 + p["b2"]
    return {"Z1": Z1, "A1": A1, "Z2": Z2, "A2": (f32(0.5) * (1 + np.tanh(Z2 / 2))).astype(f32)}

def compute_cost(X, Y, parameters):
    Z2 = forward_propagation(X, parameters)["Z2"]
    Y = Y.astype(f32)
    return float(np.sum(Y * np.logaddexp(f32(0), -Z2) + (1 - Y) * np.logaddexp(f32(0), Z2)) / f32(X.shape[1]))

def backward_propagation(parameters, cache, X, Y):
    m = f32(X.shape[1])
    A1, A2 = cache["A1"].astype(f32), cache["A2"].astype(f32)
    dZ2 = A2 - Y.astype(f32)
    dZ1 = (parameters["W2"].astype(f32).T @ dZ2) * (1 - A1 ** 2)
    return {"dW1": dZ1 @ X.astype(f32).T / m, "db1": dZ1.sum(axis=1, keepdims=True) / m,
            "dW2": dZ2 @ A1.T / m, "db2": dZ2.sum(axis=1, keepdims=True) / m}

def update_parameters(parameters, grads, learning_rate):
    return {k: (parameters[k] - learning_rate * grads["d" + k]).astype(f32) for k in parameters}
''',
}

VARIANTS = [(name, style, source) for name, sources in (("regression", REGRESSION), ("softmax", SOFTMAX),
                                                       ("tanh_network", TANH)) for style, source in sources.items()]


@pytest.mark.parametrize("name,style,source", VARIANTS, ids=[f"{n}-{s}" for n, s, _ in VARIANTS])
def test_correct_variants_get_full_marks(tmp_path, catalogue, name, style, source):
    path = tmp_path / f"{style}_{name}.py"
    path.write_text("import numpy as np\n" + source, encoding="utf-8")
    result = grade_file(path, catalogue[name], runner=run_in_process)
    assert [(i.item, i.feedback) for i in result.items if i.status != "passed"] == []
    assert result.score == result.max_score
    gradient = [i for i in result.items if i.evidence and "loss_consistent" in i.evidence]
    assert gradient and all(i.evidence["loss_consistent"] for i in gradient), "agrees with finite differences"


@pytest.mark.parametrize("name", ["regression", "softmax", "tanh_network"])
def test_each_network_exercise_ships_eight_authored_mistakes_on_its_stages(catalogue, name):
    ex = catalogue[name]
    assert {i.kind for i in ex.items} == {"stage"}
    assert sum(len(i.mistakes) for i in ex.items) >= 8


@pytest.mark.parametrize("name,item,body,fragment", [
    ("softmax", "loss", "def loss(X, Y, params, lam):\n    Z2 = forward(X, params)['Z2']\n"
                        "    P = np.exp(Z2) / np.exp(Z2).sum(axis=0)\n"
                        "    m = X.shape[1]\n"
                        "    return float(-np.sum(Y * np.log(P)) / m + lam / (2 * m) * "
                        "(np.sum(params['W1'] ** 2) + np.sum(params['W2'] ** 2)))\n",
     "log-sum-exp"),
    ("tanh_network", "compute_cost", "def compute_cost(X, Y, parameters):\n"
                                     "    A2 = forward_propagation(X, parameters)['A2']\n"
                                     "    m = X.shape[1]\n"
                                     "    return float(-np.sum(Y * np.log(A2) + (1 - Y) * np.log(1 - A2)) / m)\n",
     "saturat"),
    ("tanh_network", "backward_propagation", "def backward_propagation(parameters, cache, X, Y):\n"
                                             "    g = dict(_right(parameters, cache, X, Y))\n"
                                             "    cache['dZ2'] = cache['A2'] - Y\n    return g\n",
     "key 'dZ2' added to cache"),
], ids=["naive-softmax-loss", "log-of-saturated-A2", "backward-writes-into-the-cache"])
def test_extremes_and_in_place_changes_in_the_new_exercises(tmp_path, catalogue, name, item, body, fragment):
    base = {"softmax": SOFTMAX, "tanh_network": TANH}[name]["einsum"]
    source = "import numpy as np\n" + base.replace(f"def {item}(", "def _right(") + "\n\n" + body
    path = tmp_path / f"{name}.py"
    path.write_text(source, encoding="utf-8")
    res = {i.item: i for i in grade_file(path, catalogue[name], runner=run_in_process).items}[item]
    assert res.points < res.max_points and fragment in res.feedback, res.feedback
