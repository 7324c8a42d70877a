"""How learners hand in their answers: the submission formats the kinds of item are read from.

``MODULE_FUNCTIONS``: a Python file whose functions are called in the sandbox
(every checker's ``calls`` run in one child process), then the "derive, don't
delegate" static scan. ``ANSWER_SHEET``: a TOML file with one table per
question and an ``answer`` key, read strictly and never run::

    [d_exp_neg]
    answer = "-e^(-x)"

A notebook input would be one more object here with ``suffixes=(".ipynb",)``.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10: the same parser, published as tomli
    import tomli as tomllib  # type: ignore[import-not-found, unused-ignore]  # tomli exists only on 3.10

from .. import static_scan
from ..results import ItemResult
from ..runtypes import Limits
from ..spec import ItemSpec
from .registry import Handed, Runner, kind_of


class ModuleFunctions:
    """Functions of the learner's Python module, called in the sandbox."""

    name: str = "a Python file"
    suffixes: tuple[str, ...] = (".py",)

    def read(self, path: Path, source: str, items: Sequence[ItemSpec], limits: Limits | None,
             runner: Runner) -> Handed:
        """Run every item's calls in one sandboxed child; the RunResult is what the checkers judge."""
        calls = [c for item in items for c in kind_of(item).checker.calls(item)]
        run = runner(path, calls, limits)
        return Handed(run, run.mode, run.stdout, run.stderr, run.import_error, run.notes)

    def review(self, items: Sequence[ItemSpec], results: tuple[ItemResult, ...],
               source: str) -> tuple[tuple[ItemResult, ...], tuple[str, ...]]:
        """Apply "derive, don't delegate": the static scan zeroes items whose code uses a forbidden helper."""
        try:
            return static_scan.enforce(items, results, static_scan.scan_source(source))
        except Exception as exc:  # a scanner bug must not cost the learner anything
            return results, (f"the static scan failed ({type(exc).__name__}: {exc}); only the runtime guard "
                             f"applied",)


@dataclass(frozen=True)
class Sheet:
    """A parsed answer sheet: the answer tables, or why the file could not be read."""

    tables: Mapping[str, Any] = field(default_factory=dict)
    error: str | None = None


def read_sheet(text: str) -> Sheet:
    """Parse an answer sheet's text strictly; a malformed file becomes ``Sheet(error=...)``."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        return Sheet(error=f"your quiz file is not valid TOML: {exc}; fix that line and grade again "
                           f"(strings need double quotes: answer = \"2x\")")
    except RecursionError:
        return Sheet(error="your quiz file is nested too deeply to read")
    return Sheet(tables=doc)


def unknown_sections(sheet: Sheet, items: Sequence[ItemSpec]) -> list[str]:
    """Top-level names in the file that are not questions (typos such as ``[d_exp_ng]``)."""
    names = {i.name for i in items}
    return [k for k in sheet.tables if k not in names]


class AnswerSheet:
    """Answers typed by hand in a TOML file: nothing runs."""

    name: str = "a TOML answer sheet"
    suffixes: tuple[str, ...] = (".toml",)

    def read(self, path: Path, source: str, items: Sequence[ItemSpec], limits: Limits | None,
             runner: Runner) -> Handed:
        """Parse the sheet; sections that are no question become notes."""
        sheet = read_sheet(source)
        notes = tuple(f"the quiz file has a section [{name[:60]}] that is not a question; it was ignored"
                      for name in unknown_sections(sheet, items))
        return Handed(sheet, notes=notes)

    def review(self, items: Sequence[ItemSpec], results: tuple[ItemResult, ...],
               source: str) -> tuple[tuple[ItemResult, ...], tuple[str, ...]]:
        """Nothing more to judge on a sheet."""
        return results, ()


MODULE_FUNCTIONS = ModuleFunctions()
ANSWER_SHEET = AnswerSheet()
