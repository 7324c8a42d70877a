"""One modification rule: an argument changed in place is detected the same way and costs the same in every kind."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from grader.catalogue import Exercise
from grader.checks.in_place import changed_arguments
from grader.encoding import encode_value
from grader.grading import grade_file
from grader.runtypes import CallOutcome
from grader.spec import numeric

from .test_backprop import CORPUS, run_in_process, write

PARAMS = {"W1": np.arange(6.0).reshape(2, 3), "b1": np.ones((2, 1))}


def _after(*args) -> CallOutcome:
    return CallOutcome("f#0", "ok", encode_value(None), args_after=tuple(encode_value(a) for a in args))


def test_a_dict_argument_that_gains_a_key_is_detected():
    grown = {**PARAMS, "cache": (np.zeros(2), np.ones(2))}
    (change,) = changed_arguments(("X", "params"), (np.ones(3), PARAMS), _after(np.ones(3), grown))
    assert (change.argument, change.how, change.structural) == ("params", "key 'cache' added to params", True)


def test_values_changed_inside_a_container_and_unchanged_arguments():
    moved = {"W1": PARAMS["W1"] - 1.0, "b1": PARAMS["b1"]}
    (change,) = changed_arguments(("params", "lr"), (PARAMS, 0.1), _after(moved, 0.1))
    assert (change.how, change.structural) == ("params['W1'] changed", False)
    assert changed_arguments(("params", "lr"), (PARAMS, 0.1), _after(dict(PARAMS), 0.1)) == []
    shorter = changed_arguments(("xs",), ([1.0, 2.0],), _after([1.0]))
    assert [c.how for c in shorter] == ["xs went from 2 to 1 entries"]


SGD_IN_PLACE = ("def sgd_step(params, grads, lr):\n    for k in params:\n        params[k] -= lr * grads['d' + k]\n"
                "    return params\n")


def _reference_sgd(params, grads, lr):
    return {k: params[k] - lr * grads["d" + k] for k in params}


def test_the_same_in_place_change_costs_the_same_under_numeric_and_backprop_items(tmp_path, catalogue):
    def cases(rng):
        params = {"W1": rng.normal(size=(4, 3)), "b1": rng.normal(size=(4, 1))}
        return [(params, {"dW1": rng.normal(size=(4, 3)), "db1": rng.normal(size=(4, 1))}, 0.1)]

    def sgd_step(params, grads, lr):
        return _reference_sgd(params, grads, lr)

    numeric(points=2, cases=cases)(sgd_step)
    sub = tmp_path / "steps.py"
    sub.write_text(SGD_IN_PLACE)
    exercise = Exercise("steps", "Steps", 1, Path("steps.py"), Path("steps.py"), (sgd_step.__grader_item__,))
    as_numeric = grade_file(sub, exercise, runner=run_in_process).items[0]
    as_backprop = {i.item: i for i in grade_file(write(tmp_path, SGD_IN_PLACE, base=CORPUS /
                                                       "correct_einsum_backprop.py"), catalogue["backprop"],
                                                 runner=run_in_process).items}["sgd_step"]
    for res in (as_numeric, as_backprop):
        assert (res.status, res.diagnosis, res.points / res.max_points) == ("failed", "modified_input", 0.5)
        assert res.evidence["modified"] == ["params"]
    assert as_numeric.feedback == as_backprop.feedback == (
        "sgd_step changed the caller's `params` in place (params['W1'] changed; half the points): compute new "
        "arrays (W = W - ..., not W -= ...) instead of changing the ones you were given")


def test_a_forward_that_stores_its_cache_in_params_loses_half(tmp_path, catalogue):
    body = ("def forward(X, params):\n    out = _right_forward(X, params)\n"
            "    params['cache'] = (out['Z1'], out['A1'])\n    return out\n")
    base = tmp_path / "base.py"
    base.write_text((CORPUS / "correct_einsum_backprop.py").read_text().replace("def forward(", "def _right_forward("))
    fwd = {i.item: i for i in grade_file(write(tmp_path, body, base=base), catalogue["backprop"],
                                         runner=run_in_process).items}["forward"]
    assert fwd.points == fwd.max_points / 2 and fwd.diagnosis == "modified_input"
    assert "key 'cache' added to params" in fwd.feedback and "return a new dict" in fwd.feedback
