"""Gradescope results.json: validated against a JSON Schema written from Gradescope's specification."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import replace

import jsonschema
import pytest

from grader.render import gradescope
from grader.results import ErrorInfo, SourceLine

from .conftest import TESTS

SCHEMA = json.loads((TESTS / "schemas" / "gradescope_results.schema.json").read_text())
GRADER = shutil.which("grader")


def validate(doc: dict) -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    jsonschema.validate(doc, SCHEMA, cls=jsonschema.Draft202012Validator)


def test_document_follows_the_specification(ci_result):
    doc = json.loads(gradescope.render(ci_result))
    validate(doc)
    assert doc["score"] == pytest.approx(1.5)
    assert [t["number"] for t in doc["tests"]] == ["1", "2", "3", "4", "5"]
    assert [t["status"] for t in doc["tests"]] == ["passed", "failed", "failed", "failed", "failed"]
    assert [t["max_score"] for t in doc["tests"]] == [1.0, 2.0, 1.0, 1.0, 1.0]
    assert doc["stdout_visibility"] == "hidden" and doc["visibility"] == "visible"
    assert all(t["output_format"] == "text" and t["name_format"] == "text" for t in doc["tests"])


def test_hidden_item_is_shown_after_publishing_and_still_counts(ci_result):
    doc = gradescope.to_dict(ci_result)
    vis = {t["extra_data"]["item"]: t["visibility"] for t in doc["tests"]}
    assert vis == {"d_exp": "visible", "d_tanh": "visible", "d_log": "visible",
                   "grad_step": "after_published", "d_odd": "visible"}
    hidden = next(t for t in doc["tests"] if t["extra_data"]["item"] == "grad_step")
    assert hidden["score"] == 0.5 and "hidden" in hidden["tags"]
    assert doc["score"] == 1.5  # the total counts the hidden item...
    assert doc["output"] == ("Calculus <check>: 1 / 5 points on the items shown now; "
                             "1 more item (1 point) is shown once grades are published.")  # ...the visible text does not


def test_test_output_carries_feedback_details_answer_and_where(ci_result):
    tests = {t["extra_data"]["item"]: t for t in gradescope.to_dict(ci_result)["tests"]}
    tanh = tests["d_tanh"]["output"].splitlines()
    assert tanh == ["tanh' = 1 - tanh², with a minus", "at x = 1 your answer is 1.42, the derivative is 0.42",
                    "Your answer: 1 + tanh(x)**2"]
    assert tests["d_tanh"]["tags"] == ["symbolic", "sign_error"]
    assert "Where: line 7 in d_log: return 1 / 0" in tests["d_log"]["output"]
    assert tests["d_exp"]["name"] == "d_exp: title of d_exp"


def test_long_feedback_is_truncated(ci_result):
    long = replace(ci_result.items[1], details=("x" * 50_000,))
    out = gradescope.test_output(long)
    assert len(out) == gradescope.MAX_OUTPUT_CHARS and out.endswith("…")


def test_file_that_could_not_run_says_why(ci_result):
    broken = replace(ci_result, import_error=ErrorInfo("SyntaxError", "invalid syntax",
                                                       (SourceLine(3, "<module>", "def f(:"),)))
    doc = gradescope.to_dict(broken)
    validate(doc)
    assert "Your file could not be run: SyntaxError: invalid syntax (line 3)" in doc["output"]


def test_problem_document_is_valid_and_scores_zero():
    doc = gradescope.problem("Upload derivatives.py", max_score=15)
    validate(doc)
    assert doc["score"] == 0 and doc["output"] == "Upload derivatives.py" and doc["tests"] == []


@pytest.mark.parametrize("mutate", [
    lambda d: d.update(visibility="after_grading"),
    lambda d: d["tests"][0].update(status="error"),
    lambda d: d["tests"][0].update(output_format="markdown"),
    lambda d: d["tests"][0].update(number=1),
    lambda d: d.update(max_score=15),
    lambda d: (d.pop("score"), d["tests"][0].pop("score")),
], ids=["bad-visibility", "bad-status", "bad-format", "number-not-string", "unknown-key", "no-score"])
def test_schema_rejects_what_the_specification_does_not_allow(ci_result, mutate):
    doc = gradescope.to_dict(ci_result)
    mutate(doc)
    with pytest.raises(jsonschema.ValidationError):
        validate(doc)


def test_cli_json_for_a_hidden_item_end_to_end(tmp_path, tiny_catalogue):
    sub = tmp_path / "tiny.py"
    sub.write_text("def d_exp(x):\n    import sympy\n    return sympy.exp(x)\n\n"
                   "def d_square(x):\n    return x\n")
    cmd = [GRADER] if GRADER else [sys.executable, "-m", "grader.cli"]
    out = subprocess.run([*cmd, "grade", str(sub), "--catalog", str(tiny_catalogue), "--json",
                          str(tmp_path / "r.json")], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    doc = json.loads((tmp_path / "r.json").read_text())
    validate(doc)
    assert doc["score"] == 1.0
    assert [(t["extra_data"]["item"], t["visibility"], t["status"]) for t in doc["tests"]] == [
        ("d_exp", "visible", "passed"), ("d_square", "after_published", "failed")]

