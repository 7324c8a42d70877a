"""What ``grader equiv`` does, as a library: check typed expressions pairwise.

``check_pair("a", "b", ["x:positive"])`` reads both sides with the safe parser,
compares them (``a`` is the reference, ``b`` the candidate), diagnoses a wrong
``b`` and returns a PairReport; ``run_jsonl`` does the same for one JSON
object per line, so many answers are checked in one process (and identical
pairs hit the engine's cache).
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

from . import diagnosis, equivalence
from .errors import EXIT_BELOW, EXIT_OK, EXIT_UNDECIDED, UsageError
from .parsing import ParseError, describe_reading, parse_expression
from .spec import Variable

_INTERVAL = re.compile(r"^\(\s*([^,]+)\s*,\s*([^)]+)\s*\)$")


def parse_variable(spec: Any) -> Variable:
    """``x``, ``x:positive``, ``n:positive integer`` or ``t:(0, 1)`` (use ``inf`` for no bound)."""
    if isinstance(spec, Variable):
        return spec
    if not isinstance(spec, str) or not spec.strip():
        raise UsageError(f"a variable is a name such as x or x:positive, not {spec!r}")
    name, _, domain = spec.partition(":")
    name = name.strip()
    if not name.isidentifier():
        raise UsageError(f"{name!r} is not a variable name")
    domain = domain.strip() or "real"
    m = _INTERVAL.match(domain)
    try:
        if m:
            lo, hi = (float(g) for g in m.groups())
            return Variable(name, "real", None if math.isinf(lo) else lo, None if math.isinf(hi) else hi)
        return Variable.parse(name, domain)
    except ValueError as exc:
        raise UsageError(f"variable {spec!r}: {exc}") from None


@dataclass(frozen=True)
class PairReport:
    """The verdict on one pair, the diagnosis of a wrong ``b``, and how both were read."""

    verdict: equivalence.Verdict
    diagnosis: diagnosis.Diagnosis | None
    reading_a: str
    reading_b: str
    variables: tuple[Variable, ...]
    seconds: float

    def to_json(self) -> dict[str, Any]:
        v = self.verdict
        return {
            "verdict": v.status,
            "evidence": {"method": v.method, "text": v.evidence, "counterexample": dict(v.counterexample),
                         "a_value": _finite(v.reference_value), "b_value": _finite(v.answer_value),
                         "points_checked": v.points_checked},
            "diagnosis": None if self.diagnosis is None else {
                "tag": self.diagnosis.tag, "feedback": self.diagnosis.feedback, **self.diagnosis.detail},
            "read_as": {"a": self.reading_a, "b": self.reading_b},
            "vars": [v.name for v in self.variables],
            "seconds": round(self.seconds, 6),
        }


def _finite(x: float | None) -> float | str | None:
    return x if x is None or math.isfinite(x) else str(x)


def _parse_side(text: str, variables: Sequence[Any], side: str) -> Any:
    try:
        return parse_expression(text, variables)
    except ParseError as exc:
        exc.side = side
        raise


def check_pair(a: str, b: str, variables: Sequence[Any] = ()) -> PairReport:
    """Compare two typed expressions; raises ParseError (with the position) on bad input."""
    started = time.perf_counter()
    vars_ = [parse_variable(v) for v in variables]
    left, right = _parse_side(a, vars_, "a"), _parse_side(b, vars_, "b")
    if not vars_:
        names = sorted({s.name for s in left.free_symbols | right.free_symbols})
        vars_ = [Variable(n) for n in names]
    verdict = equivalence.compare(left, right, vars_)
    found = diagnosis.diagnose(left, right, vars_) if verdict.status == "not_equivalent" else None
    return PairReport(verdict, found, describe_reading(left), describe_reading(right), tuple(vars_),
                      time.perf_counter() - started)


def run_jsonl(lines: Iterable[str]) -> Iterator[dict[str, Any]]:
    """One output object per non-blank input line: ``id`` (if given), ``verdict``,
    ``evidence``, ``diagnosis``, ``seconds`` and the line's other fields; a bad
    line gives ``verdict: "error"`` with the reason, and the run goes on."""
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        started = time.perf_counter()
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            yield {"line": number, "verdict": "error", "error": f"line {number} is not JSON: {exc.msg}",
                   "seconds": round(time.perf_counter() - started, 6)}
            continue
        if not isinstance(obj, dict):
            yield {"line": number, "verdict": "error", "error": f"line {number} is not a JSON object",
                   "seconds": round(time.perf_counter() - started, 6)}
            continue
        extra = {k: v for k, v in obj.items() if k not in ("a", "b", "vars")}
        head = {"id": obj["id"]} if "id" in obj else {"line": number}
        try:
            a, b, vars_ = obj.get("a"), obj.get("b"), obj.get("vars", [])
            if not isinstance(a, str) or not isinstance(b, str):
                raise UsageError("each line needs the expressions 'a' and 'b' as strings")
            if isinstance(vars_, dict):
                vars_ = [f"{k}:{d}" for k, d in vars_.items()]
            if not isinstance(vars_, list):
                raise UsageError("'vars' must be a list of names (or a name -> domain object)")
            out = check_pair(a, b, vars_).to_json()
        except (ParseError, UsageError) as exc:
            side = f"cannot read {exc.side}: " if isinstance(exc, ParseError) and exc.side else ""
            yield {**extra, **head, "verdict": "error", "error": side + str(exc),
                   "seconds": round(time.perf_counter() - started, 6)}
            continue
        yield {**extra, **head, **out}


#: ``grader equiv`` exit statuses by verdict (undecided has its own, apart from the internal-error 3)
EXIT_FOR = {"equivalent": EXIT_OK, "not_equivalent": EXIT_BELOW, "undecided": EXIT_UNDECIDED}


@dataclass(frozen=True)
class EquivOptions:
    """``grader equiv``: two expressions A and B, or a JSON-lines file of pairs; checked on construction."""

    a: str | None = None
    b: str | None = None
    variables: tuple[str, ...] = ()
    as_json: bool = False
    jsonl: TextIO | None = None

    def __post_init__(self) -> None:
        if self.jsonl is not None and (self.a is not None or self.b is not None):
            raise UsageError("give either A and B or --jsonl FILE, not both")
        if self.jsonl is None and (self.a is None or self.b is None):
            raise UsageError("give two expressions A and B (or --jsonl FILE)")


def check_options(options: EquivOptions) -> PairReport:
    """``check_pair`` on the command line's A and B; an unreadable side is a UsageError that names it."""
    assert options.a is not None and options.b is not None  # EquivOptions checked that
    try:
        return check_pair(options.a, options.b, options.variables)
    except ParseError as exc:  # the side comes from the parser: the text in exc may be cut short
        raise UsageError(f"cannot read {exc.side.upper() or 'the input'}: {exc}") from None
