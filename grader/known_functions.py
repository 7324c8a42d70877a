"""The deep-learning functions the grader knows by name, with their meaning.

``sigmoid``/``σ`` and ``softplus`` are real SymPy functions here (they print
as themselves, differentiate and rewrite to ``exp``); ``relu`` is ``Max(0, x)``.
A learner's ``Function('sigmoid')(x)`` or ``Function('σ')(x)`` arrives as an
undefined function and ``expand_known_functions`` gives it the same meaning.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sympy as sp


class sigmoid(sp.Function):
    """The logistic function σ(z) = 1 / (1 + e^(-z))."""

    nargs = 1

    def fdiff(self, argindex: int = 1) -> Any:
        s = sigmoid(self.args[0])
        return s * (1 - s)

    def _eval_rewrite_as_exp(self, z: Any, **kwargs: Any) -> Any:
        return 1 / (1 + sp.exp(-z))

    def _eval_evalf(self, prec: int) -> Any:
        return self.rewrite(sp.exp)._eval_evalf(prec)

    def _eval_is_real(self) -> Any:
        return self.args[0].is_real


class softplus(sp.Function):
    """softplus(z) = ln(1 + e^z)."""

    nargs = 1

    def fdiff(self, argindex: int = 1) -> Any:
        return sigmoid(self.args[0])

    def _eval_rewrite_as_exp(self, z: Any, **kwargs: Any) -> Any:
        return sp.log(1 + sp.exp(z))

    def _eval_evalf(self, prec: int) -> Any:
        return self.rewrite(sp.exp)._eval_evalf(prec)

    def _eval_is_real(self) -> Any:
        return self.args[0].is_real


def _sigmoid_def(z: Any) -> Any:
    return sp.Pow(sp.Add(1, sp.exp(sp.Mul(-1, z, evaluate=False), evaluate=False), evaluate=False), -1,
                  evaluate=False)


def _softplus_def(z: Any) -> Any:
    return sp.log(sp.Add(1, sp.exp(z, evaluate=False), evaluate=False), evaluate=False)


def _relu(z: Any) -> Any:
    return sp.Max(0, z, evaluate=False)


#: name (as written by a learner) -> the expression it stands for (built unevaluated)
KNOWN_FUNCTIONS: dict[str, Callable[[Any], Any]] = {
    "sigmoid": _sigmoid_def,
    "σ": _sigmoid_def,
    "logistic": _sigmoid_def,
    "softplus": _softplus_def,
    "relu": _relu,
    "ReLU": _relu,
    "ln": lambda z: sp.log(z, evaluate=False),
}


def expand_known_functions(expr: Any) -> Any:
    """Replace applied sigmoid/σ/softplus/relu/ln (ours or a learner's undefined
    functions of those names) by their definitions.

    The tree is rebuilt without evaluation, so a hostile ``(2*σ(x))**(10**100)``
    is never multiplied out; trees without such names are returned as they are.
    """
    if not isinstance(expr, sp.Basic) or not expr.args:
        return expr
    args = [expand_known_functions(a) for a in expr.args]
    name = type(expr).__name__
    if isinstance(expr, sp.Function) and name in KNOWN_FUNCTIONS and len(args) == 1:
        return KNOWN_FUNCTIONS[name](args[0])
    if all(a is b for a, b in zip(args, expr.args)):
        return expr
    try:
        return expr.func(*args, evaluate=False)
    except TypeError:
        return expr.func(*args)
