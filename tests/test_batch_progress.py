"""Batch progress: a bar with done/total, rate and ETA on a terminal; plain, safe log lines otherwise."""

from __future__ import annotations

import io

from grader.render.progress import Progress, printable


def test_terminal_bar_shows_done_total_rate_and_eta():
    out = io.StringIO()
    bar = Progress(out, tty=True)
    bar(1, 4, "alice/derivatives")
    text = out.getvalue()
    assert text.startswith("\r[") and "1/4" in text and "/s" in text and "ETA " in text
    assert "alice" not in text  # a bar, not a log
    bar(4, 4, "bob/derivatives")
    assert out.getvalue().endswith("\n") and "4/4" in out.getvalue()
    assert "#" * 30 in out.getvalue()


def test_plain_lines_when_not_a_terminal():
    out = io.StringIO()
    log = Progress(out, tty=False)
    log(1, 2, "alice/derivatives")
    log(2, 2, "bob/derivatives")
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("[1/2] graded alice/derivatives") and lines[1].startswith("[2/2] graded bob/")
    assert "\r" not in out.getvalue()


def test_learner_text_cannot_move_the_cursor_or_forge_lines():
    out = io.StringIO()
    Progress(out, tty=False)(1, 1, "evil\x1b[2J\nforged line\r/derivatives")
    assert out.getvalue().count("\n") == 1 and "\x1b" not in out.getvalue()
    assert printable("x" * 200, limit=10) == "x" * 9 + "…"


def test_close_ends_a_bar_left_mid_line():
    out = io.StringIO()
    bar = Progress(out, tty=True)
    bar(1, 3, "a/x")
    bar.close()
    assert out.getvalue().endswith("\n")
    bar.close()
    assert out.getvalue().count("\n") == 1
