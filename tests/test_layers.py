"""The pure core stays pure: a static walk of the import graph from the checks and the maths modules.

Every ``import`` and ``from ... import`` statement counts, absolute or relative, at module level or
inside a function: a lazy import still runs. The walk reads sources (``ast``), it imports nothing.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

#: the modules that must stay free of effects and presentation, with everything they import
START = ("grader.checks", "grader.equivalence", "grader.numeric", "grader.gradcheck", "grader.diagnosis",
         "grader.encoding", "grader.runtypes", "grader.equivalence_values", "grader.known_functions",
         "grader.parsing", "grader.reading", "grader.evaluate", "grader.sampling", "grader.results", "grader.spec",
         "grader.errors", "grader.static_scan", "grader.networks", "grader.notebooks", "grader.roster",
         "grader.overrides", "grader.lms.matching", "grader.variants")
FORBIDDEN = {
    "sandbox": "grader.sandbox",
    "forkserver": "grader.forkserver",
    "cgroup": "grader.cgroup",
    "isolation": "grader.isolation",
    "launcher": "grader.launcher",
    "subprocess": "subprocess",
    "render": "grader.render",
}


def _source(name: str, roots: tuple[Path, ...]) -> Path | None:
    """The file of module ``name`` under one of ``roots`` (a package's ``__init__.py``), or None (not ours)."""
    parts = name.split(".")
    for root in roots:
        base = root.joinpath(*parts)
        for candidate in (base.with_suffix(".py"), base / "__init__.py"):
            if candidate.is_file():
                return candidate
    return None


def _imports(name: str, path: Path) -> set[str]:
    """Every module ``path`` (module ``name``) imports, resolved to absolute names; ``from x import y`` gives
    both ``x`` and ``x.y`` (y may be a submodule)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split(".")
                base_parts = base_parts[: len(base_parts) - (node.level - 1)]
                base = ".".join(base_parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names if alias.name != "*")
    return found


def _with_parents(name: str) -> list[str]:
    """Importing ``a.b.c`` runs ``a`` and ``a.b`` first."""
    parts = name.split(".")
    return [".".join(parts[: i + 1]) for i in range(len(parts))]


def forbidden_chain(start: list[str], target: str, roots: tuple[Path, ...]) -> list[str] | None:
    """The import chain from one of ``start`` to ``target`` (or a submodule of it), or None if there is none.

    Only modules found under ``roots`` are followed; anything else (the standard library, NumPy)
    is a leaf that can still be the ``target`` itself.
    """
    parent: dict[str, str | None] = {}
    todo: list[str] = []
    for s in start:
        if s not in parent:
            parent[s] = None
            todo.append(s)
    while todo:
        current = todo.pop(0)
        if current == target or current.startswith(target + "."):
            chain = [current]
            while (up := parent[chain[-1]]) is not None:
                chain.append(up)
            return chain[::-1]
        path = _source(current, roots)
        if path is None:
            continue
        for imported in sorted(_imports(current, path)):
            for name in _with_parents(imported):
                if name not in parent and (name == target or name.startswith(target + ".")
                                           or _source(name, roots) is not None):
                    parent[name] = current
                    todo.append(name)
    return None


def _starting_modules() -> list[str]:
    checks = ROOT / "grader" / "checks"
    return [f"grader.checks.{p.stem}" for p in sorted(checks.glob("*.py")) if p.stem != "__init__"] + list(START)


@pytest.mark.parametrize("target", [pytest.param(FORBIDDEN[k], id=k) for k in FORBIDDEN])
def test_pure_modules_never_reach_effects_or_presentation(target):
    chain = forbidden_chain(_starting_modules(), target, (ROOT,))
    assert chain is None, f"{chain[0]} reaches {target}: " + " -> ".join(chain)


def _write(root: Path, rel: str, text: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.mark.parametrize("how", ["absolute", "relative", "in_function", "from_package"])
def test_walk_catches_a_forbidden_edge_in_a_fake_package(tmp_path, how):
    """pure.a -> pure.b -> (how) -> effects.spawn: the chain is reported, and without the edge nothing is."""
    edge = {
        "absolute": "import fake.effects.spawn\n",
        "relative": "from ..effects import spawn\n",
        "in_function": "def later():\n    from fake.effects.spawn import start\n    return start\n",
        "from_package": "from fake.effects import *\nfrom fake import effects\n",
    }[how]
    _write(tmp_path, "fake/__init__.py", "")
    _write(tmp_path, "fake/pure/__init__.py", "")
    _write(tmp_path, "fake/pure/a.py", "from . import b\nimport json\n")
    _write(tmp_path, "fake/pure/b.py", edge)
    _write(tmp_path, "fake/effects/__init__.py", "from . import spawn\n")
    _write(tmp_path, "fake/effects/spawn.py", "import subprocess\n")
    target = "fake.effects"
    chain = forbidden_chain(["fake.pure.a"], target, (tmp_path,))
    assert chain is not None and chain[:2] == ["fake.pure.a", "fake.pure.b"]
    assert chain[-1].startswith(target)
    assert forbidden_chain(["fake.pure.a"], "subprocess", (tmp_path,))[-1] == "subprocess"

    _write(tmp_path, "fake/pure/b.py", "import os\n")
    assert forbidden_chain(["fake.pure.a"], target, (tmp_path,)) is None
    assert forbidden_chain(["fake.pure.a"], "subprocess", (tmp_path,)) is None
