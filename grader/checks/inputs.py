"""How learners hand in their answers: the submission formats the kinds of item are read from.

``MODULE_FUNCTIONS``: a Python file whose functions are called in the sandbox
(every checker's ``calls`` run in one child process), then the "derive, don't
delegate" static scan. ``ANSWER_SHEET``: a TOML file with one table per
question and an ``answer`` key, read strictly and never run::

    [d_exp_neg]
    answer = "-e^(-x)"

The module input reads a notebook (``.ipynb``) too: its code cells become one
module (see :mod:`grader.notebooks`), so every kind that runs functions accepts
notebooks with no change of its own.
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10: the same parser, published as tomli
    import tomli as tomllib  # type: ignore[import-not-found, unused-ignore]  # tomli exists only on 3.10

from .. import notebooks, static_scan
from ..results import ItemResult
from ..runtypes import CallOutcome, Limits, RunResult
from ..spec import ItemSpec
from .registry import Handed, Runner, kind_of


class ModuleFunctions:
    """Functions of the learner's Python module (a ``.py`` file or a notebook's code cells), called in the sandbox.

    A file that does not compile as a whole runs without its broken top-level blocks
    (each reported); a notebook runs as its code cells joined, with every location
    told back in cells. Either way the sandbox imports a plain ``.py`` file.
    """

    name: str = "a Python file"
    suffixes: tuple[str, ...] = (".py", ".ipynb")

    def size_limit(self, path: Path) -> int:
        """How large the handed-in file may be: a notebook carries its outputs, a ``.py`` file only code."""
        return notebooks.MAX_NOTEBOOK_BYTES if path.suffix == ".ipynb" else notebooks.MAX_CODE_BYTES

    def read(self, path: Path, source: str, items: Sequence[ItemSpec], limits: Limits | None,
             runner: Runner) -> Handed:
        """Run every item's calls in one sandboxed child; the RunResult is what the checkers judge."""
        calls = [c for item in items for c in kind_of(item).checker.calls(item)]
        code = notebooks.from_notebook(source) if path.suffix == ".ipynb" else notebooks.from_python(source)
        if code.problem is not None:  # nothing can run: every item gets the reason, nothing else is charged
            outcomes = {c.id: CallOutcome(c.id, "import_error", error=code.problem) for c in calls}
            return Handed(RunResult(outcomes, code.problem, mode="none"), "none",
                          import_error=code.problem, notes=code.notes, reviewed=code)
        if code.changed:
            with tempfile.TemporaryDirectory(prefix="grader-module-") as folder:
                module = Path(folder) / (path.stem + ".py")
                module.write_text(code.code, encoding="utf-8")
                run = runner(module, calls, limits)
            run = code.adjust(run, {c.id: c.function for c in calls})
        else:
            run = runner(path, calls, limits)
        notes = code.notes + run.notes + self._absent(code, items, run)
        return Handed(run, run.mode, run.stdout, run.stderr, run.import_error, notes, reviewed=code)

    @staticmethod
    def _absent(code: notebooks.Source, items: Sequence[ItemSpec], run: RunResult) -> tuple[str, ...]:
        """A note when a notebook that ran defines none of the graded functions (a wrong notebook handed in?)."""
        if code.places is None or run.import_error is not None or not run.outcomes:
            return ()
        if all(o.status == "missing" for o in run.outcomes.values()):
            names = ", ".join(i.name for i in items[:8])
            return (f"the notebook defines none of the graded functions ({names}); is it the right notebook?",)
        return ()

    def review(self, items: Sequence[ItemSpec], results: tuple[ItemResult, ...],
               source: str | notebooks.Source) -> tuple[tuple[ItemResult, ...], tuple[str, ...]]:
        """Apply "derive, don't delegate": the static scan zeroes items whose code uses a forbidden helper."""
        code = source if isinstance(source, notebooks.Source) else notebooks.from_python(source)
        if code.problem is not None:
            return results, ()
        try:
            return static_scan.enforce(items, results, static_scan.scan_source(code.scanned, code.place))
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
