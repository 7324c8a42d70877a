"""The backprop exercise: the corpus of wrong and correct ``backward``s, each stage's checks,
error carried forward, and end-to-end runs through the real sandbox and the CLI.

Most cases run the (trusted) fixture files through :func:`run_in_process`, which
does what the sandboxed child does (decode arguments, resolve references to
earlier results, call, encode, report arguments back) without a subprocess, so
the 30-file corpus stays fast; a few files also go through the real sandbox.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import re
import shutil
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pytest

from grader.checks import checker_for
from grader.checks.stage_cases import item_cases as make_cases
from grader.encoding import decode_value, encode_value
from grader.grading import grade_file
from grader.results import ErrorInfo
from grader.runtypes import Call, CallOutcome, RunResult

from .conftest import TESTS

CORPUS = TESTS / "backprop_corpus"
WRONG = sorted(CORPUS.glob("wrong_*.py"))
CORRECT = sorted(CORPUS.glob("correct_*.py"))


def run_in_process(path: Path, calls: Sequence[Call], limits: Any = None) -> RunResult:
    """The child's protocol for trusted test fixtures: same wire values in and out, no subprocess."""
    spec = importlib.util.spec_from_file_location(f"fixture_{path.stem}_{id(calls)}", path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return run_functions(vars(module), calls)


def run_functions(functions: Any, calls: Sequence[Call]) -> RunResult:
    """:func:`run_in_process` on functions given by name (a module's namespace, or references and a mistake)."""
    results: dict[str, Any] = {}
    outcomes = {}
    decoded: dict[int, tuple[Any, Any]] = {}  # wire dicts are shared between calls: decode each once
    for call in calls:
        func = functions.get(call.function)
        if not callable(func):
            outcomes[call.id] = CallOutcome(call.id, "missing", error=ErrorInfo("MissingFunction", call.function))
            continue
        args = []
        for a in call.args:
            if isinstance(a, dict) and a.get("t") == "ref":
                args.append(results.get(a["id"]))
            else:
                if id(a) not in decoded:
                    decoded[id(a)] = (a, decode_value(a))
                args.append(copy.deepcopy(decoded[id(a)][1]))  # a fresh copy per call, as in the child
        try:
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                value = func(*args)
        except Exception as exc:  # the fixture's own failure, reported as data like the child does
            outcomes[call.id] = CallOutcome(call.id, "error", error=ErrorInfo(type(exc).__name__, str(exc)))
            continue
        results[call.id] = value
        after = tuple(encode_value(a) for a in args) if call.report_args else None
        outcomes[call.id] = CallOutcome(call.id, "ok", encode_value(value), args_after=after)
    return RunResult(outcomes)


def expected_tag(path: Path) -> str:
    match = re.search(r"^expect: (\S+)$", path.read_text(), re.M)
    assert match, f"{path.name} says nothing about what it expects"
    return match.group(1)


@pytest.fixture(scope="module")
def backprop(catalogue):
    return catalogue["backprop"]


def grade(path: Path, exercise) -> dict[str, Any]:
    return {i.item: i for i in grade_file(path, exercise, runner=run_in_process).items}


def write(tmp_path: Path, body: str, base: Path = CORPUS / "correct_einsum_backprop.py") -> Path:
    """A submission: the correct einsum file with some functions replaced by ``body``."""
    path = tmp_path / "submission_backprop.py"
    path.write_text(base.read_text() + "\n\n" + body)
    return path


# ---------------------------------------------------------------- the corpus


def test_corpus_is_big_enough():
    assert len(WRONG) >= 20 and len(CORRECT) >= 5


@pytest.mark.parametrize("path", WRONG, ids=lambda p: p.stem.removeprefix("wrong_").removesuffix("_backprop"))
def test_every_wrong_backward_loses_points_with_the_right_diagnosis(path, backprop):
    items = grade(path, backprop)
    back = items["backward"]
    assert back.points < back.max_points
    assert back.status in ("failed", "error")
    assert back.diagnosis == expected_tag(path), back.feedback
    for other in ("forward", "loss", "sgd_step"):  # the rest of each file is right: not charged again
        assert items[other].points == items[other].max_points, (other, items[other].feedback)


@pytest.mark.parametrize("path", CORRECT, ids=lambda p: p.stem.removeprefix("correct_").removesuffix("_backprop"))
def test_every_correct_submission_gets_full_marks(path, backprop):
    items = grade(path, backprop)
    assert {name: (i.points, i.feedback) for name, i in items.items() if i.points < i.max_points} == {}
    assert items["backward"].evidence["loss_consistent"] is True
    assert "fd_error_maps" not in items["backward"].evidence  # nothing to locate


def test_missing_sigma_prime_is_located_in_the_hidden_layer(backprop):
    back = grade(CORPUS / "wrong_missing_sigmoid_prime_backprop.py", backprop)["backward"]
    ev = back.evidence
    assert ev["keys"] == {"dW1": "wrong", "db1": "wrong", "dW2": "ok", "db2": "ok"}
    assert ev["first_wrong"] == "dW1" and ev["first_wrong_step"] == "backward"
    assert back.points == back.max_points / 2
    maps = ev["error_maps"]
    case = make_cases(backprop.item("backward"))[ev["map_case"]]
    assert np.shape(maps["dW1"]) == case.params["W1"].shape and np.shape(maps["db1"]) == case.params["b1"].shape
    assert max(max(row) for row in maps["dW1"]) > 0.1
    assert max(max(row) for row in maps["dW2"]) < 1e-6
    assert any("disagree with finite differences of your own loss" in d for d in back.details)
    assert set(ev["fd_error_maps"]) == {"dW1", "db1", "dW2", "db2"}
    json.dumps(ev)  # plain data for the reports


def test_missing_one_over_m_reports_the_factor(backprop):
    back = grade(CORPUS / "wrong_missing_1_over_m_backprop.py", backprop)["backward"]
    largest_m = max(c.m for c in make_cases(backprop.item("backward")))
    assert back.evidence["factors"]["dW1"] == pytest.approx(largest_m)
    assert f"× {largest_m} for m = {largest_m}" in back.feedback


def test_transposed_gradient_message(backprop):
    back = grade(CORPUS / "wrong_transposed_dW1_backprop.py", backprop)["backward"]
    assert back.feedback.startswith("dW1: dW1 has shape (3, 4), expected (4, 3): it is the transpose")
    assert back.points == 3


def test_in_place_change_costs_half_and_is_named(backprop):
    back = grade(CORPUS / "wrong_modifies_params_in_place_backprop.py", backprop)["backward"]
    assert back.points == back.max_points / 2
    assert back.evidence["modified"] == ["params"]
    assert "changed the caller's `params` in place (params['W1'] changed; half the points)" in back.feedback


def test_overflow_shows_up_on_the_large_inputs(backprop):
    back = grade(CORPUS / "wrong_sigma_prime_overflows_backprop.py", backprop)["backward"]
    assert "contains NaN" in back.feedback and "large inputs" in back.details[0]


# ---------------------------------------------------------------- error carried forward


def test_backward_consistent_with_a_wrong_loss_keeps_its_points(backprop):
    items = grade(CORPUS / "ecf_loss_without_regularisation_backprop.py", backprop)
    back, loss = items["backward"], items["loss"]
    assert loss.points == 0 and loss.diagnosis == "regularisation_missing"
    assert back.points == back.max_points
    assert back.evidence["keys"]["dW1"] == "carried_forward" and back.evidence["keys"]["db1"] == "ok"
    assert back.evidence["first_wrong_step"] == "loss"
    assert "agree with finite differences of your own loss" in back.feedback


def test_loss_built_on_a_wrong_forward_is_not_charged_again(tmp_path, backprop):
    path = write(tmp_path, "def forward(X, params):\n"
                           "    Z1 = params['W1'] @ X\n"  # b1 forgotten
                           "    A1 = sigmoid(Z1)\n"
                           "    Z2 = params['W2'] @ A1 + params['b2']\n"
                           "    return {'Z1': Z1, 'A1': A1, 'Z2': Z2, 'A2': sigmoid(Z2)}\n")
    items = grade(path, backprop)
    fwd, loss = items["forward"], items["loss"]
    assert fwd.evidence["keys"] == {"Z1": "wrong", "A1": "carried_forward", "Z2": "carried_forward",
                                    "A2": "carried_forward"}
    assert fwd.points == pytest.approx(1.5) and "b1 is not added" in fwd.feedback
    assert loss.points == loss.max_points and "matches the loss of your own forward" in loss.feedback
    assert loss.evidence["first_wrong_step"] == "forward"
    assert items["backward"].evidence["first_wrong_step"] == "forward"
    assert items["backward"].details[0].startswith("the first step that went wrong is forward")


def test_sgd_step_on_the_learners_own_gradients(tmp_path, backprop):
    path = write(tmp_path, "def backward(X, Y, params, lam):\n"
                           "    return {k: -v for k, v in _right_backward(X, Y, params, lam).items()}\n",
                 base=_with_renamed_backward(tmp_path))
    sgd = grade(path, backprop)["sgd_step"]
    assert sgd.points == sgd.max_points
    assert sgd.evidence["own_gradients"]["after"] > sgd.evidence["own_gradients"]["before"]
    assert any("does NOT decrease" in d for d in sgd.details)


def _with_renamed_backward(tmp_path: Path) -> Path:
    base = tmp_path / "base.py"
    base.write_text((CORPUS / "correct_einsum_backprop.py").read_text()
                    .replace("def backward(", "def _right_backward("))
    return base


# ---------------------------------------------------------------- forward, loss and sgd_step on their own


@pytest.mark.parametrize("body,key,fragment", [
    ("def forward(X, params):\n    Z1 = params['W1'] @ X + params['b1']\n    A1 = np.tanh(Z1)\n"
     "    Z2 = params['W2'] @ A1 + params['b2']\n    return {'Z1': Z1, 'A1': A1, 'Z2': Z2, 'A2': sigmoid(Z2)}\n",
     "A1", "this is tanh(Z)"),
    ("def forward(X, params):\n    Z1 = params['W1'] @ X + params['b1']\n    A1 = sigmoid(Z1)\n"
     "    Z2 = params['W2'] @ Z1 + params['b2']\n    return {'Z1': Z1, 'A1': A1, 'Z2': Z2, 'A2': sigmoid(Z2)}\n",
     "Z2", "Z2 is computed from Z1"),
    ("def forward(X, params):\n    Z1 = params['W1'] @ X + params['b1']\n    A1 = np.exp(Z1) / (1 + np.exp(Z1))\n"
     "    Z2 = params['W2'] @ A1 + params['b2']\n    return {'Z1': Z1, 'A1': A1, 'Z2': Z2, 'A2': sigmoid(Z2)}\n",
     "A1", "A1 contains NaN"),
], ids=["tanh", "z1-for-a1", "overflow"])
def test_forward_names_the_first_wrong_key(tmp_path, backprop, body, key, fragment):
    fwd = grade(write(tmp_path, body), backprop)["forward"]
    assert fwd.evidence["first_wrong"] == key and fwd.diagnosis == f"forward_{key}"
    assert fragment in fwd.feedback
    assert 0 < fwd.points < fwd.max_points


REG = "lam / (2 * m) * (np.sum(params['W1'] ** 2) + np.sum(params['W2'] ** 2))"
BIAS = "lam / (2 * m) * (np.sum(params['b1'] ** 2) + np.sum(params['b2'] ** 2))"
CROSS = "np.sum(Y * np.log(A2) + (1 - Y) * np.log(1 - A2))"


@pytest.mark.parametrize("expr,tag", [
    (f"-{CROSS} / m", "regularisation_missing"),
    (f"-{CROSS} / m + {REG} + {BIAS}", "bias_regularised"),
    (f"-{CROSS} / m + 2 * {REG}", "regularisation_factor"),
    (f"-{CROSS} + {REG}", "missing_1_over_m"),
    (f"{CROSS} / m + {REG}", "sign_error"),
    (f"-np.mean(Y * np.log(A2) + (1 - Y) * np.log(1 - A2)) + {REG}", "mean_over_outputs"),
], ids=lambda v: v if isinstance(v, str) and " " not in v else None)
def test_loss_mistakes_are_recognised(tmp_path, backprop, expr, tag):
    path = write(tmp_path, "def loss(X, Y, params, lam):\n    m = X.shape[1]\n"
                           f"    A2 = forward(X, params)['A2']\n    return float({expr})\n")
    loss = grade(path, backprop)["loss"]
    assert loss.points == 0 and loss.diagnosis == tag, loss.feedback


def test_loss_must_be_one_number(tmp_path, backprop):
    path = write(tmp_path, "def loss(X, Y, params, lam):\n    return np.zeros((2, 2))\n")
    loss = grade(path, backprop)["loss"]
    assert loss.points == 0 and "should return one number" in loss.feedback


@pytest.mark.parametrize("body,diagnosis,points,fragment", [
    ("def sgd_step(params, grads, lr):\n    for k in params:\n        params[k] -= lr * grads['d' + k]\n"
     "    return params\n", "modified_input", 1.0, "changed the caller's `params` in place"),
    ("def sgd_step(params, grads, lr):\n    return {k: params[k] + lr * grads['d' + k] for k in params}\n",
     "sgd_uphill", 0.0, "the step goes uphill"),
    ("def sgd_step(params, grads, lr):\n    return {k: params[k] - grads['d' + k] for k in params}\n",
     "numeric_values", 0.0, "the learning rate is not applied"),
], ids=["in-place", "uphill", "no-lr"])
def test_sgd_step_mistakes(tmp_path, backprop, body, diagnosis, points, fragment):
    sgd = grade(write(tmp_path, body), backprop)["sgd_step"]
    assert sgd.diagnosis == diagnosis and sgd.points == points
    assert fragment in sgd.feedback


# ---------------------------------------------------------------- calls: determinism and cost


def test_calls_are_deterministic_and_few(backprop):
    for item in backprop.items:
        first = [c.to_json() for c in checker_for(item.kind).calls(item)]
        again = [c.to_json() for c in checker_for(item.kind).calls(item)]
        assert first == again
    backward_calls = checker_for("stage").calls(backprop.item("backward"))
    params = make_cases(backprop.item("backward"))[0].params
    n_entries = sum(v.size for v in params.values())
    assert len(backward_calls) == len(make_cases(backprop.item("backward"))) + 1 + 4 * n_entries <= 120
    fd_calls = [c for c in backward_calls if "#fd" in c.id]
    assert {c.function for c in fd_calls} == {"loss"}
    assert all(c.timeout <= 0.25 for c in fd_calls)  # a hanging loss costs seconds here, not minutes


def test_cases_cover_m_1_and_distinct_layer_widths_and_large_inputs(backprop):
    cases = make_cases(backprop.item("backward"))
    shapes = [c.shape() for c in cases]
    assert any(s["m"] == 1 for s in shapes) and any(s["m"] > 1 for s in shapes)
    assert all(len({s["n_in"], s["n_hidden"], s["n_out"]}) == 3 for s in shapes)
    large = [c for c in cases if c.large]
    z1 = large[0].params["W1"] @ large[0].X + large[0].params["b1"]
    assert large and z1.max() > 750 and z1.min() < -750


# ---------------------------------------------------------------- the real sandbox and the CLI


@pytest.mark.parametrize("name,score", [("correct_loops_backprop.py", 10.0),
                                        ("wrong_sigmoid_prime_plus_backprop.py", 8.0)])
def test_real_sandbox_agrees_with_the_in_process_runs(backprop, name, score):
    result = grade_file(CORPUS / name, backprop)
    assert result.score == score
    again = grade(CORPUS / name, backprop)
    assert [(i.item, i.points, i.feedback) for i in result.items] == \
        [(n, i.points, i.feedback) for n, i in again.items()]


def test_cli_grades_a_backprop_file_and_the_report_draws_the_error_maps(tmp_path):
    out = tmp_path / "results.json"
    grader = shutil.which("grader")
    cmd = [grader] if grader else [sys.executable, "-m", "grader.cli"]
    proc = subprocess.run([*cmd, "grade", str(CORPUS / "wrong_tanh_prime_backprop.py"), "--exercise", "backprop",
                           "--json", str(out), "--html", str(tmp_path / "report.html")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "1 - A1² is the derivative of tanh" in proc.stdout
    data = json.loads(out.read_text())
    assert data["score"] == 8
    report = (tmp_path / "report.html").read_text()
    assert 'class="heatmap"' in report and "dW1" in report  # the error maps are drawn


# ---------------------------------------------------------------- the exercise bank's authored mistakes


def _fake_backward_run(item, outputs_per_case, loss_ref) -> RunResult:
    """Outcomes as the sandbox would report them for a learner whose backward returns ``outputs_per_case``
    and whose loss is the reference loss (evaluated here: it is the grader's own trusted code)."""
    from grader import gradcheck

    cases = make_cases(item)
    outcomes = {}
    for call in checker_for("stage").calls(item):
        if call.function == item.name:
            i = int(call.id.rsplit("#", 1)[1])
            value = outputs_per_case[i]
            outcomes[call.id] = CallOutcome(call.id, "ok", encode_value(value), args_after=call.args)
    case = cases[0]
    outcomes[f"{item.name}#fd-base"] = CallOutcome("b", "ok", encode_value(loss_ref(case.X, case.Y, case.params,
                                                                                    case.lam)))
    for j, p in enumerate(gradcheck.plan(case.params)):
        value = loss_ref(case.X, case.Y, gradcheck.perturbed(case.params, p), case.lam)
        outcomes[f"{item.name}#fd{j}"] = CallOutcome(str(j), "ok", encode_value(value))
    return RunResult(outcomes)


@pytest.mark.parametrize("index", range(6), ids=["missing_sigmoid_prime", "sigmoid_prime_plus", "sigmoid_prime_of_z",
                                                 "tanh_prime", "output_sigmoid_prime", "pre_activation_used"])
def test_each_authored_backward_mistake_gets_its_authored_feedback(catalogue, index):
    item = catalogue["backprop"].item("backward")
    assert len(item.mistakes) == 7  # the six below and regularised biases
    m = item.mistakes[index]
    outputs = [m.answer(c.X, c.Y, c.params, c.lam) for c in make_cases(item)]
    res = checker_for("stage").check(item, _fake_backward_run(item, outputs, catalogue["backprop"].item(
        "loss").reference), "backprop")
    assert res.diagnosis == m.tag
    assert res.feedback.endswith(m.feedback) and res.points < res.max_points
    assert res.evidence["loss_consistent"] is False


def test_reference_outputs_in_a_fake_run_get_full_marks(catalogue):
    item = catalogue["backprop"].item("backward")
    outputs = [item.reference(c.X, c.Y, c.params, c.lam) for c in make_cases(item)]
    res = checker_for("stage").check(item, _fake_backward_run(item, outputs, catalogue["backprop"].item(
        "loss").reference), "backprop")
    assert res.status == "passed" and res.evidence["loss_consistent"] is True


@pytest.mark.parametrize("factor,tag", [(3.0, "scaled"), (-1.0, "sign_error"), (0.5, "scaled")])
def test_any_constant_factor_is_recognised_and_reported(catalogue, factor, tag):
    item = catalogue["backprop"].item("backward")
    outputs = [{k: factor * v for k, v in item.reference(c.X, c.Y, c.params, c.lam).items()}
               for c in make_cases(item)]
    res = checker_for("stage").check(item, _fake_backward_run(item, outputs, catalogue["backprop"].item(
        "loss").reference), "backprop")
    assert res.diagnosis == tag and res.points == 0
    assert res.evidence["factors"] == {k: pytest.approx(factor) for k in ("dW1", "db1", "dW2", "db2")}


@pytest.mark.parametrize("returned,diagnosis,fragment", [
    ("None", "numeric_type", "it returned None: did you forget the return statement?"),
    ("[1, 2]", "numeric_type", "backward should return a dict with keys dW1, db1, dW2, db2; it returned a list"),
    ("{k: [[0.0]] for k in ('dW1', 'db1', 'dW2', 'db2')}", "numeric_type", "dW2 should be an array of shape (2, 4)"),
    ("{k: v.astype(complex) for k, v in _right_backward(X, Y, params, lam).items()}", "numeric_dtype", "is complex"),
    ("{k: v.astype(int) for k, v in _right_backward(X, Y, params, lam).items()}", "numeric_values",
     "integer dtype"),
    ("{k: v * np.nan for k, v in _right_backward(X, Y, params, lam).items()}", "numeric_nonfinite",
     "dW2 contains NaN"),
    ("{k: v * 0 for k, v in _right_backward(X, Y, params, lam).items()}", "zero", "dW2 is zero everywhere"),
], ids=["none", "list", "lists", "complex", "int", "nan", "zero"])
def test_odd_backward_results_get_specific_messages(tmp_path, backprop, returned, diagnosis, fragment):
    path = write(tmp_path, f"def backward(X, Y, params, lam):\n    return {returned}\n",
                 base=_with_renamed_backward(tmp_path))
    items = grade(path, backprop)  # warnings are errors in this suite: none may escape the checks
    back = items["backward"]
    assert back.diagnosis == diagnosis and back.points == 0
    assert fragment in back.feedback
    assert all(i.diagnosis != "grader_error" for i in items.values())


def test_sgd_step_matching_the_learners_own_gradient_keys_is_not_charged_again(tmp_path, backprop):
    path = write(tmp_path, "def backward(X, Y, params, lam):\n"
                           "    return {k[1:]: v for k, v in _right_backward(X, Y, params, lam).items()}\n\n"
                           "def sgd_step(params, grads, lr):\n"
                           "    return {k: params[k] - lr * grads[k] for k in params}\n",
                 base=_with_renamed_backward(tmp_path))
    items = grade(path, backprop)
    assert items["backward"].diagnosis == "numeric_keys" and items["backward"].points == 0
    sgd = items["sgd_step"]
    assert sgd.points == sgd.max_points and sgd.evidence["keys"] == {"step": "carried_forward"}
    assert "error carried forward from backward" in sgd.feedback and "KeyError" in sgd.feedback


def test_each_outcome_is_decoded_once_and_shared_read_only():
    from grader.checks.stage_cases import decoded

    outcome = CallOutcome("forward#0", "ok", encode_value({"A2": np.ones((2, 3))}))
    ok, first = decoded(outcome)
    assert ok and decoded(outcome)[1] is first
    assert not first["A2"].flags.writeable  # several stages read it: none may change it
    assert decoded(CallOutcome("x", "ok", {"t": "bogus"})) == (False, None)
    assert decoded(CallOutcome("x", "error")) == (False, None)


def test_stage_decorator_validates_its_options():
    from grader.networks import networks
    from grader.spec import computation, mistake, stage

    net = computation(cases=lambda rng: networks(rng, [(2, 3, 1, 4)]), regulariser="lam")

    def loss(X, Y, params, lam):
        return 0.0

    def my_backward(X, Y, params, lam):
        return {}

    item = stage(points=2, computation=net, gradient_of=loss, after=loss)(my_backward).__grader_item__
    assert (item.kind, item.name, item.points, item.after) == ("stage", "my_backward", 2.0, (loss,))
    with pytest.raises(TypeError, match="the option 'computation' is required"):
        stage(points=1)(my_backward)
    with pytest.raises(TypeError, match=r"@stage on loss \(.*test_backprop.py, line \d+\): unknown option "
                                        r"'gradient_off' \(did you mean 'gradient_of'\?\)"):
        stage(points=1, computation=net, gradient_off=loss)(loss)
    with pytest.raises(ValueError, match="an update stage is judged by the step it takes"):
        stage(points=1, computation=net, update_of=loss, gradients=my_backward,
              mistakes=[mistake(lambda X, Y, params, lam: params, "you returned the old parameters")])(my_backward)


def test_one_rule_says_whether_a_loss_is_right():
    import numpy as np

    from grader.checks.stage_cases import scalars_close as losses_close

    assert losses_close(0.693147, 0.693147 * (1 + 5e-7), 1e-6)
    assert not losses_close(0.693147 * (1 + 3e-6), 0.693147, 1e-6)  # the loss item rejects it: so must backward
    assert losses_close(float(np.float32(0.6931472)), 0.693147180559945, 1e-6)  # float32 precision
    assert not losses_close(float("nan"), 0.69, 1e-6)
