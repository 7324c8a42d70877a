"""JUnit XML for CI test reporters (GitLab unit test reports, Jenkins, GitHub test-report actions).

One ``<testsuites>`` holding one ``<testsuite>`` per graded submission, one
``<testcase>`` per item. Conventions the readers rely on:

* ``classname`` + ``name`` identify a test (GitLab shows ``classname`` as the
  suite and drops later duplicates), so ``classname`` is the exercise and
  ``name`` the item's own name, both stable between runs;
* a failed item has ``<failure message="…" type="diagnosis">`` with the whole
  feedback also as the element's text (GitLab shows the text, not ``message``);
* an item the grader could not decide gets ``<error>``; a file that could not
  run still yields one failing test case per item, so the reporter shows each;
* points go in ``<system-out>`` and in ``<properties>``; the suite's counts
  (``tests``, ``failures``, ``errors``, ``skipped``) and ``time`` are set;
* ``file`` (and ``line`` where the learner's code raised) let GitHub
  reporters annotate the learner's file; readers that do not know them ignore them.

Learner text shows control characters as visible escapes (grader/render/text.py) and loses
what XML 1.0 still cannot carry (lone surrogates), so the file always parses.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from datetime import datetime, timezone

from ..results import ExerciseResult, ItemResult
from .gradescope import test_output
from .text import could_not_run, headline, visible

_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def clean(text: str) -> str:
    """``text`` with controls as visible escapes and anything else XML 1.0 forbids (lone surrogates) replaced."""
    return _NOT_XML.sub("\ufffd", visible(text))


def _kind_of_failure(item: ItemResult) -> str | None:
    if item.status == "passed":
        return None
    return "error" if item.status == "undecided" else "failure"


def _testcase(item: ItemResult, seconds: float, submission: str) -> ET.Element:
    case = ET.Element("testcase", classname=clean(item.exercise), name=clean(item.item),
                      time=f"{seconds:.3f}", file=clean(submission))
    if item.error and item.error.frames:
        case.set("line", str(item.error.frames[-1].lineno))
    props = ET.SubElement(case, "properties")
    for name, value in (("title", item.title), ("kind", item.kind), ("points", f"{item.points:g}"),
                        ("max_points", f"{item.max_points:g}"), ("hidden", str(item.hidden).lower())):
        ET.SubElement(props, "property", name=name, value=clean(value))
    if item.error and item.error.frames and item.error.frames[-1].cell is not None:  # a notebook: line is in this cell
        ET.SubElement(props, "property", name="cell", value=str(item.error.frames[-1].cell))
    failure = _kind_of_failure(item)
    if failure:
        message = f"{item.feedback} ({item.points:g}/{item.max_points:g} points)"
        el = ET.SubElement(case, failure, message=clean(message),
                           type=clean(item.diagnosis or (item.error.type if item.error else item.status)))
        el.text = clean(test_output(item))
    out = ET.SubElement(case, "system-out")
    out.text = clean(f"{item.item}: {item.points:g}/{item.max_points:g} points\n{item.feedback}")
    return case


def _suite(result: ExerciseResult, timestamp: str) -> ET.Element:
    failures = sum(1 for i in result.items if _kind_of_failure(i) == "failure")
    errors = sum(1 for i in result.items if _kind_of_failure(i) == "error")
    suite = ET.Element("testsuite", name=clean(f"{result.exercise}: {result.title}"),
                       tests=str(len(result.items)), failures=str(failures), errors=str(errors),
                       skipped="0", time=f"{result.seconds:.3f}", timestamp=timestamp)
    props = ET.SubElement(suite, "properties")
    for name, value in (("submission", result.submission), ("score", f"{result.score:g}"),
                        ("max_score", f"{result.max_score:g}"), ("percent", f"{result.percent:.1f}")):
        ET.SubElement(props, "property", name=name, value=clean(value))
    share = result.seconds / len(result.items) if result.items else 0.0
    for item in result.items:
        suite.append(_testcase(item, share, result.submission))
    text = "\n".join(line for line in (headline(result), could_not_run(result)) if line)
    ET.SubElement(suite, "system-out").text = clean(text)
    return suite


def to_element(results: Iterable[ExerciseResult], name: str = "grader") -> ET.Element:
    """The ``<testsuites>`` element for one or more graded submissions."""
    results = list(results)
    stamp = datetime.now(timezone.utc).replace(microsecond=0).isoformat()
    suites = [_suite(r, stamp) for r in results]
    root = ET.Element("testsuites", name=name,
                      tests=str(sum(len(r.items) for r in results)),
                      failures=str(sum(int(s.get("failures", "0")) for s in suites)),
                      errors=str(sum(int(s.get("errors", "0")) for s in suites)),
                      skipped="0", time=f"{sum(r.seconds for r in results):.3f}")
    root.extend(suites)
    return root


def render(result: ExerciseResult | Iterable[ExerciseResult]) -> str:
    """The JUnit XML document as text (UTF-8, with an XML declaration)."""
    results = [result] if isinstance(result, ExerciseResult) else list(result)
    root = to_element(results)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
