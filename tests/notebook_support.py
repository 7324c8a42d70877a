"""Notebooks built by test code (never committed as fixtures): raw nbformat 4 JSON with every knob a test needs."""

from __future__ import annotations

import json
from typing import Any


def code(source: str, *, count: int | None = None, outputs: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"cell_type": "code", "source": source, "metadata": {}, "execution_count": count,
            "outputs": outputs or []}


def markdown(source: str) -> dict[str, Any]:
    return {"cell_type": "markdown", "source": source, "metadata": {}}


def notebook(*cells: dict[str, Any], minor: int = 5, ids: bool = True) -> str:
    """A notebook's JSON text; ``ids`` gives every cell an id (required from nbformat 4.5)."""
    out = []
    for n, cell in enumerate(cells):
        out.append(dict(cell, id=f"cell-{n}") if ids and minor >= 5 else dict(cell))
    kernel = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return json.dumps({"nbformat": 4, "nbformat_minor": minor, "cells": out, "metadata": {"kernelspec": kernel}})


D_EXP = "import sympy\n\ndef d_exp(x):\n    return sympy.exp(x)\n"
D_EXP_NEG = "def d_exp_neg(x):\n    return -sympy.exp(-x)\n"
D_LOG = "def d_log(x):\n    return 1 / x\n"
