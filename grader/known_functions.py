"""The deep-learning functions the grader knows by name, with their meaning.

``sigmoid``/``σ`` and ``softplus`` are real SymPy functions here (they print
as themselves, differentiate and rewrite to ``exp``); ``relu`` is ``Max(0, x)``.
A learner's ``Function('sigmoid')(x)`` or ``Function('σ')(x)`` arrives as an
undefined function and ``expand_known_functions`` gives it the same meaning.
"""

from __future__ import annotations

from typing import Any, Callable

import sympy as sp


class sigmoid(sp.Function):  # noqa: N801 - named as learners write it
    """The logistic function σ(z) = 1 / (1 + e^(-z))."""

    nargs = 1

    def fdiff(self, argindex: int = 1) -> Any:
        s = sigmoid(self.args[0])
        return s * (1 - s)

    def _eval_rewrite_as_exp(self, z: Any, **kwargs: Any) -> Any:
        return 1 / (1 + sp.exp(-z))

    def _eval_is_real(self) -> Any:
        return self.args[0].is_real


class softplus(sp.Function):  # noqa: N801
    """softplus(z) = ln(1 + e^z)."""

    nargs = 1

    def fdiff(self, argindex: int = 1) -> Any:
        return sigmoid(self.args[0])

    def _eval_rewrite_as_exp(self, z: Any, **kwargs: Any) -> Any:
        return sp.log(1 + sp.exp(z))

    def _eval_is_real(self) -> Any:
        return self.args[0].is_real


def _relu(z: Any) -> Any:
    return sp.Max(0, z)


#: name (as written by a learner) -> the expression it stands for
KNOWN_FUNCTIONS: dict[str, Callable[[Any], Any]] = {
    "sigmoid": lambda z: 1 / (1 + sp.exp(-z)),
    "σ": lambda z: 1 / (1 + sp.exp(-z)),
    "logistic": lambda z: 1 / (1 + sp.exp(-z)),
    "softplus": lambda z: sp.log(1 + sp.exp(z)),
    "relu": _relu,
    "ReLU": _relu,
    "ln": sp.log,
}


def expand_known_functions(expr: Any) -> Any:
    """Replace applied sigmoid/σ/softplus/relu/ln (ours or a learner's undefined
    functions of those names) by their definitions; other trees are returned as is."""
    if not isinstance(expr, sp.Basic):
        return expr
    repl = {}
    for f in expr.atoms(sp.Function):
        name = type(f).__name__
        if name in KNOWN_FUNCTIONS and len(f.args) == 1:
            repl[f] = KNOWN_FUNCTIONS[name](expand_known_functions(f.args[0]))
    return expr.xreplace(repl) if repl else expr
