"""The general stage kind: the three mistakes of issue 13 that used to get full marks, parameter layouts,
and the generic diagnoses, on submissions written inline."""

from __future__ import annotations

import numpy as np
import pytest

from grader.checks.diagnose import diagnose_values, scalar_models
from grader.checks.stage_cases import item_cases, leaves
from grader.grading import grade_file
from grader.networks import network, networks

from .test_backprop import CORPUS, run_in_process, write


@pytest.fixture(scope="module")
def backprop(catalogue):
    return catalogue["backprop"]


def grade(path, exercise):
    return {i.item: i for i in grade_file(path, exercise, runner=run_in_process).items}


def _renamed(tmp_path, name):
    base = tmp_path / "base.py"
    base.write_text((CORPUS / "correct_einsum_backprop.py").read_text().replace(f"def {name}(", f"def _right_{name}("))
    return base


def test_a_loss_taking_log_of_a_saturated_output_loses_its_points(tmp_path, backprop):
    path = write(tmp_path, "def loss(X, Y, params, lam):\n    m = X.shape[1]\n    A2 = forward(X, params)['A2']\n"
                           "    cross = -np.sum(Y * np.log(A2) + (1 - Y) * np.log(1 - A2)) / m\n"
                           "    return float(cross + lam / (2 * m) * (np.sum(params['W1'] ** 2) + "
                           "np.sum(params['W2'] ** 2)))\n", base=_renamed(tmp_path, "loss"))
    loss = grade(path, backprop)["loss"]
    assert loss.points == 0 and loss.diagnosis == "saturation"
    assert "saturating output (logits beyond ±40)" in loss.feedback and "your loss is nan" in loss.feedback
    assert "log(0)" in loss.feedback


def test_a_backward_through_dJ_dA2_is_caught_where_the_output_saturates(tmp_path, backprop):
    path = write(tmp_path, "def backward(X, Y, params, lam):\n"
                           "    f = forward(X, params)\n    A2 = f['A2']\n"
                           "    dA2 = -(Y / A2) + (1 - Y) / (1 - A2)\n"
                           "    g = _right_backward(X, Y, params, lam)\n"
                           "    dZ2 = dA2 * A2 * (1 - A2)\n"
                           "    m = X.shape[1]\n"
                           "    g['db2'] = np.sum(dZ2, axis=1, keepdims=True) / m\n"
                           "    return g\n", base=_renamed(tmp_path, "backward"))
    back = grade(path, backprop)["backward"]
    assert back.points < back.max_points and back.diagnosis == "saturation"
    assert "db2 contains NaN" in back.feedback or "db2 contains" in back.feedback
    assert any("saturating output" in d for d in back.details)


def test_a_forward_storing_its_cache_in_params_loses_half(tmp_path, backprop):
    path = write(tmp_path, "def forward(X, params):\n    out = _right_forward(X, params)\n"
                           "    params['cache'] = out\n    return out\n", base=_renamed(tmp_path, "forward"))
    fwd = grade(path, backprop)["forward"]
    assert fwd.points == fwd.max_points / 2 and fwd.diagnosis == "modified_input"
    assert "key 'cache' added to params" in fwd.feedback


def test_cases_include_a_saturating_output(backprop):
    cases = item_cases(backprop.item("backward"))
    sat = [c for c in cases if c.extreme.startswith("saturating")]
    assert len(sat) == 1
    c = sat[0]
    z2 = c.params["W2"] @ (1 / (1 + np.exp(-(c.params["W1"] @ c.X + c.params["b1"])))) + c.params["b2"]
    assert np.all(np.abs(z2) > 40)


@pytest.mark.parametrize("layout,labels,names", [
    ("dict", ["W1", "b1", "W2", "b2"], ["dW1", "db1", "dW2", "db2"]),
    ("positional", ["W1", "b1", "W2", "b2"], ["dW1", "db1", "dW2", "db2"]),
    ("layers", ["params[0]['W']", "params[0]['b']", "params[1]['W']", "params[1]['b']"],
     ["[0]['dW']", "[0]['db']", "[1]['dW']", "[1]['db']"]),
])
def test_parameters_are_found_in_every_layout(layout, labels, names):
    from grader.spec import computation

    c = network(np.random.default_rng(0), (3, 4, 2), 5, layout=layout)
    net = computation(cases=lambda rng: [c], params=("W1", "b1", "W2", "b2") if layout == "positional" else "params")
    found = leaves(net, c)
    assert [leaf.label for leaf in found] == labels and [leaf.gradient for leaf in found] == names


def test_networks_make_large_and_saturating_cases_with_different_lambdas():
    cases = networks(np.random.default_rng(1), [(3, 4, 2, 5), (2, 3, 1, 1)], lambdas=(0.1, 0.2, 0.3, 0.4), lr=0.1)
    assert [c.extreme for c in cases][:3] == ["", "", "large inputs"]
    assert cases[3].extreme.startswith("saturating")
    assert [c.lam for c in cases] == [0.1, 0.2, 0.3, 0.4] and cases[1].batch == 1


@pytest.mark.parametrize("factor,batch_scaled,tag", [(-1.0, False, "sign_error"), (3.0, False, "scaled"),
                                                     (None, True, "missing_1_over_m"), (0.0, False, "zero")])
def test_generic_array_diagnoses(factor, batch_scaled, tag):
    rng = np.random.default_rng(2)
    wants = [rng.normal(size=(3, 2)) for _ in range(3)]
    batches = [5, 1, 7]
    gots = [w * (m if batch_scaled else factor) for w, m in zip(wants, batches)]
    d = diagnose_values("dW", gots, wants, None, batches)
    assert d is not None and d.tag == tag


def test_regularisation_scaled_is_named_for_arrays_and_scalars():
    rng = np.random.default_rng(3)
    data = [rng.normal(size=(2, 2)) for _ in range(3)]
    reg = [rng.normal(size=(2, 2)) for _ in range(3)]
    wants = [d + r for d, r in zip(data, reg)]
    missing = diagnose_values("dW", data, wants, data, [5, 1, 7], "lam")
    half = diagnose_values("dW", [d + 0.5 * r for d, r in zip(data, reg)], wants, data, [5, 1, 7], "lam")
    assert missing.tag == "regularisation_missing" and half.tag == "regularisation_factor" and half.factor == 0.5
    assert scalar_models([1.0, 2.0], [1.5, 2.5], [1.0, 2.0], [5, 7]).tag == "regularisation_missing"
    assert scalar_models([5 * 1.0 + 0.5, 7 * 2.0 + 0.5], [1.5, 2.5], [1.0, 2.0], [5, 7]).tag == "missing_1_over_m"


@pytest.mark.parametrize("body,tag,fragment", [
    ("return -s * (1 - s)", "sign_error", "it is -1 × the right answer"),
    ("return 2 * s * (1 - s)", "scaled", "2 × the right values"),
], ids=["sign", "factor"])
def test_numeric_items_get_the_generic_diagnoses(tmp_path, catalogue, body, tag, fragment):
    ex = catalogue["activations"]
    item = next((i for i in ex.items if i.name == "sigmoid_grad"), None)
    if item is None:
        pytest.skip("no sigmoid_grad item in the activations exercise")
    from grader.checks import checker_for
    from grader.checks.numeric import item_cases
    from grader.encoding import encode_value
    from grader.runtypes import CallOutcome, RunResult

    def wrong(z):
        with np.errstate(over="ignore"):
            s = 1 / (1 + np.exp(-np.asarray(z, dtype=float)))
        return eval(body.removeprefix("return "), {"s": s})

    outcomes = {}
    for i, case in enumerate(item_cases(item)):
        cid = f"{item.name}#{i}"
        outcomes[cid] = CallOutcome(cid, "ok", encode_value(wrong(*case)), args_after=tuple(encode_value(a) for a in case))
    res = checker_for("numeric").check(item, RunResult(outcomes), ex.name)
    assert res.diagnosis == tag and fragment in res.feedback and res.points == 0
