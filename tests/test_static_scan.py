"""The static "derive, don't delegate" scan: what it finds, whom it blames, and how grading uses it."""

from __future__ import annotations

import textwrap

import pytest

from grader.grading import grade_file
from grader.results import ItemResult
from grader.spec import symbolic
from grader.static_scan import enforce, item_findings, scan_source

from .conftest import SUBMISSIONS


def _item(name: str, forbid=None):
    def ref(x):
        return x

    ref.__name__ = name
    kwargs = {} if forbid is None else {"forbid": forbid}
    return symbolic(points=1, **kwargs)(ref).__grader_item__


def _helpers(source: str, name: str = "d_exp", forbid=None) -> list[tuple[str, str, int]]:
    scan = scan_source(textwrap.dedent(source))
    return [(where, f.helper, f.line) for where, f in item_findings(scan, _item(name, forbid))]


@pytest.mark.parametrize("source,expected", [
    ("import sympy\ndef d_exp(x):\n    return sympy.diff(sympy.exp(x), x)\n", [("d_exp", "diff", 3)]),
    ("import sympy as sp\ndef d_exp(x):\n    return sp.exp(x).diff(x)\n", [("d_exp", "diff", 3)]),
    ("from sympy import diff as d\ndef d_exp(x):\n    return d(x, x)\n", [("d_exp", "diff", 3)]),
    ("from sympy import *\ndef d_exp(x):\n    return Derivative(exp(x), x).doit()\n", [("d_exp", "Derivative", 3)]),
    ("import sympy\ndef d_exp(x):\n    return sympy.Integral(x).doit()\n", [("d_exp", "integrate", 3)]),
    ("import sympy\ndef d_exp(x):\n    return sympy.Subs(x, x, 0)\n", [("d_exp", "Subs", 3)]),
    ("def d_exp(x):\n    from sympy import diff\n    return diff(x, x)\n", [("d_exp", "diff", 2)]),
    ("import torch\ndef d_exp(x):\n    return torch.exp(x)\n", [("d_exp", "torch", 3)]),
    ("import jax.numpy as jnp\ndef d_exp(x):\n    return jnp.exp(x)\n", [("d_exp", "jax", 3)]),
    ("import sympy\ndef d_exp(x):\n    return getattr(sympy, 'diff')(x, x)\n", [("d_exp", "diff", 3)]),
], ids=["sympy.diff", "method", "alias", "star-import", "Integral", "Subs", "local-import", "torch",
        "jax-alias", "getattr-constant"])
def test_forbidden_helpers_are_found_with_their_line(source, expected):
    assert _helpers(source) == expected


def test_a_helper_function_called_by_the_item_counts_against_it():
    source = """
        import sympy as sp
        def _derive(e, v):
            return sp.diff(e, v)
        def middle(e, v):
            return _derive(e, v)
        def d_exp(x):
            return middle(sp.exp(x), x)
        def d_log(x):
            return 1 / x
    """
    assert _helpers(source) == [("_derive", "diff", 4)]
    assert _helpers(source, "d_log") == []


def test_work_done_at_import_time_counts_when_the_item_uses_it():
    source = "import sympy as sp\nX = sp.Symbol('x')\nD = sp.diff(sp.exp(X), X)\ndef d_exp(x):\n    return D\n"
    assert _helpers(source) == [("D", "diff", 3)]


def test_allowed_code_has_no_findings():
    source = """
        import sympy
        from sympy import exp, log
        def d_exp(x):
            e = exp(x)
            return e.subs(x, x)  # lowercase subs substitutes; it is not Subs
        def diff_of_squares(a, b):
            return a**2 - b**2
        def steps(v):
            import numpy as np
            return np.diff(v)  # a finite difference, not sympy.diff
    """
    assert _helpers(source) == [] and _helpers(source, "steps") == []


def test_an_item_that_allows_helpers_is_not_blamed():
    assert _helpers("import sympy\ndef sigmoid(x):\n    return sympy.diff(x, x)\n", "sigmoid", forbid=()) == []


def test_unparsable_source_gives_an_unreadable_scan():
    scan = scan_source("def broken(:\n")
    assert not scan.readable and scan.findings == {}


def _result(item, feedback="correct", points=1.0):
    return ItemResult("ex", item.name, "symbolic", 1.0, points, "passed" if points else "failed", feedback)


def test_enforce_zeroes_the_item_names_the_line_and_keeps_the_original_verdict():
    scan = scan_source("import sympy\ndef d_exp(x):\n    return sympy.diff(sympy.exp(x), x)\n")
    item = _item("d_exp")
    (res,), notes = enforce([item], [_result(item)], scan)
    assert (res.points, res.status, res.diagnosis) == (0.0, "failed", "forbidden_helper")
    assert res.feedback.startswith("this item asks you to derive it yourself: sympy.diff is not allowed here")
    assert "line 3" in res.feedback
    assert "graded without this rule the answer would be: correct" in res.details
    assert res.evidence["static_scan"][0]["line"] == 3
    assert notes == ()


def test_dynamic_tricks_are_flagged_for_the_instructor_without_costing_points():
    scan = scan_source("import sympy\ndef d_exp(x):\n    name = 'di' + 'ff'\n"
                       "    return getattr(sympy, name)(sympy.exp(x), x)\n")
    item = _item("d_exp")
    (res,), _ = enforce([item], [_result(item)], scan)
    assert res.points == 1.0
    assert any(d.startswith("flagged for your instructor: line 4 uses getattr") for d in res.details)


def test_unused_forbidden_code_becomes_a_note_not_a_penalty():
    scan = scan_source("import sympy\ndef check_mine(x):\n    return sympy.diff(x, x)\n"
                       "def d_exp(x):\n    return sympy.exp(x)\n")
    item = _item("d_exp")
    (res,), notes = enforce([item], [_result(item)], scan)
    assert res.points == 1.0
    assert notes == ("static scan: line 3 uses sympy.diff in check_mine, which no graded function uses",)


def test_grading_counts_a_helper_the_runtime_guard_cannot_see(catalogue, fast_limits):
    # the derivative is taken at import time, when no item's guard is active
    result = grade_file(SUBMISSIONS / "import_time_diff_derivatives.py", catalogue["derivatives"], fast_limits)
    by_name = {i.item: i for i in result.items}
    d_exp = by_name["d_exp"]
    assert d_exp.points == 0 and d_exp.diagnosis == "forbidden_helper"
    assert "sympy.diff is not allowed here (line 6, in _D_EXP, which d_exp uses" in d_exp.feedback
    assert "graded without this rule the answer would be: correct" in d_exp.details
    assert by_name["d_log"].points == by_name["d_log"].max_points


def test_an_unparsable_file_that_still_ran_is_noted(tmp_path):
    item = _item("d_exp")
    scan = scan_source("def broken(:\n")
    (_,), notes = enforce([item], [_result(item)], scan)
    assert notes == ("the static scan could not parse this file; only the runtime guard applied",)
    failed_import = ItemResult("ex", "d_exp", "symbolic", 1.0, 0.0, "error", "syntax", diagnosis="import_error")
    assert enforce([item], [failed_import], scan)[1] == ()


def test_a_numeric_item_can_forbid_autograd_libraries_through_its_options(catalogue, tmp_path, fast_limits):
    sub = tmp_path / "activations.py"
    sub.write_text("import numpy as np\n\n\ndef tanh_grad(z):\n    import torch\n"
                   "    t = torch.tensor(z, requires_grad=True)\n    torch.tanh(t).sum().backward()\n"
                   "    return t.grad.numpy()\n", encoding="utf-8")
    result = grade_file(sub, catalogue["activations"], fast_limits)
    tanh = {i.item: i for i in result.items}["tanh_grad"]
    assert (tanh.points, tanh.diagnosis) == (0, "forbidden_helper")
    assert tanh.feedback.startswith("this item asks you to derive it yourself: importing torch is not allowed "
                                    "here (line 5: import torch)")


def test_definitions_inside_if_and_try_blocks_are_followed():
    source = """
        try:
            from sympy import diff as d
        except ImportError:
            d = None
        if True:
            def d_exp(x):
                return d(x, x)
    """
    assert _helpers(source) == [("d_exp", "diff", 8)]
