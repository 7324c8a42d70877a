"""JUnit XML: parsed back and checked for the conventions GitLab and GitHub reporters rely on."""

from __future__ import annotations

import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import replace

from grader.render import junit
from grader.results import ErrorInfo

from .conftest import HOSTILE, SUBMISSIONS

GRADER = shutil.which("grader")


def parse(text: str) -> ET.Element:
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    return ET.fromstring(text.encode("utf-8"))


def test_one_testcase_per_item_with_counts(ci_result):
    root = parse(junit.render(ci_result))
    assert root.tag == "testsuites"
    (suite,) = root.findall("testsuite")
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == [i.item for i in ci_result.items]
    assert {c.get("classname") for c in cases} == {"calc"}
    assert suite.get("tests") == root.get("tests") == "5"
    assert suite.get("failures") == root.get("failures") == "3"  # failed, learner exception, partial credit
    assert suite.get("errors") == root.get("errors") == "1"      # undecided: the grader could not tell
    assert suite.get("skipped") == "0"
    assert float(suite.get("time")) == 1.25
    assert sum(float(c.get("time")) for c in cases) == 1.25
    assert len({(c.get("classname"), c.get("name")) for c in cases}) == len(cases)  # GitLab keeps the first


def test_failures_carry_the_feedback_as_text_and_message(ci_result):
    cases = {c.get("name"): c for c in parse(junit.render(ci_result)).iter("testcase")}
    assert cases["d_exp"].find("failure") is None and cases["d_exp"].find("error") is None
    tanh = cases["d_tanh"].find("failure")
    assert tanh.get("type") == "sign_error"
    assert tanh.get("message") == "tanh' = 1 - tanh², with a minus (0/2 points)"
    assert "at x = 1 your answer is 1.42" in tanh.text and "Your answer: 1 + tanh(x)**2" in tanh.text
    partial = cases["grad_step"].find("failure")
    assert partial is not None and "(0.5/1 points)" in partial.get("message")
    assert cases["d_odd"].find("error").get("type") == "grader_error"
    props = {p.get("name"): p.get("value") for p in cases["grad_step"].iter("property")}
    assert props == {"title": "title of grad_step", "kind": "numeric", "points": "0.5", "max_points": "1",
                     "hidden": "true"}
    assert cases["d_exp"].find("system-out").text.startswith("d_exp: 1/1 points")
    assert {c.get("file") for c in cases.values()} == {"alice_calc.py"}
    assert cases["d_log"].get("line") == "7" and cases["d_tanh"].get("line") is None


def test_hostile_learner_text_stays_well_formed_xml(ci_result):
    text = junit.render(ci_result)
    root = parse(text)  # would raise on a NUL or an ESC character
    assert "\x00" not in text and "\x1b" not in text
    failure = next(c for c in root.iter("testcase") if c.get("name") == "d_log").find("failure")
    assert "<script>alert(1)</script> | ]]>" in failure.text  # kept as text, escaped by the serializer
    assert "&lt;script&gt;" in text
    assert failure.get("type") == "exception"


def test_clean_keeps_printable_unicode_and_replaces_forbidden():
    assert junit.clean("σ(x) ≥ 0 \t\n") == "σ(x) ≥ 0 \t\n"
    assert junit.clean("a\x00b\x08c\ud800") == "a\\x00b\\x08c\ufffd"
    assert junit.clean(HOSTILE).endswith("\\x00\\x1b[31m")


def test_unrunnable_file_still_lists_every_item(ci_result):
    broken = replace(ci_result, import_error=ErrorInfo("SyntaxError", "invalid syntax"))
    root = parse(junit.render(broken))
    assert len(root.findall(".//testcase")) == 5
    assert "Your file could not be run: SyntaxError: invalid syntax" in root.find("testsuite/system-out").text


def test_several_submissions_make_several_suites(ci_result):
    other = replace(ci_result, submission="bob_calc.py")
    root = parse(junit.render([ci_result, other]))
    assert len(root.findall("testsuite")) == 2 and root.get("tests") == "10" and root.get("failures") == "6"


def test_cli_writes_junit_for_a_real_submission(tmp_path):
    sub = tmp_path / "alice_derivatives.py"
    shutil.copy(SUBMISSIONS / "partly_wrong_derivatives.py", sub)
    cmd = [GRADER] if GRADER else [sys.executable, "-m", "grader.cli"]
    out = subprocess.run([*cmd, "grade", str(sub), "--junit", str(tmp_path / "reports" / "junit.xml")],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    root = parse((tmp_path / "reports" / "junit.xml").read_text(encoding="utf-8"))
    cases = {c.get("name"): c for c in root.iter("testcase")}
    assert len(cases) == int(root.get("tests")) == 11
    assert cases["d_exp"].find("failure") is None
    assert cases["d_tanh"].find("failure") is not None
    failed = sum(1 for c in cases.values() if c.find("failure") is not None or c.find("error") is not None)
    assert failed == int(root.get("failures")) + int(root.get("errors")) > 0
