"""How the grader read an answer, as one line of plain maths (pure).

``describe_reading(expr)`` gives the "we read your answer as 2^x · ln(2)" echo
(as STACK does), so a learner can spot a misparse: ``^`` for powers, ``e^x``,
``ln``, ``σ``, ``|x|``, ``√``, juxtaposed coefficients and ``·`` between factors,
factors in the order typed and only numeric negative powers under a fraction bar.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

import sympy as sp

__all__ = ["describe_reading"]


class _ReadingPrinter(sp.printing.str.StrPrinter):
    """One-line maths: ^ for powers, e^x, ln, σ, juxtaposed coefficients."""

    _default_settings: ClassVar[dict[str, Any]] = {**sp.printing.str.StrPrinter._default_settings,
                                                   "order": "none", "full_prec": False}

    def _print_exp(self, expr: Any) -> str:
        return "e^" + self._exponent(expr.args[0])

    def _print_Pow(self, expr: Any, rational: bool = False) -> str:
        base, ex = expr.args
        if base == sp.E:
            return "e^" + self._exponent(ex)
        if ex == sp.Rational(1, 2):
            return f"√({self._print(base)})"
        return super()._print_Pow(expr, rational)

    def _print_Mul(self, expr: Any) -> str:
        # factors in the order given; only negative numeric powers go below a fraction bar,
        # so e^(-x) stays e^(-x) instead of SymPy's 1/e^x
        prec = sp.printing.precedence.PRECEDENCE["Mul"]
        args = list(expr.args)
        sign = ""
        if args and isinstance(args[0], sp.Number) and args[0] < 0 and len(args) > 1:
            sign = "-"
            args[0] = -args[0]
            if args[0] == 1:
                args.pop(0)
        num, den = [], []
        for a in args:
            if isinstance(a, sp.Pow) and isinstance(a.exp, sp.Number) and a.exp < 0:
                den.append(a.base if a.exp == -1 else sp.Pow(a.base, -a.exp, evaluate=False))
            elif isinstance(a, sp.Rational) and not isinstance(a, sp.Integer):
                if a.p != 1:
                    num.append(sp.Integer(a.p))
                den.append(sp.Integer(a.q))
            else:
                num.append(a)
        top = "*".join(self.parenthesize(a, prec) for a in num) or "1"
        if len(num) > 1 and den:
            top = f"({top})" if any(isinstance(a, sp.Add) for a in num) else top
        if not den:
            return sign + top
        bottom = "*".join(self.parenthesize(a, prec) for a in den)
        if len(den) > 1:
            bottom = f"({bottom})"
        return f"{sign}{top}/{bottom}"

    def _exponent(self, ex: Any) -> str:
        text = self._print(ex)
        simple = isinstance(ex, (sp.Symbol, sp.Integer)) and not (isinstance(ex, sp.Integer) and ex < 0)
        return text if simple else f"({text})"

    def _print_log(self, expr: Any) -> str:
        return f"ln({self._print(expr.args[0])})"

    def _print_sigmoid(self, expr: Any) -> str:
        return f"σ({self._print(expr.args[0])})"

    def _print_Abs(self, expr: Any) -> str:
        return f"|{self._print(expr.args[0])}|"

    def _print_Exp1(self, expr: Any) -> str:
        return "e"

    def _print_Pi(self, expr: Any) -> str:
        return "π"


_COEFF = re.compile(r"(?<![\w.^])(\d+)\*(?=[A-Za-zα-ωΑ-Ω(√|])")


def describe_reading(expr: Any) -> str:
    """How the grader read an answer, in one line of plain maths (``2^x · ln(2)``),
    so a learner can spot a misparse."""
    if isinstance(expr, (list, tuple)):
        return "[" + ", ".join(describe_reading(e) for e in expr) + "]"
    text = _ReadingPrinter().doprint(sp.sympify(expr) if not isinstance(expr, sp.Basic) else expr)
    text = text.replace("**", "^")
    text = _COEFF.sub(r"\1", text)
    text = text.replace("*", " · ")
    return text.replace("-", "−")
