"""Learner Python sources as the sandbox runs them: a ``.py`` file or a notebook's code cells, made importable.

Pure text work in the grader's own process (nothing is run here):

* :func:`from_python` keeps a ``.py`` file as it is when it compiles; when it does
  not, the file is split at its top-level statements, the statements that compile
  are kept in order and each block that does not is blanked out (line numbers stay
  the same) and reported with its lines and its syntax error. A missing colon in
  one function then costs that function's items, not the whole file.
* :func:`from_notebook` reads an ``.ipynb`` file with :mod:`nbformat` (an optional
  extra: ``pip install 'grader[notebooks]'``), joins its code cells in order into
  one module and keeps a map from each module line to (cell, line in the cell), so
  every location shown to the learner names the cell. IPython lines (``%magic``,
  ``!shell``) are replaced by ``pass`` with a note; a cell that does not compile is
  treated like a ``.py`` file's broken block; one prelude line gives ``display()``
  a no-op and matplotlib the Agg backend.

Cells are numbered as a learner counts them scrolling down the notebook: every
cell (markdown included), counting from 1.
"""

from __future__ import annotations

import ast
import json
import re
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from .errors import UsageError
from .results import ErrorInfo, SourceLine
from .runtypes import CallOutcome, RunResult

__all__ = ["INSTALL_HINT", "MAX_NOTEBOOK_BYTES", "Dropped", "Source", "from_notebook", "from_python",
           "keep_compiling"]

#: a notebook's outputs (plots, long prints) may be large; only its code must fit the usual 1 MiB
MAX_NOTEBOOK_BYTES = 16 << 20
MAX_CODE_BYTES = 1 << 20
INSTALL_HINT = "grading notebooks needs nbformat: pip install 'grader[notebooks]'"
#: one line before the first cell: what Jupyter provides and the sandbox does not
PRELUDE = ('__import__("os").environ.setdefault("MPLBACKEND", "Agg"); '
           'display = lambda *objects, **options: None  # added by the grader: no display in the sandbox')
#: cell magics whose body is Python (the magic line alone is dropped); any other ``%%`` drops the cell
_PYTHON_CELL_MAGICS = {"time", "timeit", "capture", "prun"}
_IPYTHON_LINE = re.compile(r"^(\s*)(?:[%!]|[A-Za-z_][\w, ]*=\s*[%!])")
_HELP_LINE = re.compile(r"^\s*[\w.]+\?{1,2}\s*$")
_DEFINES = re.compile(r"^(?:async\s+def|def|class)\s+([A-Za-z_]\w*)|^([A-Za-z_]\w*)\s*(?::[^=]*)?=(?!=)")
_CONTINUATION = re.compile(r"^(?:else|elif|except|finally)\b")
_INCOMPLETE = ("never closed", "unterminated triple-quoted", "unexpected EOF", "expected an indented block",
               "EOF while scanning")
#: how much source the search for a statement's end may compile in all (a hostile file stays cheap)
_COMPILE_BUDGET = 32 << 20

#: (cell, line within the cell) of a module line; cell 0 is the grader's prelude
Place = tuple[int, int]


@dataclass(frozen=True)
class Dropped:
    """A block of learner code that was not run because it does not compile."""

    start: int  # first and last line, in the cell (or the file)
    end: int
    error: ErrorInfo  # the syntax error, its frame located like every other learner frame
    defines: tuple[str, ...] = ()  # top-level names the block would have defined
    cell: int | None = None

    def describe(self) -> str:
        """The note shown with the result."""
        lines = f"line {self.start}" if self.start == self.end else f"lines {self.start}-{self.end}"
        where = f"cell {self.cell}, {lines}" if self.cell is not None else lines
        what = f" (defining {', '.join(self.defines[:5])})" if self.defines else ""
        return f"{where} not run{what}: {self.error.one_line()}"


@dataclass(frozen=True)
class Source:
    """What the sandbox imports, and how its lines map back to what the learner wrote."""

    code: str  # the module the sandbox runs
    scanned: str  # the same without the grader's prelude: what the static scan reads
    places: tuple[Place, ...] | None = None  # per module line (index 0 = line 1); None: the lines are the file's
    dropped: tuple[Dropped, ...] = ()
    notes: tuple[str, ...] = ()
    problem: ErrorInfo | None = None  # the notebook cannot be graded at all (not JSON, no code cells)

    @property
    def changed(self) -> bool:
        """Whether the sandbox must run something other than the learner's file as it is."""
        return self.places is not None or bool(self.dropped)

    def place(self, line: int) -> Place | None:
        """(cell, line in cell) of module line ``line``, or None when lines are the file's own."""
        if self.places is None or not 1 <= line <= len(self.places):
            return None
        return self.places[line - 1]

    def locate(self, frame: SourceLine) -> SourceLine:
        """A frame of the module with its cell named."""
        at = self.place(frame.lineno)
        return frame if at is None else replace(frame, lineno=at[1], cell=at[0])

    def locate_error(self, error: ErrorInfo | None) -> ErrorInfo | None:
        """An error whose frames name their cells."""
        if error is None or self.places is None:
            return error
        return replace(error, frames=tuple(self.locate(f) for f in error.frames))

    def locate_text(self, text: str) -> str:
        """``... (line 7)`` in a warning becomes ``... (line 2 of cell 3)``."""
        if self.places is None:
            return text

        def sub(m: re.Match[str]) -> str:
            at = self.place(int(m.group(1)))
            return m.group(0) if at is None else f"(line {at[1]} of cell {at[0]})"

        return re.sub(r"\(line (\d+)\)", sub, text)

    def adjust(self, run: RunResult, functions: Mapping[str, str]) -> RunResult:
        """The run's locations in cells, and a call of a function lost to a syntax error told so.

        ``functions`` gives each call id's function name."""
        lost = {name: d for d in self.dropped for name in d.defines}
        outcomes: dict[str, CallOutcome] = {}
        for cid, out in run.outcomes.items():
            function = functions.get(cid, "")
            if out.status == "missing" and function in lost:
                outcomes[cid] = CallOutcome(cid, "import_error", error=lost[function].error)
            else:
                outcomes[cid] = replace(out, error=self.locate_error(out.error),
                                        warnings=tuple(self.locate_text(w) for w in out.warnings))
        return replace(run, outcomes=outcomes, import_error=self.locate_error(run.import_error))


def _compile_error(text: str) -> SyntaxError | None:
    try:
        compile(text, "<learner>", "exec", dont_inherit=True)
    except SyntaxError as exc:
        return exc
    except (ValueError, RecursionError, MemoryError, OverflowError) as exc:  # null bytes, nesting too deep
        return SyntaxError(f"{type(exc).__name__}: {exc}")
    return None


def _statement_starts(lines: list[str]) -> list[int]:
    """Indexes of lines that may begin a top-level statement (column 0, not a continuation)."""
    starts: list[int] = []
    previous = ""
    for i, line in enumerate(lines):
        if not line.strip() or line[0] in " \t#":
            continue
        glued = (previous.startswith("@") or previous.rstrip().endswith("\\")
                 or _CONTINUATION.match(line) is not None)
        if not starts or not glued:
            starts.append(i)
        previous = line
    return starts


def _names(chunk: list[str]) -> tuple[str, ...]:
    found = []
    for line in chunk:
        m = _DEFINES.match(line)
        if m:
            found.append(m.group(1) or m.group(2))
    return tuple(dict.fromkeys(found))


def keep_compiling(text: str) -> tuple[str, list[tuple[int, int, SyntaxError, tuple[str, ...]]]]:
    """``text`` with every top-level block that does not compile blanked out, and those blocks.

    Each dropped block is (first line, last line, its syntax error with lines counted in ``text``,
    the names it would have defined). Lines keep their numbers.
    """
    if _compile_error(text) is None:
        return text, []
    lines = text.split("\n")
    starts = _statement_starts(lines)
    if not starts:
        whole = _compile_error(text) or SyntaxError("invalid syntax")
        return "", [(1, len(lines), whole, ())]
    bounds = [(s, e) for s, e in zip(starts, starts[1:] + [len(lines)])]
    keep = [False] * len(lines)
    dropped = []
    budget = _COMPILE_BUDGET
    i = 0
    while i < len(bounds):
        s, e = bounds[i]
        err = _compile_error("\n".join(lines[s:e]))
        end = e if err is None else None
        j = i
        incomplete = any(k in str(getattr(err, "msg", "")) for k in _INCOMPLETE)
        while end is None and incomplete and j + 1 < len(bounds) and budget > 0:
            j += 1  # an open bracket or string may close in a later chunk (column-0 text inside a docstring)
            merged = "\n".join(lines[s:bounds[j][1]])
            budget -= len(merged)
            if _compile_error(merged) is None:
                end = bounds[j][1]
        if end is not None:
            keep[s:end] = [True] * (end - s)
            i = j + 1
            continue
        failed = err or SyntaxError("invalid syntax")
        last = max((k for k in range(s, e) if lines[k].strip()), default=s)
        failed.lineno = (failed.lineno or 1) + s
        dropped.append((s + 1, last + 1, failed, _names(lines[s:e])))
        i += 1
    return "\n".join(line if kept else "" for line, kept in zip(lines, keep)), dropped


def _syntax_error(err: SyntaxError, text: str, place: Callable[[int], Place | None]) -> ErrorInfo:
    lineno = err.lineno or 0
    lines = text.split("\n")
    shown = lines[lineno - 1].rstrip()[:300] if 1 <= lineno <= len(lines) else (err.text or "").rstrip()[:300]
    at = place(lineno)
    frame = SourceLine(lineno, "<module>", shown) if at is None else SourceLine(at[1], "<module>", shown, at[0])
    return ErrorInfo(type(err).__name__, str(err.msg or "invalid syntax")[:500], (frame,))


def from_python(text: str) -> Source:
    """A ``.py`` file as the sandbox runs it: as it is, or without the top-level blocks that do not compile."""
    code, dropped = keep_compiling(text)
    if not dropped:
        return Source(text, text)
    found = tuple(Dropped(s, e, _syntax_error(err, text, lambda _: None), names) for s, e, err, names in dropped)
    return Source(code, code, None, found, tuple(d.describe() for d in found))


def _strip_ipython(cell: int, code: str) -> tuple[str, list[str]]:
    """The cell with IPython-only lines replaced by ``pass`` (same line numbers), and notes naming them."""
    lines = code.split("\n")
    notes: list[str] = []
    first = lines[0].strip() if lines else ""
    if first.startswith("%%"):
        magic = first[2:].split()[0] if first[2:].split() else ""
        if magic not in _PYTHON_CELL_MAGICS:
            notes.append(f"cell {cell} is a %%{magic[:30]} cell (IPython); it was not run")
            return "", notes
        lines[0] = ""
        notes.append(f"cell {cell}, line 1: %%{magic} dropped (IPython syntax); the rest of the cell was run")
    for i, line in enumerate(lines):
        m = _IPYTHON_LINE.match(line)
        if m or _HELP_LINE.match(line):
            shown = line.strip()
            shown = shown if len(shown) <= 60 else shown[:59] + "…"
            notes.append(f"cell {cell}, line {i + 1}: {shown} was not run (IPython syntax)")
            lines[i] = (m.group(1) if m else "") + "pass"
    return "\n".join(lines), notes


def _problem(message: str) -> Source:
    return Source("", "", (), problem=ErrorInfo("NotebookError", message))


def _code_cells(text: str) -> tuple[list[tuple[int, str]], list[str]] | Source:
    """(cell number, source) for each code cell, and notes; or a Source naming why there are none."""
    try:
        import nbformat
    except ImportError:  # the grader's installation, not the learner's file: no grade is stored
        raise UsageError(INSTALL_HINT) from None
    try:
        json.loads(text)
    except ValueError as exc:
        return _problem(f"your notebook is not valid JSON ({exc}); open it in Jupyter and save it again")
    except RecursionError:
        return _problem("your notebook is nested too deeply to read")
    notes: list[str] = []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # missing cell ids and old minor versions are repaired, not errors
            nb = nbformat.reads(text, as_version=4)
    except Exception as exc:  # nbformat's own errors are of many types; any of them means unreadable
        return _problem(f"your file is not a notebook nbformat can read ({type(exc).__name__}: "
                        f"{str(exc)[:200]}); open it in Jupyter and save it again")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            nbformat.validate(nb)
    except Exception as exc:  # metadata problems do not affect the code: graded anyway
        first = str(exc).strip().split("\n")[0][:160]
        notes.append(f"the notebook does not validate ({first}); its code cells were graded anyway")
    cells = nb.get("cells") if isinstance(nb, dict) else None
    if not isinstance(cells, list):
        return _problem("your notebook has no list of cells; open it in Jupyter and save it again")
    found = []
    for number, cell in enumerate(cells, start=1):
        if isinstance(cell, dict) and cell.get("cell_type") == "code":
            src = cell.get("source", "")
            src = "".join(s for s in src if isinstance(s, str)) if isinstance(src, list) else src
            if isinstance(src, str):
                found.append((number, src))
    if not found:
        return _problem("your notebook has no code cells: write your functions in code cells "
                        "(not markdown) and save it again")
    return found, notes


def _redefinitions(cells: list[tuple[int, str]]) -> list[str]:
    """Notes for functions defined in more than one cell: the last one is graded, as Jupyter would run it."""
    where: dict[str, list[int]] = {}
    for number, code in cells:
        try:
            tree = ast.parse(code)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue
        for stmt in tree.body:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)) and number not in where.get(stmt.name, []):
                where.setdefault(stmt.name, []).append(number)
    return [f"{name} is defined in cells {', '.join(map(str, cells_[:-1]))} and {cells_[-1]}; the last one "
            f"(cell {cells_[-1]}) was graded, as Jupyter runs the cells in order"
            for name, cells_ in where.items() if len(cells_) > 1]


def _in_cell(number: int) -> Callable[[int], Place | None]:
    return lambda line: (number, line)


def from_notebook(text: str) -> Source:
    """A notebook's code cells joined into one module the sandbox runs, with the map back to cells."""
    got = _code_cells(text)
    if isinstance(got, Source):
        return got
    cells, notes = got
    code_lines = [PRELUDE]
    scanned_lines = [""]
    places: list[Place] = [(0, 1)]
    dropped: list[Dropped] = []
    kept_cells: list[tuple[int, str]] = []
    for number, raw in cells:
        plain, ipython = _strip_ipython(number, raw)
        notes += ipython
        kept, broken = keep_compiling(plain)
        lines = plain.split("\n")
        for s, e, err, names in broken:
            info = _syntax_error(err, plain, _in_cell(number))
            dropped.append(Dropped(s, e, info, names, number))
        kept_cells.append((number, kept))
        kept_lines = kept.split("\n") if kept else [""] * len(lines)
        code_lines += kept_lines
        scanned_lines += kept_lines
        places += [(number, k) for k in range(1, len(kept_lines) + 1)]
    notes += _redefinitions(kept_cells)
    code = "\n".join(code_lines) + "\n"
    if len(code.encode("utf-8")) > MAX_CODE_BYTES:
        return _problem(f"your notebook's code cells hold more than {MAX_CODE_BYTES >> 20} MiB of code")
    return Source(code, "\n".join(scanned_lines) + "\n", tuple(places), tuple(dropped),
                  tuple(notes) + tuple(d.describe() for d in dropped))


def _cell(kind: str, source: str, number: int) -> dict[str, object]:
    cell: dict[str, object] = {"cell_type": kind, "id": f"{kind}-{number}", "metadata": {}, "source": source}
    if kind == "code":
        cell.update(execution_count=None, outputs=[])
    return cell


def release(template: str, name: str, self_check: bool = True) -> str:
    """The notebook version of an exercise template (nbformat 4.5 JSON), built from the same ``.py`` text.

    The module docstring becomes the first markdown cell, the code before the first function a code
    cell, and each top-level function one markdown cell with its task (the docstring, LaTeX and all)
    and one code cell with the stub; ``self_check`` adds a last cell that grades the notebook itself.
    """
    tree = ast.parse(template)
    lines = template.split("\n")
    cells: list[dict[str, object]] = []
    doc = ast.get_docstring(tree)
    if doc:
        cells.append(_cell("markdown", doc, len(cells)))
    functions = [s for s in tree.body if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef))]
    body_start = 1 if doc else 0
    first = functions[0] if functions else None
    setup_end = (min([first.lineno] + [d.lineno for d in first.decorator_list]) - 1) if first else len(lines)
    setup_start = tree.body[body_start].lineno - 1 if len(tree.body) > body_start else setup_end
    setup = "\n".join(lines[setup_start:setup_end]).strip()
    if setup:
        cells.append(_cell("code", setup, len(cells)))
    for fn in functions:
        task = ast.get_docstring(fn) or fn.name
        cells.append(_cell("markdown", f"### `{fn.name}`\n\n{task}", len(cells)))
        start = min([fn.lineno] + [d.lineno for d in fn.decorator_list]) - 1
        cells.append(_cell("code", "\n".join(lines[start:fn.end_lineno]).rstrip(), len(cells)))
    if self_check:
        cells.append(_cell("markdown", "### Check your work\n\nSave the notebook, then run the cell below "
                                       "(the grader reads the saved file).", len(cells)))
        cells.append(_cell("code", f"!grader grade {name}.ipynb", len(cells)))
    kernel = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return json.dumps({"nbformat": 4, "nbformat_minor": 5, "cells": cells,
                       "metadata": {"kernelspec": kernel, "language_info": {"name": "python"}}},
                      indent=1, ensure_ascii=False) + "\n"
