"""The report data every expression checker stores: both sides as plain trees, never an unbounded one."""

from __future__ import annotations

import json

import sympy as sp

from grader.checks.common import SHOWN_NODES, expression_evidence
from grader.encoding import decode_value
from grader.spec import Variable

X = sp.Symbol("x", real=True)


def test_small_answers_are_kept_as_wire_trees_that_decode_to_the_same_expression():
    ev = expression_evidence(sp.exp(-X) * 2, -sp.exp(-X), [Variable("x")], plot=True)
    assert decode_value(ev["answer_tree"], {"x": X}) == 2 * sp.exp(-X)
    assert decode_value(ev["expected_tree"], {"x": X}) == -sp.exp(-X)
    assert ev["plot_variables"] == [{"name": "x", "kind": "real", "lo": None, "hi": None}]
    json.dumps(ev)  # plain data: it goes into the gradebook and across processes


def test_a_huge_answer_is_not_stored_but_the_reference_still_is():
    huge = sp.Add(*[sp.sin(k * X) for k in range(1, SHOWN_NODES)], evaluate=False)
    ev = expression_evidence(huge, sp.cos(X), [Variable("x")], plot=False)
    assert "answer_tree" not in ev
    assert "expected_tree" in ev and "plot_variables" not in ev
    assert len(json.dumps(ev)) < 1_000


def test_a_list_answer_counts_all_its_parts():
    parts = [sp.Add(*[sp.Symbol(f"a{i}_{k}") for k in range(SHOWN_NODES // 4)]) for i in range(5)]
    assert "answer_tree" not in expression_evidence(parts, [X, X], [], plot=False)
    assert "answer_tree" in expression_evidence(parts[:1], [X, X], [], plot=False)
