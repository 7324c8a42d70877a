"""Presentation MathML for answers and references, safe to put into the report as markup.

SymPy's MathML printer writes symbol and function names into the markup
without escaping them, so names are escaped before printing and the output
is checked against a whitelist of MathML tags, attributes and entities; any
surprise means no MathML (the report then shows the plain text, escaped).
"""

from __future__ import annotations

import html
import re
from functools import lru_cache
from typing import Any

import sympy as sp
from sympy.printing.mathml import MathMLPresentationPrinter

#: expressions with more nodes than this are shown as text (MathML of a huge tree helps nobody)
MAX_NODES = 400
#: nor is MathML longer than this
MAX_CHARS = 20_000

_TAGS = {"math", "mrow", "mi", "mn", "mo", "ms", "mtext", "mspace", "msup", "msub", "msubsup", "mfrac",
         "msqrt", "mroot", "mfenced", "mtable", "mtr", "mtd", "mover", "munder", "munderover",
         "mstyle", "mpadded", "mphantom", "menclose", "merror"}
_ATTRS = {"mathvariant", "separators", "open", "close", "linethickness", "fence", "stretchy",
          "columnalign", "notation", "display", "xmlns", "form", "lspace", "rspace", "width"}
_TOKEN = re.compile(r"<(/?)([a-z]+)((?:\s+[a-z]+=\"[^\"<>&]*\")*)\s*(/?)>|&(?:[A-Za-z]+|#\d{1,7}|#x[0-9A-Fa-f]{1,6});"
                    r"|[<>&]")
_ATTR = re.compile(r"([a-z]+)=")


@lru_cache(maxsize=4096)
def is_safe(markup: str) -> bool:
    """True when ``markup`` holds only whitelisted MathML tags, attributes and character references."""
    for m in _TOKEN.finditer(markup):
        text = m.group(0)
        if text in ("<", ">", "&"):
            return False
        if m.group(2) is not None:
            if m.group(2) not in _TAGS:
                return False
            if any(a not in _ATTRS for a in _ATTR.findall(m.group(3) or "")):
                return False
    return True


def _escape_names(expr: sp.Basic) -> sp.Basic:
    """Replace symbols and undefined functions whose names need escaping by escaped twins."""
    repl: dict[Any, Any] = {}
    for s in expr.free_symbols:
        safe = html.escape(s.name)
        if safe != s.name:
            repl[s] = sp.Symbol(safe)
    for f in expr.atoms(sp.core.function.AppliedUndef):
        name = type(f).__name__
        safe = html.escape(name)
        if safe != name:
            repl[f] = sp.Function(safe)(*f.args)
    return expr.xreplace(repl) if repl else expr


def _body(expr: Any) -> str | None:
    if isinstance(expr, (list, tuple)):
        parts = [_body(e) for e in expr]
        shown = [p for p in parts if p is not None]
        if len(shown) != len(parts):
            return None
        inner = "<mo>,</mo>".join(shown)
        return f"<mrow><mo>[</mo>{inner}<mo>]</mo></mrow>"
    if isinstance(expr, bool) or not isinstance(expr, (sp.Basic, int, float)):
        return None
    return _scalar_body(sp.sympify(expr))


@lru_cache(maxsize=4096)
def _scalar_body(expr: sp.Basic) -> str | None:
    """Printed once per distinct tree: references and common answers repeat across a class."""
    for n, _ in enumerate(sp.preorder_traversal(expr)):
        if n > MAX_NODES:
            return None
    printer = MathMLPresentationPrinter({"ln_notation": True})
    return printer.doprint(_escape_names(expr))


def to_mathml(expr: Any, display: bool = False) -> str | None:
    """A ``<math>`` element for a SymPy expression (or a list of them), or None when it
    cannot be shown safely (not an expression, too large, or the printer failed)."""
    try:
        body = _body(expr)
    except Exception:  # the printer is third-party code on hostile trees: never let it cost the report
        return None
    if body is None or len(body) > MAX_CHARS:
        return None
    mode = ' display="block"' if display else ""
    markup = f'<math xmlns="http://www.w3.org/1998/Math/MathML"{mode}>{body}</math>'
    return markup if is_safe(markup) else None
