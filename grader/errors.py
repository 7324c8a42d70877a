"""The grader's own errors (never the learner's: those are data in the results).

GraderError                 base; an unexpected internal failure (exit status 3)
 +-- UsageError             the command line asked for something impossible:
 |                          unknown exercise, unreadable file (exit status 2)
 +-- CatalogueError         an exercise or reference file is malformed; the
 |                          message names the file and the item (exit status 3)
 +-- DecodeError            plain data from the child broke the wire format's
                            rules (too deep, too large, unknown node); the
                            checker turns it into feedback for that item only
"""

from __future__ import annotations


class GraderError(Exception):
    """Base of the grader's own errors; exit status 3 unless a subclass says otherwise."""

    exit_code = 3


class UsageError(GraderError):
    """The user asked for something that cannot be done; shown as one line, exit 2."""

    exit_code = 2


class CatalogueError(GraderError):
    """An exercise template or reference solution is malformed."""


class DecodeError(GraderError):
    """A value sent back by the learner's process does not follow the wire format."""
