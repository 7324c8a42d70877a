"""Notebook submissions: code cells joined into one module, IPython dropped with a note, locations in cells."""

from __future__ import annotations

import json

import pytest

from grader.grading import grade_file
from grader.notebooks import from_notebook
from grader.results import SourceLine

from .notebook_support import D_EXP, D_EXP_NEG, D_LOG, code, markdown, notebook


def _grade(tmp_path, catalogue, limits, text, name="derivatives.ipynb"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    result = grade_file(path, catalogue["derivatives"], limits)
    return result, {i.item: i for i in result.items}


def test_code_cells_are_joined_and_every_line_maps_back_to_its_cell():
    src = from_notebook(notebook(markdown("# Derivatives"), code("x = 1\ny = 2"), markdown("text"), code("z = 3")))
    assert src.problem is None
    lines = src.code.split("\n")
    assert lines.index("z = 3") + 1 == 4  # prelude, two lines of cell 2, then cell 4
    assert src.place(lines.index("y = 2") + 1) == (2, 2)
    assert src.place(lines.index("z = 3") + 1) == (4, 1)
    assert "display" in lines[0] and src.scanned.split("\n")[0] == ""


def test_ipython_lines_are_dropped_with_a_note_naming_the_cell():
    src = from_notebook(notebook(code("!pip install sympy\n%timeit 1 + 1\nfiles = !ls\nx = 1"),
                                 code("%%bash\necho hi"), code("%%time\ny = 2"), code("sympy.exp?")))
    compile(src.code, "nb", "exec")
    assert "cell 1, line 1: !pip install sympy was not run (IPython syntax)" in src.notes
    assert "cell 1, line 2: %timeit 1 + 1 was not run (IPython syntax)" in src.notes
    assert any(n.startswith("cell 1, line 3: files = !ls") for n in src.notes)
    assert "cell 2 is a %%bash cell (IPython); it was not run" in src.notes
    assert "y = 2" in src.code and "echo hi" not in src.code
    assert any(n.startswith("cell 4, line 1: sympy.exp?") for n in src.notes)


def test_an_indented_magic_keeps_its_block_valid():
    src = from_notebook(notebook(code("if True:\n    %matplotlib inline\nx = 1")))
    compile(src.code, "nb", "exec")
    assert not src.dropped


def test_a_cell_that_does_not_compile_is_dropped_and_named():
    src = from_notebook(notebook(markdown("intro"), code(D_EXP), code("def d_log(x)\n    return 1 / x")))
    assert len(src.dropped) == 1
    dropped = src.dropped[0]
    assert (dropped.cell, dropped.start, dropped.end, dropped.defines) == (3, 1, 2, ("d_log",))
    assert dropped.error.frames == (SourceLine(1, "<module>", "def d_log(x)", 3),)
    assert "cell 3, lines 1-2 not run (defining d_log): SyntaxError: expected ':' (line 1 of cell 3)" in src.notes


def test_a_function_defined_twice_is_graded_as_the_last_with_a_note():
    src = from_notebook(notebook(code(D_LOG), code("x = 1"), code(D_LOG)))
    assert any(n.startswith("d_log is defined in cells 1 and 3; the last one (cell 3) was graded") for n in src.notes)


@pytest.mark.parametrize("text,fragment", [
    ("{not json", "your notebook is not valid JSON"),
    (json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": []}), "has no code cells"),
    (notebook(markdown("only words")), "has no code cells"),
    (json.dumps([1, 2]), "not a notebook nbformat can read"),
])
def test_a_notebook_that_cannot_be_graded_says_why(text, fragment):
    src = from_notebook(text)
    assert src.problem is not None and fragment in src.problem.message


def test_a_notebook_is_graded_like_the_same_py_file(tmp_path, catalogue, fast_limits):
    result, by = _grade(tmp_path, catalogue, fast_limits,
                        notebook(markdown("# d/dx"), code(D_EXP, count=1), code(D_EXP_NEG + D_LOG, count=2)))
    assert {k for k, v in by.items() if v.status == "passed"} == {"d_exp", "d_exp_neg", "d_log"}
    assert result.import_error is None


def test_errors_warnings_and_scan_findings_name_the_cell(tmp_path, catalogue, fast_limits):
    _, by = _grade(tmp_path, catalogue, fast_limits, notebook(
        code(D_EXP),
        markdown("next"),
        code("def d_exp_neg(x):\n    y = 1\n    return undefined_name\n"),
        code("def d_log(x)\n    return 1 / x\n"),
        code("def d_tanh(x):\n    return sympy.diff(sympy.tanh(x), x)\n"),
    ))
    assert by["d_exp"].status == "passed"
    assert by["d_exp_neg"].feedback.endswith("on line 3 of cell 3")
    assert by["d_exp_neg"].error.frames[-1].cell == 3
    assert by["d_log"].feedback == "your file has a SyntaxError on line 1 of cell 4: expected ':'"
    assert "line 2 of cell 5" in by["d_tanh"].feedback
    assert by["d_tanh"].evidence["static_scan"][0]["cell"] == 5


def test_display_and_plotting_calls_do_not_break_grading(tmp_path, catalogue, fast_limits):
    _, by = _grade(tmp_path, catalogue, fast_limits, notebook(
        code(D_EXP + "display(d_exp(sympy.Symbol('x')))\n"),
        code("try:\n    import matplotlib.pyplot as plt\n    plt.plot([1, 2])\n    plt.show()\n"
             "except ImportError:\n    pass\n"),
    ))
    assert by["d_exp"].status == "passed"


def test_a_notebook_defining_none_of_the_functions_gets_a_note(tmp_path, catalogue, fast_limits):
    result, by = _grade(tmp_path, catalogue, fast_limits, notebook(code("x = 1")))
    assert result.score == 0
    assert any("defines none of the graded functions" in n for n in result.notes)
    assert by["d_exp"].diagnosis == "missing_function"


def test_an_unreadable_notebook_costs_every_item_with_its_reason(tmp_path, catalogue, fast_limits):
    result, by = _grade(tmp_path, catalogue, fast_limits, "{broken")
    assert result.score == 0
    assert by["d_exp"].feedback.startswith("your notebook is not valid JSON")


def test_without_nbformat_a_notebook_gets_a_one_line_install_hint(tmp_path, catalogue, monkeypatch):
    import sys

    from grader.errors import UsageError
    monkeypatch.setitem(sys.modules, "nbformat", None)
    path = tmp_path / "derivatives.ipynb"
    path.write_text(notebook(code(D_EXP)))
    with pytest.raises(UsageError, match=r"pip install 'grader\[notebooks\]'"):
        grade_file(path, catalogue["derivatives"])


def test_every_output_names_the_cell(tmp_path, catalogue, fast_limits):
    from grader.render import gradescope, html, junit, terminal

    result, _ = _grade(tmp_path, catalogue, fast_limits, notebook(
        markdown("intro"), code(D_EXP), code("def d_exp_neg(x):\n    return undefined_name\n"),
        code("def d_log(x)\n    return 1 / x\n")))
    assert "SyntaxError on line 1 of cell 4" in terminal.render(result, color=False)  # the table cuts long lines
    assert "line 2 of cell 3" in html.render(result)
    doc = gradescope.to_dict(result)
    assert any("line 2 of cell 3" in t.get("output", "") for t in doc["tests"])
    xml = junit.render(result)
    assert '<property name="cell" value="3"' in xml and 'line="2"' in xml
