"""Declarative specs that instructors put on reference functions.

A reference file in ``solutions/`` is plain Python: each graded function
carries one decorator saying how it is checked::

    @symbolic(points=2, variables={"x": "real"},
              mistakes=[mistake(lambda x: exp(-x), "check the sign", tag="sign_error")])
    def d_exp_neg(x):
        return -exp(-x)

The decorator returns the function unchanged, with its ItemSpec attached as
``__grader_item__``; the catalogue collects them in source order.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

#: helpers a "derive it yourself" item forbids unless its spec says otherwise
DIFF_HELPERS: tuple[str, ...] = ("diff", "Derivative", "integrate", "Subs")
#: autograd libraries that are never allowed in a derivative item
AUTOGRAD_MODULES: tuple[str, ...] = ("torch", "jax", "autograd", "tensorflow")

VariableKind = Literal["real", "integer"]


@dataclass(frozen=True)
class Variable:
    """A free variable of a symbolic item and the domain it ranges over.

    ``lo``/``hi`` bound the domain (``None`` for unbounded), both open; the
    equivalence engine samples inside it and the learner's symbol carries the
    matching SymPy assumptions (``positive=True`` for ``x > 0``).
    """

    name: str
    kind: VariableKind = "real"
    lo: float | None = None
    hi: float | None = None

    @classmethod
    def parse(cls, name: str, domain: str | tuple[float | None, float | None] | Variable) -> Variable:
        """Build from the short forms authors write: ``"real"``, ``"positive"``,
        ``"negative"``, ``"nonnegative"``, ``"integer"``, ``"positive integer"``
        or an open interval ``(lo, hi)``."""
        if isinstance(domain, Variable):
            return domain
        if isinstance(domain, tuple):
            lo, hi = domain
            return cls(name, "real", lo, hi)
        words = domain.strip().lower().split()
        kind: VariableKind = "integer" if "integer" in words else "real"
        lo, hi = None, None
        if "positive" in words:
            lo = 0.0
        elif "negative" in words:
            hi = 0.0
        elif "nonnegative" in words:
            lo = 0.0
        rest = set(words) - {"real", "integer", "positive", "negative", "nonnegative"}
        if rest:
            raise ValueError(f"unknown domain {domain!r} for variable {name!r}")
        return cls(name, kind, lo, hi)

    def assumptions(self) -> dict[str, bool]:
        """SymPy assumptions for this variable's symbol."""
        out: dict[str, bool] = {"real": True}
        if self.kind == "integer":
            out["integer"] = True
        if self.lo is not None and self.lo >= 0:
            out["positive"] = True
        elif self.hi is not None and self.hi <= 0:
            out["negative"] = True
        return out

    def describe(self) -> str:
        """Human text such as ``x > 0`` or ``n an integer``."""
        parts = []
        if self.lo is not None and self.hi is not None:
            parts.append(f"{self.lo:g} < {self.name} < {self.hi:g}")
        elif self.lo is not None:
            parts.append(f"{self.name} > {self.lo:g}")
        elif self.hi is not None:
            parts.append(f"{self.name} < {self.hi:g}")
        else:
            parts.append(f"{self.name} real")
        if self.kind == "integer":
            parts.append("integer")
        return ", ".join(parts)


@dataclass(frozen=True)
class Mistake:
    """A wrong answer learners really give, with the feedback it deserves.

    ``answer`` is a callable taking the item's arguments (like the reference)
    or an expression string in the grader's answer syntax. The catalogue test
    grades every mistake and asserts it gets exactly this feedback.
    """

    answer: Callable[..., Any] | str
    feedback: str
    tag: str = "authored"


def mistake(answer: Callable[..., Any] | str, feedback: str, tag: str = "authored") -> Mistake:
    """Declare a known wrong answer and the feedback it gets."""
    return Mistake(answer, feedback, tag)


@dataclass(frozen=True)
class ItemSpec:
    """What every graded item has, whatever its kind."""

    name: str
    kind: str
    points: float
    reference: Callable[..., Any]
    title: str = ""
    hidden: bool = False
    mistakes: tuple[Mistake, ...] = ()
    forbid: tuple[str, ...] = ()
    timeout: float = 10.0
    options: Mapping[str, Any] = field(default_factory=dict)

    @property
    def parameters(self) -> tuple[str, ...]:
        """Names of the reference function's parameters, in order."""
        return tuple(inspect.signature(self.reference).parameters)


@dataclass(frozen=True)
class SymbolicItem(ItemSpec):
    """The learner's function receives SymPy symbols and returns an expression
    (or a list of expressions); compared with the reference by the equivalence engine.

    ``inner`` names the inner function of a chain-rule item (callable of the
    same symbols), so a missing inner derivative can be diagnosed.
    """

    variables: tuple[Variable, ...] = ()
    inner: Callable[..., Any] | None = None
    #: the function the item differentiates, so "returned f instead of f'" is recognised
    antiderivative: Callable[..., Any] | None = None


@dataclass(frozen=True)
class NumericItem(ItemSpec):
    """The learner's function is called on generated inputs and its outputs
    compared with the reference's, entry by entry with a relative tolerance.

    ``cases(rng)`` returns a list of argument tuples; the generator is seeded
    from the item's name so every run sees the same inputs.
    """

    cases: Callable[[Any], Sequence[tuple[Any, ...]]] | None = None
    rtol: float = 1e-6
    atol: float = 1e-9
    check_unmodified: bool = False


_SLUG = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _title(func: Callable[..., Any], title: str) -> str:
    if title:
        return title
    doc = inspect.getdoc(func) or ""
    return doc.splitlines()[0] if doc else func.__name__


def _variables(func: Callable[..., Any], domains: Mapping[str, Any] | None) -> tuple[Variable, ...]:
    """One Variable per parameter of ``func``, with its declared domain (default real)."""
    names = tuple(inspect.signature(func).parameters)
    unknown = set(domains or {}) - set(names)
    if unknown:
        raise ValueError(f"{func.__name__}: variables {sorted(unknown)} are not parameters")
    return tuple(Variable.parse(n, (domains or {}).get(n, "real")) for n in names)


def _attach(func: Callable[..., Any], item: ItemSpec) -> Callable[..., Any]:
    if not _SLUG.match(func.__name__):
        raise ValueError(f"item name {func.__name__!r} is not an identifier")
    func.__grader_item__ = item  # type: ignore[attr-defined]
    return func


def symbolic(
    *,
    points: float,
    variables: Mapping[str, Any] | None = None,
    mistakes: Sequence[Mistake] = (),
    forbid: Sequence[str] = DIFF_HELPERS,
    inner: Callable[..., Any] | None = None,
    antiderivative: Callable[..., Any] | None = None,
    title: str = "",
    hidden: bool = False,
    timeout: float = 10.0,
    **options: Any,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Mark a reference function as a symbolic item.

    ``variables`` maps each parameter to its domain (default: every parameter
    real). ``forbid`` lists SymPy helpers the learner may not use here.
    """

    def wrap(func: Callable[..., Any]) -> Callable[..., Any]:
        item = SymbolicItem(
            name=func.__name__,
            kind="symbolic",
            points=float(points),
            reference=func,
            title=_title(func, title),
            hidden=hidden,
            mistakes=tuple(mistakes),
            forbid=tuple(forbid),
            timeout=timeout,
            options=dict(options),
            variables=_variables(func, variables),
            inner=inner,
            antiderivative=antiderivative,
        )
        return _attach(func, item)

    return wrap


def numeric(
    *,
    points: float,
    cases: Callable[[Any], Sequence[tuple[Any, ...]]],
    rtol: float = 1e-6,
    atol: float = 1e-9,
    mistakes: Sequence[Mistake] = (),
    check_unmodified: bool = True,
    forbid: Sequence[str] = (),
    title: str = "",
    hidden: bool = False,
    timeout: float = 10.0,
    kind: str = "numeric",
    **options: Any,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Mark a reference function as a numeric item checked on generated inputs.

    ``cases(rng)`` returns argument tuples (arrays, floats, dicts of arrays);
    outputs must match within ``|got - want| <= max(rtol * |want|, atol)`` (see :mod:`grader.numeric`).
    """

    def wrap(func: Callable[..., Any]) -> Callable[..., Any]:
        item = NumericItem(
            name=func.__name__,
            kind=kind,
            points=float(points),
            reference=func,
            title=_title(func, title),
            hidden=hidden,
            mistakes=tuple(mistakes),
            forbid=tuple(forbid),
            timeout=timeout,
            options=dict(options),
            cases=cases,
            rtol=rtol,
            atol=atol,
            check_unmodified=check_unmodified,
        )
        return _attach(func, item)

    return wrap


#: (n_in, n_hidden, n_out, m) of the generated networks: m = 1 and m > 1, three different layer widths
BACKPROP_SHAPES: tuple[tuple[int, int, int, int], ...] = ((3, 4, 2, 5), (4, 3, 2, 1), (2, 5, 3, 7))
BACKPROP_STAGES = ("forward", "loss", "backward", "sgd_step")


@dataclass(frozen=True)
class BackpropItem(ItemSpec):
    """One stage of the two-layer sigmoid network exercise (``forward``, ``loss``,
    ``backward`` or ``sgd_step``), checked by :mod:`grader.checks.backprop`.

    All stages with the same ``seed`` and ``shapes`` see the same networks, so a
    later stage can be judged against the learner's own earlier values.
    ``related`` maps other stage names to their reference functions.
    """

    stage: str = "backward"
    shapes: tuple[tuple[int, int, int, int], ...] = BACKPROP_SHAPES
    large_case: bool = True
    seed: str = "backprop"
    rtol: float = 1e-6
    atol: float = 1e-9
    related: Mapping[str, Callable[..., Any]] = field(default_factory=dict)


def backprop(
    *,
    points: float,
    stage: str | None = None,
    shapes: Sequence[tuple[int, int, int, int]] = BACKPROP_SHAPES,
    large_case: bool = True,
    seed: str = "backprop",
    rtol: float = 1e-6,
    atol: float = 1e-9,
    mistakes: Sequence[Mistake] = (),
    title: str = "",
    hidden: bool = False,
    timeout: float = 10.0,
    **related: Callable[..., Any],
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Mark a reference function as one stage of the backprop exercise.

    ``stage`` defaults to the function's name; pass the references of earlier
    stages by name (``loss=loss``) so the checker can carry errors forward.
    ``mistakes`` are callables with the reference's signature whose output the
    learner's may match (``backward`` without the σ' factor...).
    """

    def wrap(func: Callable[..., Any]) -> Callable[..., Any]:
        st = stage or func.__name__
        if st not in BACKPROP_STAGES:
            raise ValueError(f"{func.__name__}: unknown backprop stage {st!r}; one of {BACKPROP_STAGES}")
        unknown = set(related) - set(BACKPROP_STAGES)
        if unknown:
            raise ValueError(f"{func.__name__}: related references {sorted(unknown)} are not stages")
        item = BackpropItem(
            name=func.__name__, kind="backprop", points=float(points), reference=func,
            title=_title(func, title), hidden=hidden, mistakes=tuple(mistakes), forbid=(),
            timeout=timeout, stage=st, shapes=tuple(tuple(s) for s in shapes),  # type: ignore[misc]
            large_case=large_case, seed=seed, rtol=rtol, atol=atol, related=dict(related),
        )
        return _attach(func, item)

    return wrap


@dataclass(frozen=True)
class ExerciseInfo:
    """Module-level metadata of a reference file (``EXERCISE = exercise(...)``)."""

    title: str
    order: int = 100
    summary: str = ""


def exercise(title: str, order: int = 100, summary: str = "") -> ExerciseInfo:
    """Declare an exercise's title and its place in the course."""
    return ExerciseInfo(title, order, summary)


# -- quiz questions: answered by hand in a .toml file, no learner code runs --------------------

QuizAnswer = Literal["expression", "number", "choice"]


@dataclass(frozen=True)
class QuizItem(ItemSpec):
    """A quiz question: the learner types an answer in the quiz file.

    The reference function returns the right answer: an expression in the
    item's ``variables`` (``answer="expression"``), a number (``"number"``,
    matched within ``tolerance · max(1, |reference|)``) or the letter(s) of the
    right choice(s) (``"choice"``). Mistakes are typed answers (strings).
    """

    answer: QuizAnswer = "expression"
    question: str = ""
    variables: tuple[Variable, ...] = ()
    choices: tuple[tuple[str, str], ...] = ()
    tolerance: float = 1e-6
    #: functions an expression answer may not contain ("tanh" in "write tanh with σ")
    must_not_use: tuple[str, ...] = ()


def question(
    *,
    points: float,
    text: str,
    answer: QuizAnswer = "expression",
    variables: Mapping[str, Any] | None = None,
    choices: Mapping[str, str] | None = None,
    tolerance: float = 1e-6,
    mistakes: Sequence[Mistake] = (),
    must_not_use: Sequence[str] = (),
    title: str = "",
    hidden: bool = False,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Mark a reference function as a quiz question with the given ``text``.

    ``variables`` maps each parameter to its domain (expression answers);
    ``choices`` maps letters to options (choice answers); ``must_not_use``
    names functions an expression answer may not contain.
    """
    if answer not in ("expression", "number", "choice"):
        raise ValueError(f"unknown quiz answer kind {answer!r}")
    if answer == "choice" and not choices:
        raise ValueError("a choice question needs choices={'a': ..., 'b': ...}")
    letters = tuple((str(k).lower(), str(v)) for k, v in (choices or {}).items())
    if any(not re.fullmatch(r"[a-z]", k) for k, _ in letters):
        raise ValueError("choice keys must be single letters a-z")
    if any(callable(m.answer) for m in mistakes):
        raise ValueError("quiz mistakes are typed answers (strings), not callables")

    def wrap(func: Callable[..., Any]) -> Callable[..., Any]:
        item = QuizItem(
            name=func.__name__, kind="quiz", points=float(points), reference=func,
            title=title or text.splitlines()[0][:120], hidden=hidden, mistakes=tuple(mistakes),
            answer=answer, question=text, tolerance=tolerance, choices=letters,
            must_not_use=tuple(must_not_use),
            variables=_variables(func, variables),
        )
        return _attach(func, item)

    return wrap
