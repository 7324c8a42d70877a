"""Declarative specs that instructors put on reference functions.

A reference file in ``solutions/`` is plain Python: each graded function
carries one decorator saying how it is checked::

    @symbolic(points=2, variables={"x": "real"},
              mistakes=[mistake(lambda x: exp(-x), "check the sign", tag="sign_error")])
    def d_exp_neg(x):
        return -exp(-x)

The decorator returns the function unchanged, with its ItemSpec attached as
``__grader_item__``; the catalogue collects them in source order. Each kind
of item is one frozen dataclass here whose fields are its decorator's
options (the shared ones live on :class:`ItemSpec`); its decorator is
``declare(TheItem, options)``, so an unknown option fails at load time with
the decorator's name and the reference file.
"""

from __future__ import annotations

import difflib
import inspect
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any, ClassVar, Literal

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


Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]

#: fields the decorator fills in itself; an author never passes them
_SET_BY_DECORATOR = ("name", "kind", "reference")
_SLUG = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class ItemSpec:
    """What every graded item has, whatever its kind: the options every decorator shares.

    A kind of item is a subclass that adds its own options as typed fields and
    names its decorator; :func:`declare` builds the item from the decorator's
    keyword arguments, so an option no field declares (a typo) is an error that
    names the decorator and the reference file. How the kind's learner input is
    read and which checker judges it are registered in :mod:`grader.checks`.
    """

    name: str
    points: float
    reference: Callable[..., Any]
    title: str = ""
    hidden: bool = False
    mistakes: tuple[Mistake, ...] = ()
    forbid: tuple[str, ...] = ()
    timeout: float = 10.0

    #: the kind's name in the registry and in results (``ItemResult.kind``)
    KIND: ClassVar[str] = ""
    #: the decorator authors write, without the ``@``
    DECORATOR: ClassVar[str] = ""
    #: options the decorator cannot do without
    REQUIRED: ClassVar[tuple[str, ...]] = ("points",)
    #: shared options that mean nothing for this kind (a quiz runs no code, so it has no timeout)
    WITHOUT: ClassVar[tuple[str, ...]] = ()

    @property
    def kind(self) -> str:
        """The kind's name, from the class: an item cannot be sent to another kind's checker."""
        return self.KIND

    @property
    def parameters(self) -> tuple[str, ...]:
        """Names of the reference function's parameters, in order."""
        return tuple(inspect.signature(self.reference).parameters)

    @property
    def forbids_warnings(self) -> bool:
        """Whether a NumPy warning fails the item (so code that silences warnings is flagged)."""
        return False

    @classmethod
    def options(cls) -> tuple[str, ...]:
        """The keyword arguments this kind's decorator accepts."""
        return tuple(f.name for f in fields(cls) if f.name not in _SET_BY_DECORATOR + cls.WITHOUT)

    @classmethod
    def prepare(cls, func: Callable[..., Any], options: dict[str, Any]) -> dict[str, Any]:
        """Field values from the decorator's options; the shared short forms are read here, once for every kind.

        A kind with options of its own overrides this, calls it and converts its own
        (``variables={"x": "positive"}`` into :class:`Variable` values...).
        """
        out = dict(options)
        out["points"] = float(out["points"])
        out["title"] = _title(func, out.get("title", ""))
        out["mistakes"] = tuple(out.get("mistakes", ()))
        if "forbid" in out:
            out["forbid"] = tuple(out["forbid"])
        return out


def where(func: Callable[..., Any]) -> str:
    """``file, line N`` of a reference function's definition, for errors an author must fix."""
    code = getattr(func, "__code__", None)
    return f"{code.co_filename}, line {code.co_firstlineno}" if code is not None else "unknown file"


def declare(cls: type[ItemSpec], options: Mapping[str, Any]) -> Decorator:
    """The decorator of one kind: check ``options`` against the kind's fields, build the item, attach it.

    The item is attached to the function as ``__grader_item__``; the function is
    returned unchanged, so the reference stays plain Python.
    """

    def wrap(func: Callable[..., Any]) -> Callable[..., Any]:
        at = f"@{cls.DECORATOR} on {getattr(func, '__name__', '?')} ({where(func)})"
        accepted = cls.options()
        unknown = [k for k in options if k not in accepted]
        if unknown:
            close = difflib.get_close_matches(unknown[0], accepted, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise TypeError(f"{at}: unknown option {unknown[0]!r}{hint}; @{cls.DECORATOR} takes "
                            f"{', '.join(sorted(accepted))}")
        missing = [k for k in cls.REQUIRED if k not in options]
        if missing:
            raise TypeError(f"{at}: the option {missing[0]!r} is required")
        if not _SLUG.match(func.__name__):
            raise ValueError(f"item name {func.__name__!r} is not an identifier")
        item = cls(name=func.__name__, reference=func, **cls.prepare(func, dict(options)))
        func.__dict__["__grader_item__"] = item
        return func

    return wrap


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


# -- symbolic: the learner's function returns a SymPy expression ------------------------------


@dataclass(frozen=True)
class SymbolicItem(ItemSpec):
    """The learner's function receives SymPy symbols and returns an expression
    (or a list of expressions); compared with the reference by the equivalence engine.

    ``variables`` maps each parameter to its domain (default: every parameter
    real); ``forbid`` lists SymPy helpers the learner may not use here. ``inner``
    names the inner function of a chain-rule item (callable of the same symbols),
    so a missing inner derivative can be diagnosed.
    """

    forbid: tuple[str, ...] = DIFF_HELPERS
    variables: tuple[Variable, ...] = ()
    inner: Callable[..., Any] | None = None
    #: the function the item differentiates, so "returned f instead of f'" is recognised
    antiderivative: Callable[..., Any] | None = None

    KIND = "symbolic"
    DECORATOR = "symbolic"

    @classmethod
    def prepare(cls, func: Callable[..., Any], options: dict[str, Any]) -> dict[str, Any]:
        """The shared options, and ``variables`` as one :class:`Variable` per parameter."""
        out = super().prepare(func, options)
        out["variables"] = _variables(func, options.get("variables"))
        return out


def symbolic(**options: Any) -> Decorator:
    """Mark a reference function as a symbolic item (options: the fields of :class:`SymbolicItem`)."""
    return declare(SymbolicItem, options)


# -- numeric: the learner's function is called on generated inputs ----------------------------


@dataclass(frozen=True)
class NumericItem(ItemSpec):
    """The learner's function is called on generated inputs and its outputs
    compared with the reference's, entry by entry with a relative tolerance.

    ``cases(rng)`` returns a list of argument tuples (arrays, floats, dicts of
    arrays); the generator is seeded from the item's name so every run sees the
    same inputs. Outputs must match within ``|got - want| <= max(rtol * |want|, atol)``
    (see :mod:`grader.numeric`).
    """

    cases: Callable[[Any], Sequence[tuple[Any, ...]]] | None = None
    rtol: float = 1e-6
    atol: float = 1e-9
    #: the arguments are reported back after each call, so a change in place is caught
    check_unmodified: bool = True
    #: trajectory items: where the reference's trajectory ends, so a wrong one is judged by where it ends
    converges_to: float | None = None
    #: a NumPy warning during the call fails an otherwise right answer; a string is the hint shown
    no_warnings: bool | str = False

    KIND = "numeric"
    DECORATOR = "numeric"
    REQUIRED = ("points", "cases")

    @property
    def forbids_warnings(self) -> bool:
        """True when the item sets ``no_warnings``."""
        return bool(self.no_warnings)


def numeric(**options: Any) -> Decorator:
    """Mark a reference function as a numeric item (options: the fields of :class:`NumericItem`)."""
    return declare(NumericItem, options)


# -- stages: one stage of a multi-stage computation (a network's forward, loss, backward, step) ---


@dataclass(frozen=True)
class Computation:
    """What every stage of one computation shares: the cases, where the parameters are, tolerances.

    ``cases(rng)`` returns :class:`grader.networks.Case` values (named arguments,
    batch size, label); :func:`grader.networks.networks` makes the usual random
    networks with a large-input and a saturating one. ``params`` says how the
    parameters are passed: the name of one dict argument (``"params"``) or of a
    list-of-layer-dicts argument, or the names of positional/keyword array
    arguments (``("W1", "b1", "W2", "b2")``). ``gradient_names`` names each
    parameter's gradient (``"d{}"``: ``dW1``). ``regulariser`` names the argument
    that scales the regularisation term (``"lam"``), so "regularisation missing
    or scaled" can be recognised. ``unit`` is what a case is called in feedback.
    """

    cases: Callable[[Any], Sequence[Any]]
    params: str | tuple[str, ...] = "params"
    gradient_names: str = "d{}"
    regulariser: str | None = None
    seed: str = "stages"
    rtol: float = 1e-6
    atol: float = 1e-9
    unit: str = "network"


def computation(cases: Callable[[Any], Sequence[Any]], params: str | Sequence[str] = "params", *,
                gradient_names: str = "d{}", regulariser: str | None = None, seed: str = "stages",
                rtol: float = 1e-6, atol: float = 1e-9, unit: str = "network") -> Computation:
    """Declare the shared part of a multi-stage exercise (see :class:`Computation`)."""
    if "{}" not in gradient_names:
        raise ValueError(f"gradient_names must contain {{}} (it is {gradient_names!r})")
    return Computation(cases, params if isinstance(params, str) else tuple(params), gradient_names,
                       regulariser, seed, float(rtol), float(atol), unit)


@dataclass(frozen=True)
class StageItem(ItemSpec):
    """One stage of a :class:`Computation`, checked by :mod:`grader.checks.stages`.

    The stage is called with the case's arguments named like the reference's
    parameters. ``after`` lists the references of earlier stages it builds on
    (for "which step first went wrong"); ``given(earlier_output, *args)`` says
    what this stage should return given the learner's own output of ``after[0]``
    (error carried forward); ``follows={"A1": f}`` does the same between the
    keys of one output (``f(own_outputs, *args)``). ``gradient_of=loss`` makes
    the output the gradient of that scalar stage with respect to the parameters
    (compared with the reference and with finite differences of the learner's
    own scalar); ``update_of=loss, gradients=backward`` makes it an update step
    whose gradients argument is ``backward``'s result and which must decrease
    the scalar for a small step. ``hints`` add a sentence to a generic
    diagnosis, by tag (``{"sign_error": "dZ2 = A2 - Y, not Y - A2"}``).
    ``mistakes`` are callables with the reference's signature.
    """

    computation: Computation | None = None
    after: tuple[Callable[..., Any], ...] = ()
    given: Callable[..., Any] | None = None
    follows: tuple[tuple[str, Callable[..., Any]], ...] = ()
    gradient_of: Callable[..., Any] | None = None
    update_of: Callable[..., Any] | None = None
    gradients: Callable[..., Any] | None = None
    hints: tuple[tuple[str, str], ...] = ()
    rtol: float | None = None
    atol: float | None = None

    KIND = "stage"
    DECORATOR = "stage"
    REQUIRED = ("points", "computation")
    WITHOUT = ("forbid",)

    @property
    def net(self) -> Computation:
        """The computation (always set: the decorator requires it)."""
        assert self.computation is not None
        return self.computation

    @property
    def tolerances(self) -> tuple[float, float]:
        """(rtol, atol): the stage's own or the computation's."""
        return (self.rtol if self.rtol is not None else self.net.rtol,
                self.atol if self.atol is not None else self.net.atol)

    def hint(self, tag: str) -> str:
        """The author's extra sentence for a diagnosis tag ("" when none)."""
        return dict(self.hints).get(tag, "")

    @classmethod
    def prepare(cls, func: Callable[..., Any], options: dict[str, Any]) -> dict[str, Any]:
        """The shared options; ``after``, ``follows`` and ``hints`` as tuples; the computation checked."""
        out = super().prepare(func, options)
        if not isinstance(out.get("computation"), Computation):
            raise TypeError(f"{func.__name__}: computation= must be made by computation(...)")
        after = out.get("after", ())
        out["after"] = tuple(after) if isinstance(after, (list, tuple)) else (after,)
        if out.get("given") is not None and not out["after"]:
            raise ValueError(f"{func.__name__}: given= needs after=<the earlier stage>")
        if out.get("update_of") is not None and out.get("gradient_of") is not None:
            raise ValueError(f"{func.__name__}: a stage is a gradient or an update, not both")
        if out.get("update_of") is not None and out["mistakes"]:
            raise ValueError(f"{func.__name__}: an update stage is judged by the step it takes on the scalar; "
                             f"authored mistakes= are not matched there (put them on the gradient stage)")
        for name in ("follows", "hints"):
            out[name] = tuple(dict(out.get(name) or {}).items())
        return out


def stage(**options: Any) -> Decorator:
    """Mark a reference function as one stage of a computation (options: :class:`StageItem`)."""
    return declare(StageItem, options)


# -- quiz questions: answered by hand in a .toml file, no learner code runs --------------------

QuizAnswer = Literal["expression", "number", "choice"]


@dataclass(frozen=True)
class QuizItem(ItemSpec):
    """A quiz question: the learner types an answer in the quiz file.

    The reference function returns the right answer: an expression in the
    item's ``variables`` (``answer="expression"``), a number (``"number"``,
    matched within ``tolerance · max(1, |reference|)``) or the letter(s) of the
    right choice(s) (``"choice"``). ``choices`` maps letters to options;
    ``must_not_use`` names functions an expression answer may not contain.
    Mistakes are typed answers (strings).
    """

    text: str = ""
    answer: QuizAnswer = "expression"
    variables: tuple[Variable, ...] = ()
    choices: tuple[tuple[str, str], ...] = ()
    tolerance: float = 1e-6
    #: functions an expression answer may not contain ("tanh" in "write tanh with σ")
    must_not_use: tuple[str, ...] = ()

    KIND = "quiz"
    DECORATOR = "question"
    REQUIRED = ("points", "text")
    WITHOUT = ("forbid", "timeout")

    @classmethod
    def prepare(cls, func: Callable[..., Any], options: dict[str, Any]) -> dict[str, Any]:
        """The shared options (the title defaults to the question's first line), the answer kind and choices."""
        answer = options.get("answer", "expression")
        if answer not in ("expression", "number", "choice"):
            raise ValueError(f"unknown quiz answer kind {answer!r}")
        choices = options.get("choices") or {}
        if answer == "choice" and not choices:
            raise ValueError("a choice question needs choices={'a': ..., 'b': ...}")
        letters = tuple((str(k).lower(), str(v)) for k, v in choices.items())
        if any(not re.fullmatch(r"[a-z]", k) for k, _ in letters):
            raise ValueError("choice keys must be single letters a-z")
        if any(callable(m.answer) for m in options.get("mistakes", ())):
            raise ValueError("quiz mistakes are typed answers (strings), not callables")
        out = super().prepare(func, {**options, "title": options.get("title") or
                                     str(options["text"]).splitlines()[0][:120]})
        out.update(choices=letters, must_not_use=tuple(options.get("must_not_use", ())),
                   variables=_variables(func, options.get("variables")))
        return out


def question(**options: Any) -> Decorator:
    """Mark a reference function as a quiz question (options: the fields of :class:`QuizItem`)."""
    return declare(QuizItem, options)


@dataclass(frozen=True)
class ExerciseInfo:
    """Module-level metadata of a reference file (``EXERCISE = exercise(...)``)."""

    title: str
    order: int = 100
    summary: str = ""
    #: per-learner variants: parameter -> (low, high) integers or a list of choices (see grader.variants)
    variants: tuple[tuple[str, Any], ...] = ()


def exercise(title: str, order: int = 100, summary: str = "",
             variants: Mapping[str, Any] | None = None) -> ExerciseInfo:
    """Declare an exercise's title and its place in the course; ``variants`` opts in to per-learner numbers
    (the reference file's ``grader_items(**values)`` then builds the items of one learner's instance)."""
    return ExerciseInfo(title, order, summary, tuple((variants or {}).items()))


