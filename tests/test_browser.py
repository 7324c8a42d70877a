"""The report in a real headless Chromium: offline, no console errors, formulas and plots laid out.

Needs Debian's ``chromium`` (``.ci/run`` installs it). Outside CI the tests
skip when it is missing; in CI (``CI=true``) they fail instead. Screenshots
go to ``tmp_path`` and, when ``GRADER_SCREENSHOTS`` names a folder, are
copied there too (for a CI artifact or a human look).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from grader.render import html
from grader.results import ExerciseResult, ItemResult

from . import _cdp
from ._cdp import Browser
from .conftest import SUBMISSIONS

pytestmark = pytest.mark.browser

SIZES = """JSON.stringify(Array.from(document.querySelectorAll(%r)).map(e => {
  const r = e.getBoundingClientRect(); return [r.width, r.height]; }))"""


def _sizes(page, selector: str) -> list[list[float]]:
    import json

    return json.loads(page.evaluate(SIZES % selector))


def require_chromium() -> str:
    """The Chromium binary; skip when it is missing, but fail in CI (CI=true), which must run these."""
    binary = _cdp.find_chromium()
    if binary is None:
        reason = "headless Chromium not found (install Debian's chromium or set GRADER_CHROMIUM)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason + "; CI must run the browser tests", pytrace=False)
        pytest.skip(reason)
    return binary


@pytest.mark.parametrize("ci,outcome", [("", pytest.skip.Exception), ("true", pytest.fail.Exception)],
                         ids=["local-skips", "ci-fails"])
def test_missing_chromium(monkeypatch, ci, outcome):
    monkeypatch.setattr(_cdp, "find_chromium", lambda: None)
    monkeypatch.setenv("CI", ci)
    with pytest.raises(outcome, match="Chromium not found"):
        require_chromium()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    b = Browser(require_chromium(), tmp_path_factory.mktemp("chromium-profile"))
    yield b
    b.close()


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    """The report of a partly wrong submission, written by the real CLI."""
    out = tmp_path_factory.mktemp("report") / "report.html"
    grader = shutil.which("grader")
    cmd = [grader] if grader else [sys.executable, "-m", "grader.cli"]
    proc = subprocess.run([*cmd, "grade", str(SUBMISSIONS / "partly_wrong_derivatives.py"), "--html", str(out),
                           "--show-solutions", "-q"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return out


@pytest.fixture(scope="module")
def heatmap_report(tmp_path_factory) -> Path:
    """A backprop-style result with per-parameter error maps (drawn as heatmaps)."""
    maps = {"dW1": [[1e-12, 0.4, 1e-9], [2e-5, 1e-3, 3.0]], "db1": [1e-10, 0.02, None],
            "dW2": [[0.001 * (i + j) for j in range(30)] for i in range(30)]}
    res = ExerciseResult("backprop", "One backprop step", "bob_backprop.py", (
        ItemResult("backprop", "backward", "numeric", 4, 0, "failed", "dW1: 3 of 6 entries differ",
                   evidence={"error_maps": maps}),))
    out = tmp_path_factory.mktemp("heat") / "heat.html"
    out.write_text(html.render(res), encoding="utf-8")
    return out


def _keep(path: Path) -> None:
    folder = os.environ.get("GRADER_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(folder) / path.name)


def _assert_clean(page) -> None:
    assert page.console_errors == []
    assert page.requests == [page.url], "the report made network requests"


def test_harness_sees_requests_and_console_errors(browser, tmp_path):
    """Control: a page that does load something and log an error is caught by the same checks."""
    bad = tmp_path / "bad.html"
    bad.write_text('<!doctype html><p>x</p><script>console.error("boom")</script>'
                   '<img src="http://127.0.0.1:9/x.png">', encoding="utf-8")
    page = browser.open(bad.as_uri())
    try:
        assert "boom" in " ".join(page.console_errors)
        assert any(u.startswith("http://127.0.0.1:9/") for u in page.requests)
    finally:
        page.close()


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
def test_report_loads_offline_and_cleanly(browser, report, tmp_path, dark):
    page = browser.open(report.as_uri(), dark=dark)
    try:
        _assert_clean(page)
        assert not page.evaluate("document.querySelector('details.astext code').checkVisibility()")
        assert page.evaluate("document.title").startswith("Derivatives by hand: 7 / 15")
        bg = page.evaluate("getComputedStyle(document.documentElement).backgroundColor")
        assert bg == ("rgb(22, 24, 28)" if dark else "rgb(255, 255, 255)")
        shot = page.screenshot(tmp_path / f"report-{'dark' if dark else 'light'}.png")
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
        _keep(shot)
    finally:
        page.close()


def test_math_is_laid_out_natively(browser, report):
    page = browser.open(report.as_uri())
    try:
        maths = _sizes(page, "math")
        assert len(maths) >= 15 and all(w > 0 and h > 0 for w, h in maths)
        # a fraction is stacked (taller than a plain identifier): MathML is rendered, not shown as text
        frac = _sizes(page, "mfrac")
        ident = _sizes(page, "mi")
        assert frac and max(h for _, h in frac) > 1.3 * min(h for _, h in ident)
        assert page.evaluate("getComputedStyle(document.querySelector('math')).display") in ("math", "inline math")
    finally:
        page.close()


def test_plots_have_size_and_text_alternatives(browser, report):
    page = browser.open(report.as_uri())
    try:
        plots = _sizes(page, "svg.plot")
        assert len(plots) >= 3 and all(w > 200 and h > 100 for w, h in plots)
        paths = _sizes(page, "svg.plot path.ans")
        assert all(w > 0 or h > 0 for w, h in paths)
        names = page.evaluate("Array.from(document.querySelectorAll('svg.plot')).map("
                              "s => s.getAttribute('aria-labelledby').split(' ').map("
                              "id => document.getElementById(id).textContent).join(' '))")
        assert all("reference" in n and "your answer" in n.lower() for n in names)
    finally:
        page.close()


def test_heatmaps_render(browser, heatmap_report, tmp_path):
    page = browser.open(heatmap_report.as_uri())
    try:
        _assert_clean(page)
        maps = _sizes(page, "svg.heatmap")
        assert len(maps) == 3 and all(w > 0 and h > 0 for w, h in maps)
        assert page.evaluate("document.querySelectorAll('svg.heatmap')[0].querySelectorAll('rect').length") == 6
        _keep(page.screenshot(tmp_path / "heatmaps.png"))
    finally:
        page.close()


def test_print_layout(browser, report, tmp_path):
    page = browser.open(report.as_uri(), dark=True, media="print")
    try:
        _assert_clean(page)
        # print uses the light palette even when the screen is dark, and the full width
        assert page.evaluate("getComputedStyle(document.documentElement).backgroundColor") == "rgb(255, 255, 255)"
        assert page.evaluate("getComputedStyle(document.body).maxWidth") == "none"
        # folded "as text" forms are printed open
        assert page.evaluate("Array.from(document.querySelectorAll('details.astext code'))"
                             ".every(e => e.checkVisibility())")
        pdf = page.call("Page.printToPDF", printBackground=True)["data"]
        assert pdf.startswith("JVBERi0")  # base64 of "%PDF-"
    finally:
        page.close()


def test_accessibility_tree_names_every_picture_and_link(browser, report, heatmap_report):
    for path, pictures in ((report, 3), (heatmap_report, 3)):
        page = browser.open(path.as_uri())
        try:
            nodes = page.call("Accessibility.getFullAXTree")["nodes"]
            images = [n for n in nodes if n.get("role", {}).get("value") == "image" and not n.get("ignored")]
            assert len(images) >= pictures
            assert all(n.get("name", {}).get("value", "").strip() for n in images)
            meters = [n for n in nodes if n.get("role", {}).get("value") == "meter"]
            assert meters and all("points" in n["name"]["value"] for n in meters)
            # every in-page link lands on an element, and headings never skip a level
            assert page.evaluate("Array.from(document.querySelectorAll('a[href^=\"#\"]'))"
                                 ".every(a => document.getElementById(a.getAttribute('href').slice(1)))")
            levels = page.evaluate("Array.from(document.querySelectorAll('h1,h2,h3,h4')).map(h => +h.tagName[1])")
            assert levels[0] == 1 and all(b - a <= 1 for a, b in zip(levels, levels[1:]))
        finally:
            page.close()
