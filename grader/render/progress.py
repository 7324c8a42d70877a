"""Batch progress on the terminal: a one-line bar on a TTY, plain log lines otherwise."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from ..safe_text import printable


class Progress:
    """Called after each submission with (done, total, label): done/total, rate and ETA."""

    def __init__(self, stream: TextIO | None = None, tty: bool | None = None) -> None:
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self.started = time.monotonic()
        self.last = 0.0
        self.open_line = False

    def __call__(self, done: int, total: int, label: str) -> None:
        elapsed = max(time.monotonic() - self.started, 1e-9)
        rate = done / elapsed
        eta = (total - done) / rate if rate > 0 else 0.0
        if not self.tty:
            self.stream.write(f"[{done}/{total}] graded {printable(label, 80)}  ({rate:.1f}/s)\n")
        elif done >= total or time.monotonic() - self.last > 0.1:
            self.last = time.monotonic()
            width = 30
            filled = min(int(width * done / total), width) if total else width
            self.stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total}  {rate:.1f}/s  "
                              f"ETA {int(eta) // 60}:{int(eta) % 60:02d}\033[K")
            self.open_line = done < total
            if not self.open_line:
                self.stream.write("\n")
        self.stream.flush()

    def close(self) -> None:
        """End a bar left mid-line (an interrupted run), so what follows starts on its own line."""
        if self.open_line:
            self.stream.write("\n")
            self.stream.flush()
            self.open_line = False
