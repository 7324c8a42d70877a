"""Batch progress: click's progress bar on a terminal, plain log lines otherwise (a CI log, a file)."""

from __future__ import annotations

import contextlib
import sys
import time
from typing import Any, TextIO

import click

from ..errors import OutputClosed
from .text import printable

__all__ = ["Progress"]


class Progress:
    """Called after each submission with (done, total, label): done/total, rate and ETA.

    On a terminal the bar never shows the label (learner names stay off a shared screen);
    elsewhere each submission is one line with its label made printable.
    """

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.started = time.monotonic()
        self._bar: Any = None  # click's ProgressBar, made at the first call (when the total is known)
        self._open = contextlib.ExitStack()

    @property
    def rate(self) -> float:
        """Submissions per second since the start."""
        return (self._bar.pos if self._bar else 0) / max(time.monotonic() - self.started, 1e-9)

    def __call__(self, done: int, total: int, label: str) -> None:
        try:
            if self.tty:
                self._draw(done, total)
            else:
                elapsed = max(time.monotonic() - self.started, 1e-9)
                self.stream.write(f"[{done}/{total}] graded {printable(label, 80)}  ({done / elapsed:.1f}/s)\n")
                self.stream.flush()
        except BrokenPipeError:
            raise OutputClosed(self.stream) from None

    def _draw(self, done: int, total: int) -> None:
        if self._bar is None:
            self._bar = self._open.enter_context(click.progressbar(
                length=total, file=self.stream, show_pos=True, show_percent=False, show_eta=True,
                item_show_func=lambda _: f"{self.rate:.1f}/s"))
        self._bar.update(done - self._bar.pos)
        if done >= total:
            self.close()

    def close(self) -> None:
        """End the bar (also one left mid-line by an interrupted run), so what follows starts on its own line."""
        try:
            self._open.close()
        except BrokenPipeError:
            raise OutputClosed(self.stream) from None

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
