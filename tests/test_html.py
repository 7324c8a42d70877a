"""The HTML report's content and escaping, from results built inline (no sandbox, no browser)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser

import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from grader.encoding import encode_value
from grader.render import html
from grader.results import ErrorInfo, ExerciseResult, ItemResult, SourceLine

from .conftest import SUBMISSIONS


def item(name: str, status: str = "passed", points: float = 1, max_points: float = 1, **kw) -> ItemResult:
    return ItemResult(exercise="derivatives", item=name, kind="symbolic", max_points=max_points,
                      points=points, status=status, feedback=kw.pop("feedback", "correct"), **kw)  # type: ignore[arg-type]


def exercise(*items: ItemResult, **kw) -> ExerciseResult:
    return ExerciseResult(exercise="derivatives", title="Derivatives by hand",
                          submission="/home/someone/alice_derivatives.py", items=items, **kw)


PLOT = {"variable": "x", "fixed": {}, "x": [0.0, 1.0, 2.0, 3.0],
        "answer": [0.0, 1.0, 5.0, 9.0], "reference": [0.0, 1.0, 4.0, 9.0]}


def test_learner_text_is_escaped_everywhere():
    hostile = "<script>alert(1)</script><img src=x onerror=alert(2)>"
    res = exercise(
        item("d_exp", "failed", 0, feedback=f"not equal: {hostile}", answer=hostile, expected="exp(x)",
             details=(hostile,), error=ErrorInfo("ValueError", hostile, (SourceLine(3, "d_exp", hostile),))),
        stdout=hostile, stderr=hostile, notes=(hostile,))
    page = html.render(res, show_solutions=True)
    assert "<script" not in page.lower() and "<img" not in page.lower()
    assert page.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 6


def test_trees_that_do_not_decode_are_shown_as_text():
    bad = {"t": "expr", "tree": ["Script", "<script>alert(1)</script>"]}
    page = html.render(exercise(item("d_exp", answer="x", evidence={"answer_tree": bad})))
    assert "<script" not in page and "<math" not in page
    assert "<code>x</code>" in page


def test_answers_render_as_mathml_and_reference_only_with_solutions():
    x = sp.Symbol("x")
    ev = {"answer_tree": encode_value(sp.exp(x)), "expected_tree": encode_value(sp.Symbol("REFERENCE"))}
    res = exercise(item("d_exp", "failed", 0, answer="e**x", expected="REF_TEXT", evidence=ev))
    hidden = html.render(res)
    assert "<msup><mi>&ExponentialE;</mi><mi>x</mi></msup>" in hidden
    assert "REFERENCE" not in hidden and "REF_TEXT" not in hidden
    shown = html.render(res, show_solutions=True)
    assert "<mi>REFERENCE</mi>" in shown and "REF_TEXT" in shown


def test_wrong_single_expressions_get_curves_from_their_trees():
    x = sp.Symbol("x")
    ev = {"answer_tree": encode_value(sp.exp(2 * x)), "expected_tree": encode_value(sp.exp(x)),
          "plot_variables": [{"name": "x", "kind": "real", "lo": None, "hi": None}]}
    assert html.render(exercise(item("d_exp", "failed", 0, evidence=ev))).count('<svg class="plot"') == 1
    assert '<svg class="plot"' not in html.render(exercise(item("d_exp", "failed", 0, evidence={
        **ev, "plot_variables": [{"name": "x", "kind": "complex"}]})))


def test_fix_first_lists_the_items_losing_most_points():
    res = exercise(item("a", "failed", 0, 1, feedback="fa"), item("b", "failed", 0, 3, feedback="fb"),
                   item("c", "passed", 2, 2), item("d", "failed", 1, 3, feedback="fd"),
                   item("e", "error", 0, 2.5, feedback="fe"))
    page = html.render(res)
    block = page.split('id="fix-first"')[1].split("</section>")[0]
    assert re.findall(r'href="#item-(\w+)"', block) == ["b", "e", "d"]
    assert "−3 points" in block and "−2.5 points" in block


def test_no_fix_first_when_everything_is_right():
    page = html.render(exercise(item("a"), item("b")))
    assert "Fix these first" not in page
    assert "2 / 2" in page


def test_score_bar_is_labelled_and_sized():
    page = html.render(exercise(item("a", "failed", 0, 3), item("b", "passed", 1, 1)))
    assert 'aria-valuemax="4" aria-valuenow="1"' in page and "1 of 4 points" in page
    assert 'style="width: 25.0%"' in page


def test_counterexample_sentence():
    ev = {"verdict": "not_equivalent", "counterexample": {"x": 0.5}, "answer_value": 0.2350,
          "reference_value": 0.4701}
    page = html.render(exercise(item("d_exp", "failed", 0, evidence=ev)))
    assert "At x = 0.5 your answer gives 0.235; the correct value is 0.4701." in page


def test_counterexample_digits_grow_until_the_values_differ():
    text = html.counterexample_text({"counterexample": {"x": 1.0}, "answer_value": 0.123456,
                                     "reference_value": 0.123457})
    assert text == "At x = 1 your answer gives 0.123456; the correct value is 0.123457."


def test_component_counterexamples_are_numbered():
    ev = {"components": [{"verdict": "equivalent"},
                         {"counterexample": {"x": 2.0}, "answer_value": 1.0, "reference_value": 2.0}]}
    page = html.render(exercise(item("grad", "failed", 0, evidence=ev)))
    assert "Component 2: at x = 2 your answer gives 1; the correct value is 2." in page


def test_plot_drawn_for_wrong_items_only():
    wrong = item("d_tanh", "failed", 0, evidence={"plot": PLOT, "counterexample": {"x": 2.0},
                                                   "answer_value": 5.0, "reference_value": 4.0})
    right = item("d_exp", evidence={"plot": PLOT})
    page = html.render(exercise(wrong, right))
    assert page.count('<svg class="plot"') == 1
    svg = page.split('<svg class="plot"')[1].split("</figure>")[0]
    assert 'role="img"' in svg and "<title" in svg and "<desc" in svg
    assert "They differ for x from 1.5 to 2.5" not in svg  # only sample 2 differs
    assert "They differ at x = 2 (shaded)" in svg
    assert 'class="band"' in svg and 'class="marker"' in svg
    assert svg.count("<circle") == 2


def test_malformed_plot_data_is_skipped():
    bad = item("d_tanh", "failed", 0, evidence={"plot": {"x": "nonsense"}})
    page = html.render(exercise(bad))
    assert '<svg class="plot"' not in page and "d_tanh" in page


def test_one_heatmap_per_parameter():
    maps = {"dW1": [[0.0, 1e-9, 0.5], [1e-3, 2.0, 0.0]], "db1": [0.0, 0.3]}
    page = html.render(exercise(ItemResult("backprop", "backward", "numeric", 3, 0, "failed",
                                           "wrong gradients", evidence={"error_maps": maps})))
    assert page.count('<svg class="heatmap"') == 2
    first = page.split('<svg class="heatmap"')[1].split("</svg>")[0]
    assert first.count("<rect") == 6
    assert "dW1 (2 × 3): 3 of 6 entries have a relative error above 10⁻⁶; the worst is entry (1, 1), relative error 2." \
        in page
    assert "db1 (2 entries)" in page and "Relative error colours" in page


def test_error_shows_the_learners_own_lines():
    err = ErrorInfo("ZeroDivisionError", "division by zero", (SourceLine(14, "d_pow_base", "return 1 / 0"),))
    page = html.render(exercise(item("d_pow_base", "error", 0, feedback="d_pow_base raised ZeroDivisionError",
                                     error=err)))
    assert "line 14, in d_pow_base:  return 1 / 0" in page
    assert "ZeroDivisionError: division by zero" in page


def test_import_error_is_an_alert():
    err = ErrorInfo("SyntaxError", "invalid syntax", (SourceLine(3, "<module>", "def f(:"),))
    page = html.render(exercise(item("d_exp", "error", 0), import_error=err))
    assert 'role="alert"' in page and "Your file could not be run" in page and "line 3:  def f(:" in page
    assert "Fix these first" not in page


def test_page_is_self_contained():
    page = html.render(exercise(item("d_tanh", "failed", 0, evidence={"plot": PLOT})))
    assert "default-src 'none'" in page
    assert "<script" not in page and "<link" not in page and "@import" not in page and "url(" not in page
    urls = re.findall(r'(?:src|href)="([^"]*)"', page)
    assert urls and all(u.startswith("#") for u in urls)
    assert not re.findall(r"https?://(?!www\.w3\.org/)", page)


def test_only_the_file_name_of_the_submission_is_shown():
    page = html.render(exercise(item("a")))
    assert "alice_derivatives.py" in page and "/home/someone" not in page


@pytest.mark.parametrize("status", ["passed", "failed", "error", "undecided"])
def test_every_status_renders(status):
    page = html.render(exercise(item("a", status, 0 if status != "passed" else 1)))
    assert f"is-{status}" in page


def test_cli_report_for_a_partly_wrong_submission(tmp_path):
    """End to end: every element the issue asks for, on a real graded file."""
    out = tmp_path / "report.html"
    grader = shutil.which("grader")
    cmd = [grader] if grader else [sys.executable, "-m", "grader.cli"]
    proc = subprocess.run([*cmd, "grade", str(SUBMISSIONS / "partly_wrong_derivatives.py"), "--html", str(out),
                           "--show-solutions", "-q"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    page = out.read_text(encoding="utf-8")
    assert "Fix these first" in page and re.search(r'class="bar \w+" role="meter"', page)
    assert page.count("<math") >= 15  # answers and references
    assert page.count('<svg class="plot"') >= 3  # d_exp_neg, d_pow_base, d_tanh, d_sin_x2
    assert "the chain rule also multiplies by the derivative of the inner function" in page
    assert re.search(r"At x = [-+\w.]+ your answer gives [-+\w.]+; the correct value is [-+\w.]+\.", page)
    assert "sympy.diff is not allowed" in page
    assert "<script" not in page


def test_indented_detail_lines_stay_an_aligned_table():
    details = ("dW1: 2 of 4 entries differ", "    index   obtained", "    (0, 0)  1.5", "your loss is right")
    assert html.detail_blocks(details) == ((False, "dW1: 2 of 4 entries differ"),
                                           (True, "index   obtained\n(0, 0)  1.5"), (False, "your loss is right"))
    page = html.render(exercise(item("backward", "failed", 0, details=details)))
    assert "<pre>index   obtained\n(0, 0)  1.5</pre>" in page


def test_finite_difference_maps_get_their_own_group():
    ev = {"error_maps": {"dW1": [[0.5, 0.0]]}, "fd_error_maps": {"dW1": [[0.5, 0.0]], "db1": [0.1]}}
    page = html.render(exercise(ItemResult("backprop", "backward", "backprop", 4, 0, "failed", "wrong",
                                           evidence=ev)))
    assert page.count('<svg class="heatmap"') == 3
    assert "against finite differences of your own loss" in page and page.count("Relative error colours") == 1


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, tuple[str, ...]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, tuple(sorted(a for a, _ in attrs))))


def _structure(text: str) -> list[tuple[str, tuple[str, ...]]]:
    err = ErrorInfo("ValueError", text, (SourceLine(1, "f", text),))
    res = exercise(item("d_exp", "failed", 0, feedback=text, answer=text, expected=text, details=(text, " " + text),
                        title=text, error=err, evidence={"counterexample": {"x": 1.0}, "answer_value": 1.0,
                                                         "reference_value": 2.0}),
                   stdout=text, stderr=text, notes=(text,))
    parser = _Tags()
    parser.feed(html.render(res, show_solutions=True))
    return parser.tags


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet=st.sampled_from('<>&"\'/=! abcsriptmgonerl-:;()[]{}`\\\n\t\x00é'), min_size=1,
               max_size=40).filter(lambda t: t.strip() and not t[0].isspace()))
def test_no_learner_string_changes_the_page_structure(text):
    """Whatever the learner's strings hold, the page has the same elements and attributes."""
    assert _structure(text) == _structure("plain")


def test_parameters_the_checker_accepted_are_captioned_as_accepted():
    ev = {"error_maps": {"dW1": [[0.5, 0.0]], "db1": [3e-6, 0.0]}, "keys": {"dW1": "wrong", "db1": "ok"}}
    page = html.render(exercise(ItemResult("backprop", "backward", "backprop", 4, 2, "failed", "dW1 wrong",
                                           evidence=ev)))
    assert "db1 (2 entries): accepted; the largest relative error is 3e-06." in page
    assert "dW1 (1 × 2)" not in page and "dW1 (2 entries): 1 of 2 entries" in page


def test_finite_difference_maps_are_judged_at_their_own_threshold():
    from grader.render.html import item_view

    ev = {"error_maps": {"dW1": [[2e-4, 0.0]]}, "rtol": 1e-6,
          "fd_error_maps": {"dW1": [[2e-4, 0.0]]}, "fd_rtol": 1e-3}
    view = item_view(ItemResult("backprop", "backward", "backprop", 4, 0, "failed", "wrong", evidence=ev))
    (vs_reference,), (vs_own_loss,) = view.heatmaps, view.fd_heatmaps
    assert vs_reference.summary != vs_own_loss.summary
    assert "1 of 2" in vs_reference.summary and "1 of 2" not in vs_own_loss.summary
