"""The one table of functions the grader knows by name, with their meaning (pure).

Every consumer derives its own view from ``FUNCTION_TABLE`` and keeps no list
of its own: the parser (names a learner may type, and their arity), the exact
evaluator (``evaluate.UNARY``: the mpmath function and how rounding error grows
through it), the wire format (``encoding.FUNCTIONS``: which SymPy functions may
cross between the learner's process and the grader) and the plot evaluator
(the float64 NumPy function). ``tests/test_function_table.py`` checks that
they agree.

``sigmoid``/``σ`` and ``softplus`` are real SymPy functions here (they print
as themselves, differentiate and rewrite to ``exp``); ``relu`` is ``Max(0, x)``
and ``sqrt`` is ``x^(1/2)``. A learner's undefined function named like a known
one (``Function('σ')(x)``, ``Function('arctan')(x)``) means that function:
``resolve`` finds it and ``expand_known_functions`` rebuilds it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import mpmath
import numpy as np
import sympy as sp
from sympy.core.function import AppliedUndef

__all__ = [
    "BY_NAME",
    "BY_SPELLING",
    "FUNCTION_TABLE",
    "KNOWN_FUNCTIONS",
    "ErrorGrowth",
    "KnownFunction",
    "expand_known_functions",
    "resolve",
    "sigmoid",
    "softplus",
]


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


# ---------------------------------------------------------------- SymPy definitions (built unevaluated)


def _sigmoid_def(z: Any) -> Any:
    return sp.Pow(sp.Add(1, sp.exp(sp.Mul(-1, z, evaluate=False), evaluate=False), evaluate=False), -1,
                  evaluate=False)


def _softplus_def(z: Any) -> Any:
    return sp.log(sp.Add(1, sp.exp(z, evaluate=False), evaluate=False), evaluate=False)


def _relu_def(z: Any) -> Any:
    return sp.Max(0, z, evaluate=False)


def _sqrt_def(z: Any) -> Any:
    return sp.Pow(z, sp.Rational(1, 2), evaluate=False)


# ---------------------------------------------------------------- mpmath evaluations (exact evaluator)


def _mp_sigmoid(u: Any) -> Any:
    return 1 / (1 + mpmath.exp(-u))


def _mp_softplus(u: Any) -> Any:
    return mpmath.log1p(mpmath.exp(u)) if u < 0 else u + mpmath.log1p(mpmath.exp(-u))


def _whole(u: Any) -> int:
    """``u`` as a Python int, or ValueError: factorial and binomial are defined on whole numbers only."""
    if u != mpmath.floor(u):
        raise ValueError("not a whole number")
    return int(u)


def _mp_factorial(u: Any) -> Any:
    n = _whole(u)
    if n < 0:
        raise ValueError("factorial of a negative number")
    return mpmath.factorial(n)


def _mp_binomial(n: Any, k: Any) -> Any:
    """C(n, k) for whole n >= 0 and whole k (0 when k < 0 or k > n)."""
    nn, kk = _whole(n), _whole(k)
    if nn < 0:
        raise ValueError("binomial of a negative number")
    return mpmath.mpf(math.comb(nn, kk)) if 0 <= kk <= nn else mpmath.mpf(0)


def _mp_heaviside(u: Any) -> Any:
    return mpmath.mpf(1) if u > 0 else (mpmath.mpf(0) if u < 0 else mpmath.mpf("0.5"))


# ---------------------------------------------------------------- NumPy float64 evaluations (plots only)


def _np_recip(f: Callable[[np.ndarray], np.ndarray]) -> Callable[[np.ndarray], np.ndarray]:
    return lambda u: 1.0 / f(u)


def _np_heaviside(u: np.ndarray, h0: Any = 0.5) -> np.ndarray:
    return np.heaviside(u, h0)


def _np_log(u: np.ndarray, base: np.ndarray | None = None) -> np.ndarray:
    return np.log(u) if base is None else np.log(u) / np.log(base)


def _lambertw_float(u: float) -> float:
    # the principal branch is real only from -1/e on
    return float(mpmath.lambertw(u).real) if math.isfinite(u) and u >= -1 / math.e else math.nan


_np_lambertw = np.vectorize(_lambertw_float, otypes=[float])
_np_erf = np.vectorize(math.erf, otypes=[float])


def _factorial_float(u: float) -> float:
    return math.gamma(u + 1) if math.isfinite(u) and u >= 0 and u == int(u) and u < 171 else math.nan


def _binomial_float(n: float, k: float) -> float:
    if not (math.isfinite(n) and math.isfinite(k)) or n != int(n) or k != int(k) or n < 0:
        return math.nan
    return float(math.comb(int(n), int(k))) if 0 <= k <= n else 0.0


def _gamma_float(u: float) -> float:
    try:
        return math.gamma(u) if math.isfinite(u) else math.nan
    except (ValueError, OverflowError):
        return math.nan


_np_factorial = np.vectorize(_factorial_float, otypes=[float])
_np_binomial = np.vectorize(_binomial_float, otypes=[float])
_np_gamma = np.vectorize(_gamma_float, otypes=[float])


def _np_max(*args: np.ndarray) -> np.ndarray:
    return np.maximum.reduce(args)


def _np_min(*args: np.ndarray) -> np.ndarray:
    return np.minimum.reduce(args)


def _np_sigmoid(u: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-u))


def _np_softplus(u: np.ndarray) -> np.ndarray:
    return np.logaddexp(0.0, u)


# ---------------------------------------------------------------- the table

#: How rounding error propagates through the function, for the exact evaluator's error estimate:
#: ``grows`` (exp, sinh: relative error is the argument's absolute error), ``bounded`` (derivative
#: of order one), ``singular`` (error amplified near a pole or branch point), ``exact`` (|u|: the
#: argument's error), ``step`` (sign, Heaviside: none), ``integer`` (floor, ceiling, factorial,
#: binomial: arguments within rounding of a whole number are taken as that number), ``extreme``
#: (Max/Min of several arguments).
ErrorGrowth = Literal["grows", "bounded", "singular", "exact", "step", "integer", "extreme"]


@dataclass(frozen=True)
class KnownFunction:
    """One known function and every consumer's view of it.

    ``name`` is SymPy's name for the tree node (``type(node).__name__``); ``sympy`` its class,
    or None for a name that is only a definition built from others (``relu``, ``sqrt``).
    ``spellings`` are what a learner may type in an answer (empty: not typable). ``arity`` is
    (least, most or None) arguments as typed; ``node_arity`` the same for the SymPy node where
    it differs (SymPy's ``Heaviside(x)`` carries its value at 0, ``log(x, b)`` a base).
    ``mp``/``growth``/``periodic`` are the exact evaluator's view, ``np`` the plot evaluator's
    (it takes the node's arguments), ``wire`` whether the node may cross the wire as
    ``["Fn", name, ...]``, and ``rewrite`` the definition ``expand_known_functions`` puts in its
    place (σ → 1/(1 + e^(-z))).
    """

    name: str
    sympy: Any  # a SymPy function class, or None for a definition
    spellings: tuple[str, ...] = ()
    arity: tuple[int, int | None] = (1, 1)
    node_arity: tuple[int, int | None] | None = None
    mp: Callable[..., Any] | None = None
    growth: ErrorGrowth = "bounded"
    periodic: bool = False
    np: Callable[..., np.ndarray] | None = None
    wire: bool = False
    definition: Callable[..., Any] | None = None
    rewrite: Callable[..., Any] | None = None

    def takes(self, n_args: int) -> bool:
        """Whether a SymPy node of this function may have ``n_args`` arguments."""
        least, most = self.node_arity or self.arity
        return n_args >= least and (most is None or n_args <= most)

    def build(self, *args: Any) -> Any:
        """The unevaluated SymPy tree of this function applied to ``args`` (as the parser builds it)."""
        if self.sympy is not None:
            return self.sympy(*args, evaluate=False)
        assert self.definition is not None, f"{self.name} has neither a SymPy class nor a definition"
        return self.definition(*args)

    def expand(self, *args: Any) -> Any:
        """What ``expand_known_functions`` puts in place of this function applied to ``args``."""
        return self.rewrite(*args) if self.rewrite is not None else self.build(*args)


def _fn(name: str, spellings: tuple[str, ...], mp: Callable[..., Any] | None, growth: ErrorGrowth,
        npf: Callable[..., np.ndarray], *, periodic: bool = False, arity: tuple[int, int | None] = (1, 1),
        node_arity: tuple[int, int | None] | None = None) -> KnownFunction:
    """A SymPy function that may cross the wire."""
    return KnownFunction(name, getattr(sp, name), spellings, arity, node_arity, mp, growth, periodic, npf,
                         wire=True)


FUNCTION_TABLE: tuple[KnownFunction, ...] = (
    _fn("exp", ("exp",), mpmath.exp, "grows", np.exp),
    # log(x, b) is a node SymPy builds (and the wire carries); typed, log takes one argument
    _fn("log", ("ln", "log"), mpmath.log, "singular", _np_log, node_arity=(1, 2)),
    _fn("sin", ("sin",), mpmath.sin, "bounded", np.sin, periodic=True),
    _fn("cos", ("cos",), mpmath.cos, "bounded", np.cos, periodic=True),
    _fn("tan", ("tan",), mpmath.tan, "singular", np.tan, periodic=True),
    _fn("cot", ("cot",), mpmath.cot, "singular", _np_recip(np.tan), periodic=True),
    _fn("sec", ("sec",), mpmath.sec, "singular", _np_recip(np.cos), periodic=True),
    _fn("csc", ("csc", "cosec"), mpmath.csc, "singular", _np_recip(np.sin), periodic=True),
    _fn("asin", ("asin", "arcsin"), mpmath.asin, "singular", np.arcsin),
    _fn("acos", ("acos", "arccos"), mpmath.acos, "singular", np.arccos),
    _fn("atan", ("atan", "arctan"), mpmath.atan, "bounded", np.arctan),
    _fn("acot", ("acot", "arccot"), mpmath.acot, "bounded", lambda u: np.arctan(1.0 / u)),
    _fn("sinh", ("sinh",), mpmath.sinh, "grows", np.sinh),
    _fn("cosh", ("cosh",), mpmath.cosh, "grows", np.cosh),
    _fn("tanh", ("tanh",), mpmath.tanh, "bounded", np.tanh),
    _fn("coth", ("coth",), mpmath.coth, "singular", _np_recip(np.tanh)),
    _fn("sech", ("sech",), mpmath.sech, "bounded", _np_recip(np.cosh)),
    _fn("csch", ("csch",), mpmath.csch, "singular", _np_recip(np.sinh)),
    _fn("asinh", ("asinh", "arsinh", "arcsinh"), mpmath.asinh, "bounded", np.arcsinh),
    _fn("acosh", ("acosh", "arcosh", "arccosh"), mpmath.acosh, "singular", np.arccosh),
    _fn("atanh", ("atanh", "artanh", "arctanh"), mpmath.atanh, "singular", np.arctanh),
    _fn("Abs", ("abs", "Abs"), abs, "exact", np.abs),
    _fn("sign", ("sign", "sgn"), mpmath.sign, "step", np.sign),
    # SymPy's Heaviside(x) is the node Heaviside(x, 1/2); typed, it takes one argument
    _fn("Heaviside", ("Heaviside", "heaviside"), _mp_heaviside, "step", _np_heaviside, node_arity=(1, 2)),
    _fn("floor", ("floor",), mpmath.floor, "integer", np.floor),
    _fn("ceiling", ("ceil", "ceiling"), mpmath.ceil, "integer", np.ceil),
    _fn("erf", ("erf",), mpmath.erf, "bounded", _np_erf),
    # integer domains: factorial(n) for whole n >= 0, binomial(n, k) for whole n >= 0 and whole k;
    # the sampler gives a variable under them whole values; gamma is real (poles at 0, -1, -2, ...)
    _fn("factorial", ("factorial",), _mp_factorial, "integer", _np_factorial),
    _fn("binomial", ("binomial", "choose"), _mp_binomial, "integer", _np_binomial, arity=(2, 2)),
    _fn("gamma", ("gamma", "Gamma", "Γ"), mpmath.gamma, "singular", _np_gamma),
    # not typable: a learner's code may return it (from solve), nobody types W(x) in an answer
    _fn("LambertW", (), mpmath.lambertw, "singular", _np_lambertw),
    _fn("Max", ("max", "Max"), max, "extreme", _np_max, arity=(2, None)),
    _fn("Min", ("min", "Min"), min, "extreme", _np_min, arity=(2, None)),
    KnownFunction("sigmoid", sigmoid, ("sigmoid", "σ", "logistic"), mp=_mp_sigmoid, np=_np_sigmoid, wire=True,
                  rewrite=_sigmoid_def),
    KnownFunction("softplus", softplus, ("softplus",), mp=_mp_softplus, np=_np_softplus, wire=True,
                  rewrite=_softplus_def),
    # definitions: no node of their own, so nothing to evaluate, plot or send
    KnownFunction("sqrt", None, ("sqrt", "√"), definition=_sqrt_def),
    KnownFunction("relu", None, ("relu", "ReLU"), definition=_relu_def),
)


def _index(table: tuple[KnownFunction, ...]) -> tuple[dict[str, KnownFunction], dict[str, KnownFunction]]:
    """Canonical name -> entry, and every spelling or canonical name -> entry; refuses a name
    claimed by two entries (it would mean one thing to one consumer and another to the next)."""
    by_name: dict[str, KnownFunction] = {}
    by_spelling: dict[str, KnownFunction] = {}
    for entry in table:
        if entry.name in by_name:
            raise ValueError(f"function {entry.name!r} is in the table twice")
        by_name[entry.name] = entry
    for entry in table:
        for word in (entry.name, *entry.spellings):
            other = by_spelling.setdefault(word, entry)
            if other is not entry or (word in by_name and by_name[word] is not entry):
                raise ValueError(f"{word!r} names both {other.name} and {entry.name}")
    return by_name, by_spelling


#: SymPy node name -> entry
BY_NAME: Mapping[str, KnownFunction]
#: every name a learner may use for a function (typed, or as an undefined SymPy function) -> entry
BY_SPELLING: Mapping[str, KnownFunction]
BY_NAME, BY_SPELLING = _index(FUNCTION_TABLE)

#: name (as written by a learner) -> the expression it stands for (built unevaluated)
KNOWN_FUNCTIONS: Mapping[str, Callable[..., Any]] = {word: entry.expand for word, entry in BY_SPELLING.items()}


def resolve(name: str, n_args: int) -> KnownFunction | None:
    """The known function a learner's undefined function ``name`` applied to ``n_args`` arguments
    means (``Function('σ')(x)`` is the sigmoid), or None: an unknown name stays opaque."""
    entry = BY_SPELLING.get(name)
    return entry if entry is not None and entry.takes(n_args) else None


def expand_known_functions(expr: Any) -> Any:
    """Replace applied sigmoid/σ/softplus (ours or a learner's undefined functions of those
    names) by their definitions, and every other undefined function named like a known one
    (``Function('relu')``, ``Function('arctan')``) by that function.

    The tree is rebuilt without evaluation, so a hostile ``(2*σ(x))**(10**100)``
    is never multiplied out; trees without such names are returned as they are.
    """
    if not isinstance(expr, sp.Basic) or not expr.args:
        return expr
    args = [expand_known_functions(a) for a in expr.args]
    if isinstance(expr, AppliedUndef):
        entry = resolve(type(expr).__name__, len(args))
        if entry is not None:
            return entry.expand(*args)
    elif isinstance(expr, sp.Function):
        entry = BY_NAME.get(type(expr).__name__)
        if entry is not None and entry.rewrite is not None and isinstance(expr, entry.sympy):
            return entry.rewrite(*args)
    if all(a is b for a, b in zip(args, expr.args)):
        return expr
    try:
        return expr.func(*args, evaluate=False)
    except TypeError:
        return expr.func(*args)
