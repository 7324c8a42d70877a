"""The robustness corpus: whatever a learner did to a notebook's cells, the functions are graded by name.

Every notebook is built here in tmp_path from three answers (d_exp, d_exp_neg, d_log); each case
states which of them must pass.
"""

from __future__ import annotations

import json

import pytest

from grader.grading import grade_file

from .notebook_support import D_EXP, D_EXP_NEG, D_LOG, code, markdown, notebook

ALL = {"d_exp", "d_exp_neg", "d_log"}
BIG_OUTPUT = {"output_type": "stream", "name": "stdout", "text": "x" * (3 << 20)}
PLOT = {"output_type": "display_data", "metadata": {}, "data": {"image/png": "iVBORw0KGgo=", "text/plain": "<Figure>"}}

CASES = {
    "plain": (notebook(code(D_EXP), code(D_EXP_NEG), code(D_LOG)), ALL),
    "copied cell": (notebook(code(D_EXP), code(D_EXP), code(D_EXP_NEG), code(D_LOG)), ALL),
    "split cell": (notebook(code("import sympy"), code("def d_exp(x):\n    return sympy.exp(x)"),
                            code(D_EXP_NEG), code(D_LOG)), ALL),
    "merged cells": (notebook(code(D_EXP + D_EXP_NEG + D_LOG)), ALL),
    "reordered cells": (notebook(code(D_LOG), code(D_EXP_NEG), code(D_EXP)), ALL),
    "deleted cell": (notebook(code(D_EXP), code(D_LOG)), {"d_exp", "d_log"}),
    "cell turned to markdown": (notebook(code(D_EXP), markdown(D_EXP_NEG), code(D_LOG)), {"d_exp", "d_log"}),
    "with outputs": (notebook(code(D_EXP, count=1, outputs=[PLOT]), code(D_EXP_NEG, count=2), code(D_LOG)), ALL),
    "huge output blob": (notebook(code(D_EXP, outputs=[BIG_OUTPUT]), code(D_EXP_NEG), code(D_LOG)), ALL),
    "nbformat 4.0": (notebook(code(D_EXP), code(D_EXP_NEG), code(D_LOG), minor=0), ALL),
    "nbformat 4.4": (notebook(code(D_EXP), code(D_EXP_NEG), code(D_LOG), minor=4), ALL),
    "4.5 without ids": (notebook(code(D_EXP), code(D_EXP_NEG), code(D_LOG), ids=False), ALL),
    "execution counts out of order": (notebook(code(D_EXP, count=7), code(D_EXP_NEG, count=2),
                                               code(D_LOG, count=None)), ALL),
    "pip and timeit": (notebook(code("!pip install sympy\n" + D_EXP), code("%timeit d_exp(1)\n" + D_EXP_NEG),
                                code(D_LOG)), ALL),
    "broken cell": (notebook(code(D_EXP), code("def d_exp_neg(x)\n    return 0"), code(D_LOG)), {"d_exp", "d_log"}),
    "odd metadata": (json.dumps({**json.loads(notebook(code(D_EXP), code(D_EXP_NEG), code(D_LOG))),
                                 "metadata": {"kernelspec": 3, "custom": {"x": [1]}}}), ALL),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_notebook_grades_as_stated(tmp_path, catalogue, fast_limits, name):
    text, passing = CASES[name]
    path = tmp_path / "derivatives.ipynb"
    path.write_text(text, encoding="utf-8")
    result = grade_file(path, catalogue["derivatives"], fast_limits)
    got = {i.item for i in result.items if i.status == "passed"}
    assert got == passing, (name, result.notes, [i.feedback for i in result.items if i.item in ALL])


def test_a_cell_that_loops_forever_at_import_costs_the_run_not_the_grader(tmp_path, catalogue, fast_limits):
    from dataclasses import replace

    path = tmp_path / "derivatives.ipynb"
    path.write_text(notebook(code(D_EXP), code("while True:\n    pass")), encoding="utf-8")
    result = grade_file(path, catalogue["derivatives"], replace(fast_limits, import_seconds=1.0))
    assert result.score == 0
    assert result.import_error is not None and "too long" in result.import_error.message
