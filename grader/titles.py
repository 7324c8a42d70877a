"""Item titles learners see, taken from the template: never from the reference's docstring.

A reference's docstring is the author's note and may state the answer (the
backprop ``backward`` docstring spells out every gradient); the template's
docstring (a function's first line, a quiz question's comment) is the task as
learners read it. An explicit ``title=`` in the spec is kept: the author wrote
it for learners.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import re
from collections.abc import Sequence
from pathlib import Path

from .spec import ItemSpec

__all__ = ["learner_titles", "template_titles"]


def template_titles(template: Path) -> dict[str, str]:
    """Item titles as the template states them: a function's docstring's first line, a quiz question's comment."""
    try:
        text = template.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return {}
    titles: dict[str, str] = {}
    if template.suffix == ".py":
        try:
            body = ast.parse(text).body
        except (SyntaxError, ValueError):
            return {}
        for node in body:
            if isinstance(node, ast.FunctionDef):
                doc = (ast.get_docstring(node) or "").strip().splitlines()
                titles[node.name] = doc[0] if doc else node.name
        return titles
    if template.suffix != ".toml":
        return {}
    last = ""
    for line in text.splitlines():
        section = re.fullmatch(r"\s*\[([A-Za-z_][A-Za-z0-9_]*)\]\s*", line)
        if section:
            titles[section.group(1)] = re.sub(r"^#\s*(\d+\.\s*)?", "", last).strip() or section.group(1)
        elif line.strip():
            last = line.strip() if line.strip().startswith("#") else ""
    return titles


def _from_docstring(item: ItemSpec) -> bool:
    """Whether the item's title is the one the decorator took from the reference's docstring (or its name)."""
    doc = inspect.getdoc(item.reference) or ""
    return item.title in ((doc.splitlines()[0] if doc else ""), item.name)


def learner_titles(items: Sequence[ItemSpec], template: Path) -> tuple[ItemSpec, ...]:
    """``items`` with every docstring-made title replaced by the template's title of the same item."""
    titles = template_titles(template)
    return tuple(dataclasses.replace(i, title=titles[i.name]) if i.name in titles and _from_docstring(i) else i
                 for i in items)
