"""The class summary page: where a class struggles, built from the gradebook (pure; no I/O).

:class:`ClassSummary` is the whole context of ``templates/class.html``: the
distribution of learners' totals, each item's success rate, the most common
diagnosed mistakes with counts and an example answer (never a learner's
name), and the submissions that errored or ran out of time.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from .. import __version__
from ..catalogue import Exercise
from ..gradebook import ERROR_DIAGNOSES, TIMEOUT_DIAGNOSES, StoredSubmission, now
from ..layouts import Unmatched
from .csv import handed_in

#: diagnoses counted as "not attempted" in the item table rather than as mistakes
NOT_ATTEMPTED = frozenset({"not_attempted", "missing_function", "missing_answer"})
NOT_MISTAKES = NOT_ATTEMPTED | ERROR_DIAGNOSES | TIMEOUT_DIAGNOSES


@dataclass(frozen=True)
class ExerciseStats:
    """How one exercise went across the class."""

    exercise: str
    title: str
    submissions: int
    mean_percent: float
    problems: int


@dataclass(frozen=True)
class Bin:
    """One bar of the score distribution."""

    label: str
    count: int
    share: float  # of the largest bar, 0..100, for the bar's width


@dataclass(frozen=True)
class ItemRate:
    """How one item went across the class."""

    exercise: str
    item: str
    title: str
    submitted: int
    passed: int
    not_attempted: int
    mean_points: float
    max_points: float

    @property
    def rate(self) -> float:
        """Percentage of submissions that passed the item."""
        return 100.0 * self.passed / self.submitted if self.submitted else 0.0


@dataclass(frozen=True)
class CommonMistake:
    """A diagnosed mistake, how many made it, and one example answer (anonymised)."""

    exercise: str
    item: str
    diagnosis: str
    count: int
    feedback: str
    example: str | None


@dataclass(frozen=True)
class Problem:
    """A submission whose code did not run to the end."""

    learner: str
    exercise: str
    status: str
    problem: str


@dataclass(frozen=True)
class ClassSummary:
    """Everything class.html shows."""

    generated_at: str
    version: str
    learners: int
    submissions: int
    max_total: float
    mean_percent: float
    median_percent: float
    distribution: tuple[Bin, ...]
    exercises: tuple[ExerciseStats, ...]
    items: tuple[ItemRate, ...]
    mistakes: tuple[CommonMistake, ...]
    problems: tuple[Problem, ...]
    unmatched: tuple[Unmatched, ...]


def _distribution(percents: Sequence[float], bins: int = 10) -> tuple[Bin, ...]:
    counts = [0] * bins
    for p in percents:
        counts[min(int(p // (100 / bins)), bins - 1)] += 1
    top = max(counts) or 1
    step = 100 // bins
    return tuple(Bin(f"{i * step}–{(i + 1) * step}%" if i < bins - 1 else f"{i * step}–100%", c, 100.0 * c / top)
                 for i, c in enumerate(counts))


def _item_rates(stored: Sequence[StoredSubmission], used: Sequence[Exercise]) -> tuple[ItemRate, ...]:
    rates = []
    for ex in used:
        results = [s.result for s in stored if s.exercise == ex.name]
        for it in ex.items:
            got = [i for r in results for i in r.items if i.item == it.name]
            rates.append(ItemRate(ex.name, it.name, it.title, len(got), sum(i.status == "passed" for i in got),
                                  sum(i.diagnosis in NOT_ATTEMPTED for i in got),
                                  statistics.fmean([i.points for i in got]) if got else 0.0, it.points))
    return tuple(rates)


def _exercise_stats(stored: Sequence[StoredSubmission], used: Sequence[Exercise]) -> tuple[ExerciseStats, ...]:
    out = []
    for ex in used:
        subs = [s for s in stored if s.exercise == ex.name]
        out.append(ExerciseStats(ex.name, ex.title, len(subs),
                                 statistics.fmean([s.result.percent for s in subs]) if subs else 0.0,
                                 sum(s.status != "ok" for s in subs)))
    return tuple(out)


def _mistakes(stored: Sequence[StoredSubmission], limit: int) -> tuple[CommonMistake, ...]:
    groups: dict[tuple[str, str, str], list[tuple[str, str | None]]] = {}
    for s in stored:
        for it in s.result.items:
            if it.status == "passed" or not it.diagnosis or it.diagnosis in NOT_MISTAKES:
                continue
            groups.setdefault((it.exercise, it.item, it.diagnosis), []).append((it.feedback, it.answer))
    out = []
    for (ex, item, diag), seen in groups.items():
        feedback = Counter(f for f, _ in seen).most_common(1)[0][0]
        answers = Counter(a for _, a in seen if a)
        # the most frequent answer is the least identifying example
        out.append(CommonMistake(ex, item, diag, len(seen), feedback,
                                 answers.most_common(1)[0][0] if answers else None))
    out.sort(key=lambda m: (-m.count, m.exercise, m.item, m.diagnosis))
    return tuple(out[:limit])


def build(stored: Sequence[StoredSubmission], exercises: Sequence[Exercise],
          unmatched: Sequence[Unmatched] = (), top_mistakes: int = 20) -> ClassSummary:
    """The class summary for the stored submissions."""
    used = handed_in(stored, exercises)
    max_total = sum(ex.max_points for ex in used)
    totals: dict[str, float] = {}
    for s in stored:
        totals[s.learner] = totals.get(s.learner, 0.0) + s.result.score
    percents = [100.0 * t / max_total if max_total else 100.0 for t in totals.values()]
    problems = tuple(Problem(s.learner, s.exercise, s.status, s.problem or "")
                     for s in stored if s.status != "ok")
    return ClassSummary(
        generated_at=now(), version=__version__, learners=len(totals), submissions=len(stored),
        max_total=max_total,
        mean_percent=statistics.fmean(percents) if percents else 0.0,
        median_percent=statistics.median(percents) if percents else 0.0,
        distribution=_distribution(percents), exercises=_exercise_stats(stored, used),
        items=_item_rates(stored, used),
        mistakes=_mistakes(stored, top_mistakes), problems=problems, unmatched=tuple(unmatched))


def render(summary: ClassSummary) -> str:
    """summary.html as text."""
    from .html import environment

    return environment().get_template("class.html").render(s=summary, version=summary.version)
