"""Batch progress: click's bar with done/total, rate and ETA on a terminal; plain, safe log lines otherwise."""

from __future__ import annotations

import io
import os
import select
import tty
from collections.abc import Iterator

import pytest

from grader.errors import OutputClosed
from grader.render.progress import Progress
from grader.render.text import printable


@pytest.fixture
def terminal() -> Iterator[tuple[io.TextIOWrapper, int]]:
    """A real terminal (a pseudo-terminal in raw mode): the stream the bar writes to and the fd that reads it."""
    reader, writer = os.openpty()
    tty.setraw(writer)
    stream = open(writer, "w", encoding="utf-8")  # noqa: SIM115 - closed by the fixture
    yield stream, reader
    stream.close()
    os.close(reader)


def _read(fd: int) -> str:
    out = b""
    while select.select([fd], [], [], 0.2)[0]:
        out += os.read(fd, 65536)
    return out.decode("utf-8")


def test_terminal_bar_shows_done_total_and_rate_without_names(terminal):
    stream, reader = terminal
    bar = Progress(stream)
    assert bar.tty
    bar(1, 4, "alice/derivatives")
    text = _read(reader)
    assert "1/4" in text and "/s" in text and "[" in text and text.startswith("\r")
    assert "alice" not in text  # a bar, not a log: learner names stay off a shared screen
    bar(4, 4, "bob/derivatives")
    text = _read(reader)
    assert "4/4" in text and "bob" not in text and text.endswith("\n")
    assert "#" * 30 in text


def test_close_ends_a_bar_left_mid_line(terminal):
    stream, reader = terminal
    bar = Progress(stream)
    bar(1, 3, "a/x")
    assert not _read(reader).endswith("\n")
    bar.close()
    assert _read(reader).endswith("\n")
    bar.close()
    assert _read(reader) == ""


def test_plain_lines_when_not_a_terminal():
    out = io.StringIO()
    log = Progress(out)
    assert not log.tty
    log(1, 2, "alice/derivatives")
    log(2, 2, "bob/derivatives")
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("[1/2] graded alice/derivatives") and lines[1].startswith("[2/2] graded bob/")
    assert "\r" not in out.getvalue()


def test_learner_text_cannot_move_the_cursor_or_forge_lines():
    out = io.StringIO()
    Progress(out)(1, 1, "evil\x1b[2J\nforged line\r/derivatives")
    assert out.getvalue().count("\n") == 1 and "\x1b" not in out.getvalue()
    assert printable("x" * 200, limit=10) == "x" * 9 + "…"


def test_a_closed_reader_is_output_closed():
    read_end, write_end = os.pipe()
    os.close(read_end)
    with open(write_end, "w", encoding="utf-8") as stream:
        with pytest.raises(OutputClosed) as info:
            Progress(stream)(1, 2, "a/x")
        assert info.value.stream is stream and info.value.exit_code == 141
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, write_end)  # what the command does before it exits: the final flush goes nowhere
        os.close(devnull)
