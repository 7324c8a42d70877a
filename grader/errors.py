"""The grader's own errors (never the learner's: those are data in the results).

Each error owns the exit status the ``grader`` command ends with when it
escapes a command (``grader.cli`` turns it into one line on stderr and that
status, in one place):

GraderError                 base; an unexpected internal failure (exit status 3)
 +-- UsageError             the command line asked for something impossible:
 |                          unknown exercise, unreadable file (exit status 2)
 +-- CatalogueError         an exercise or reference file is malformed; the
 |                          message names the file and the item (exit status 3)
 +-- DecodeError            plain data from the child broke the wire format's
 |                          rules (too deep, too large, unknown node); the
 |                          checker turns it into feedback for that item only
 +-- OutputClosed           the reader closed our output (``grader ... | head``):
                            not reported, exit status 141 as for a process that
                            SIGPIPE ended
"""

from __future__ import annotations

from typing import TextIO

#: Exit statuses of the ``grader`` command (README, "Exit statuses").
EXIT_OK = 0
EXIT_BELOW = 1  # below --fail-under; for ``grader equiv``: not equivalent
EXIT_USAGE = 2
EXIT_INTERNAL = 3
EXIT_UNDECIDED = 4  # ``grader equiv``: neither proven equal nor shown different
EXIT_INTERRUPTED = 130  # ``grader batch`` stopped by Ctrl-C (128 + SIGINT)
EXIT_OUTPUT_CLOSED = 141  # 128 + SIGPIPE, what the shell reports for ``yes | head -1``


class GraderError(Exception):
    """Base of the grader's own errors; exit status 3 unless a subclass says otherwise."""

    exit_code = EXIT_INTERNAL


class UsageError(GraderError):
    """The user asked for something that cannot be done; shown as one line, exit 2."""

    exit_code = EXIT_USAGE


class CatalogueError(GraderError):
    """An exercise template or reference solution is malformed."""


class DecodeError(GraderError):
    """A value sent back by the learner's process does not follow the wire format."""


class OutputClosed(GraderError):
    """Whoever reads ``stream`` stopped reading (a closed pipe); the command stops quietly, exit 141."""

    exit_code = EXIT_OUTPUT_CLOSED

    def __init__(self, stream: TextIO) -> None:
        super().__init__("output closed by the reader")
        self.stream = stream
