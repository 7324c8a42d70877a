"""Static scan of a submitted ``.py`` file for helpers a derive-it-yourself item forbids.

The source is parsed with :mod:`ast` (never compiled or run). For every
top-level name we record which forbidden helpers its definition uses
(``sympy.diff``, ``expr.diff(...)``, ``Derivative``, ``integrate``/``Integral``,
``Subs``, imports of torch, jax, autograd or tensorflow) and which other
top-level names it refers to, so a helper function called by an item, or a
module-level ``D = sympy.diff(...)`` an item returns, counts against the item.

This complements the runtime guard in the learner's process: the guard sees
calls the scan cannot (names built at run time), the scan sees code the guard
cannot (work done at import time, helpers reached by aliasing). Dynamic tricks
(``getattr`` with a computed name, ``eval``, ``__import__``) cannot be judged
statically; they are flagged for the instructor instead of costing points.
"""

from __future__ import annotations

import ast
import dataclasses
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from .results import ItemResult
from .spec import AUTOGRAD_MODULES, ItemSpec

#: maps a line of the scanned source to (cell, line in the cell), or None when it is the file's own line
Placer = Callable[[int], "tuple[int, int] | None"]
#: names that reach each forbidden helper (``Integral`` is what ``integrate`` builds)
HELPER_NAMES = {"diff": "diff", "Derivative": "Derivative", "integrate": "integrate",
                "Integral": "integrate", "Subs": "Subs"}
#: ways to hide NumPy warnings; flagged for the instructor in items that must run without warnings
SILENCERS = {"errstate", "seterr", "filterwarnings", "simplefilter", "catch_warnings", "resetwarnings"}
#: calls and names that defeat a static reading; flagged, never penalised
DYNAMIC = {"eval", "exec", "compile", "__import__", "getattr", "globals", "vars", "importlib",
           "__builtins__", "__dict__", "setattr", "builtins"}


@dataclass(frozen=True)
class Finding:
    """One use of a forbidden helper (or import of an autograd library) in the source."""

    helper: str  # "diff", "Derivative", "integrate", "Subs" or a module name such as "torch"
    line: int
    code: str  # how it is written: "sympy.diff", "e.diff", "import torch"
    cell: int | None = None  # the notebook cell ``line`` is in (None: a line of the .py file)

    @property
    def where(self) -> str:
        """``line 7``, or ``line 2 of cell 3`` in a notebook."""
        return f"line {self.line}" if self.cell is None else f"line {self.line} of cell {self.cell}"

    @property
    def is_module(self) -> bool:
        """True for an autograd import rather than a SymPy helper."""
        return self.helper in AUTOGRAD_MODULES


@dataclass(frozen=True)
class Scan:
    """What the scan learned about a file: per top-level name, its findings and references."""

    findings: dict[str, tuple[Finding, ...]]
    references: dict[str, frozenset[str]]
    suspicious: dict[str, tuple[str, ...]]
    module_findings: tuple[Finding, ...] = ()
    module_suspicious: tuple[str, ...] = ()
    readable: bool = True
    silencing: dict[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)

    def reached(self, item: str, table: dict[str, tuple[str, ...]]) -> tuple[str, ...]:
        """The distinct entries of ``table`` for ``item`` and every name it reaches."""
        return tuple(dict.fromkeys(s for name in self.reachable(item) for s in table.get(name, ())))

    def reachable(self, name: str) -> list[str]:
        """``name`` and every top-level name its definition reaches, breadth first."""
        order, seen, i = [name], {name}, 0
        while i < len(order):
            for ref in sorted(self.references.get(order[i], ())):
                if ref not in seen:
                    seen.add(ref)
                    order.append(ref)
            i += 1
        return order


class _Visitor(ast.NodeVisitor):
    """Collect findings, global references and dynamic tricks in one top-level statement."""

    def __init__(self, aliases: dict[str, str], modules: dict[str, str], place: Placer | None = None) -> None:
        self.aliases, self.modules, self.place = aliases, modules, place
        self.findings: list[Finding] = []
        self.names: set[str] = set()
        self.suspicious: list[str] = []
        self.silencing: list[str] = []

    def _located(self, line: int) -> tuple[int, int | None]:
        at = self.place(line) if self.place else None
        return (line, None) if at is None else (at[1], at[0])

    def _at(self, line: int) -> str:
        lineno, cell = self._located(line)
        return f"line {lineno}" if cell is None else f"line {lineno} of cell {cell}"

    def _finding(self, helper: str, line: int, code: str) -> Finding:
        lineno, cell = self._located(line)
        return Finding(helper, lineno, code, cell)

    def _silencer(self, name: str, line: int) -> None:
        if name in SILENCERS:
            self.silencing.append(f"{self._at(line)} uses {name}, which can hide the warnings this item checks for")

    def visit_Name(self, node: ast.Name) -> None:
        self.names.add(node.id)
        self._silencer(node.id, node.lineno)
        used = isinstance(node.ctx, ast.Load)  # assigning to a name is not using what it held
        if used and node.id in self.aliases:
            self.findings.append(self._finding(self.aliases[node.id], node.lineno, node.id))
        elif used and node.id in self.modules:
            self.findings.append(self._finding(self.modules[node.id], node.lineno, node.id))
        if node.id in DYNAMIC:
            self.suspicious.append(f"{self._at(node.lineno)} uses {node.id}, which the grader cannot follow statically")

    def visit_Attribute(self, node: ast.Attribute) -> None:
        self._silencer(node.attr, node.lineno)
        if node.attr in HELPER_NAMES and _dotted(node).split(".")[0] not in ("np", "numpy"):  # np.diff differs
            self.findings.append(self._finding(HELPER_NAMES[node.attr], node.lineno, _dotted(node)))
        if node.attr in ("__dict__", "__builtins__", "__globals__"):
            self.suspicious.append(f"{self._at(node.lineno)} reads {node.attr}, which the grader cannot follow "
                                   f"statically")
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        if isinstance(node.func, ast.Name) and node.func.id in ("getattr", "__import__") and len(node.args) >= 1:
            text = node.args[1] if node.func.id == "getattr" and len(node.args) > 1 else node.args[0]
            if isinstance(text, ast.Constant) and isinstance(text.value, str):
                root = text.value.split(".")[0]
                if text.value in HELPER_NAMES:
                    self.findings.append(self._finding(HELPER_NAMES[text.value], node.lineno,
                                                 f"getattr(..., {text.value!r})"))
                elif root in AUTOGRAD_MODULES:
                    self.findings.append(self._finding(root, node.lineno, f"__import__({text.value!r})"))
        self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            root = alias.name.split(".")[0]
            if root in AUTOGRAD_MODULES:
                self.findings.append(self._finding(root, node.lineno, f"import {alias.name}"))

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        root = (node.module or "").split(".")[0]
        if root in AUTOGRAD_MODULES:
            self.findings.append(self._finding(root, node.lineno, f"from {node.module} import ..."))
        elif root == "sympy":
            for alias in node.names:
                if alias.name in HELPER_NAMES:
                    self.findings.append(self._finding(HELPER_NAMES[alias.name], node.lineno,
                                                 f"from {node.module} import {alias.name}"))


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    if isinstance(node, ast.Name):
        return node.id
    return "(...)"


def _bound_names(stmt: ast.stmt) -> list[str]:
    """Top-level names a statement binds (def, class, assignment, import)."""
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [stmt.name]
    if isinstance(stmt, (ast.Import, ast.ImportFrom)):
        return [(a.asname or a.name).split(".")[0] for a in stmt.names if a.name != "*"]
    targets: list[ast.AST] = []
    if isinstance(stmt, ast.Assign):
        targets = list(stmt.targets)
    elif isinstance(stmt, (ast.AnnAssign, ast.AugAssign, ast.For, ast.AsyncFor)):
        targets = [stmt.target]
    elif isinstance(stmt, (ast.With, ast.AsyncWith)):
        targets = [i.optional_vars for i in stmt.items if i.optional_vars is not None]
    return [n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)]


def _aliases(statements: list[ast.stmt]) -> tuple[dict[str, str], dict[str, str]]:
    """Local names bound to SymPy helpers and to autograd modules by module-level imports."""
    helpers: dict[str, str] = {}
    modules: dict[str, str] = {}
    defined = {s.name for s in statements if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
    for stmt in statements:
        if isinstance(stmt, ast.ImportFrom) and (stmt.module or "").split(".")[0] == "sympy":
            for a in stmt.names:
                if a.name == "*":
                    helpers.update({k: v for k, v in HELPER_NAMES.items() if k not in defined})
                elif a.name in HELPER_NAMES:
                    helpers[a.asname or a.name] = HELPER_NAMES[a.name]
        elif isinstance(stmt, ast.Import):
            for a in stmt.names:
                root = a.name.split(".")[0]
                if root in AUTOGRAD_MODULES:
                    modules[a.asname or root] = root
        elif isinstance(stmt, ast.ImportFrom) and (stmt.module or "").split(".")[0] in AUTOGRAD_MODULES:
            for a in stmt.names:
                modules[a.asname or a.name] = (stmt.module or "").split(".")[0]
    return helpers, modules


def _statements(body: list[ast.stmt]) -> Iterable[ast.stmt]:
    """Module-level statements, looking inside ``if`` and ``try`` blocks where definitions also live."""
    for stmt in body:
        if isinstance(stmt, ast.If):
            yield ast.copy_location(ast.Expr(stmt.test), stmt)
            yield from _statements(stmt.body)
            yield from _statements(stmt.orelse)
        elif isinstance(stmt, ast.Try):
            for block in (stmt.body, *(h.body for h in stmt.handlers), stmt.orelse, stmt.finalbody):
                yield from _statements(block)
        else:
            yield stmt


def scan_source(source: str, place: Placer | None = None) -> Scan:
    """Scan Python source text; an unparsable file gives an empty, unreadable Scan.

    ``place`` maps a line of ``source`` to (cell, line in the cell) when the source is a
    notebook's code cells joined, so every finding names its cell."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return Scan({}, {}, {}, readable=False)
    statements = list(_statements(tree.body))
    helpers, modules = _aliases(statements)
    findings: dict[str, list[Finding]] = {}
    references: dict[str, set[str]] = {}
    suspicious: dict[str, list[str]] = {}
    silencing: dict[str, list[str]] = {}
    module_findings: list[Finding] = []
    module_suspicious: list[str] = []
    for stmt in statements:
        visitor = _Visitor(helpers, modules, place)
        visitor.visit(stmt)
        bound = _bound_names(stmt)
        if isinstance(stmt, (ast.Import, ast.ImportFrom)):
            # importing is not using: the finding attaches to whoever refers to the imported name
            module_findings += [f for f in visitor.findings if f.is_module]
            continue
        if not bound:
            module_findings += visitor.findings
            module_suspicious += visitor.suspicious
            continue
        for name in bound:
            findings.setdefault(name, []).extend(visitor.findings)
            references.setdefault(name, set()).update(visitor.names - {name})
            suspicious.setdefault(name, []).extend(visitor.suspicious)
            silencing.setdefault(name, []).extend(visitor.silencing)
    return Scan({k: tuple(v) for k, v in findings.items()},
                {k: frozenset(v) for k, v in references.items()},
                {k: tuple(v) for k, v in suspicious.items()},
                tuple(module_findings), tuple(module_suspicious),
                silencing={k: tuple(v) for k, v in silencing.items()})


def forbidden_for(item: ItemSpec) -> frozenset[str]:
    """What an item forbids: its ``forbid`` list, plus every autograd library when it forbids anything."""
    names = set(item.forbid)
    return frozenset(names | set(AUTOGRAD_MODULES)) if names else frozenset()


def item_findings(scan: Scan, item: ItemSpec) -> list[tuple[str, Finding]]:
    """(where, finding) pairs that break ``item``'s rule; ``where`` is the function holding the use."""
    banned = forbidden_for(item)
    out = []
    for name in scan.reachable(item.name):
        for f in scan.findings.get(name, ()):
            if f.helper in banned:
                out.append((name, f))
    return out


def describe(where: str, finding: Finding, item: str) -> str:
    """The learner-facing sentence for one finding."""
    what = f"importing {finding.helper}" if finding.is_module else f"sympy.{finding.helper}"
    place = finding.where + (f", in {where}, which {item} uses" if where != item else "")
    return f"this item asks you to derive it yourself: {what} is not allowed here ({place}: {finding.code})"


def enforce(items: Sequence[ItemSpec], results: Sequence[ItemResult], scan: Scan) -> tuple[
        tuple[ItemResult, ...], tuple[str, ...]]:
    """Zero every item whose code (or a helper it reaches) uses a helper it forbids; collect instructor notes."""
    out = []
    for item, judged in zip(items, results):
        res = judged
        rule = forbidden_for(item)
        hits = item_findings(scan, item) if rule else []
        flags = scan.reached(item.name, scan.suspicious) if rule else ()
        if item.forbids_warnings:
            flags += scan.reached(item.name, scan.silencing)
        flagged = tuple(f"flagged for your instructor: {s}" for s in flags)
        if hits:
            where, first = hits[0]
            before = ("the runtime guard caught it too" if res.diagnosis == "forbidden_helper"
                      else f"graded without this rule the answer would be: {res.feedback}")
            evidence = {**res.evidence, "static_scan": [
                {"helper": f.helper, "line": f.line, "code": f.code, "function": w,
                 **({"cell": f.cell} if f.cell is not None else {})} for w, f in hits]}
            res = dataclasses.replace(res, points=0.0, status="failed", diagnosis="forbidden_helper",
                                      feedback=describe(where, first, item.name),
                                      details=res.details + (before,) + flagged, evidence=evidence)
        elif flagged:
            res = dataclasses.replace(res, details=res.details + flagged)
        out.append(res)
    notes = _module_notes(items, scan)
    if not scan.readable and any(forbidden_for(i) for i in items) and any(r.diagnosis != "import_error" for r in out):
        notes += ("the static scan could not parse this file; only the runtime guard applied",)
    return tuple(out), notes


def _module_notes(items: Iterable[ItemSpec], scan: Scan) -> tuple[str, ...]:
    if not any(forbidden_for(i) for i in items):
        return ()
    notes = [f"static scan: {f.where} uses {f.code} outside any graded function"
             for f in scan.module_findings]
    used = {n for i in items for n in scan.reachable(i.name)}
    notes += [f"static scan: {f.where} uses {f.code} in {name}, which no graded function uses"
              for name, found in scan.findings.items() if name not in used for f in found]
    notes += [f"static scan: {s}" for s in scan.module_suspicious]
    return tuple(dict.fromkeys(notes))
