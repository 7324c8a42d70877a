"""Stage items (``@stage``): one step of a multi-stage computation, judged on every case of it.

What a stage is follows from its spec: ``gradient_of=`` makes it a gradient
(:mod:`.stage_gradient`: against the reference and against finite differences
of the learner's own scalar), ``update_of=`` an update step
(:mod:`.stage_update`: must match and decrease the scalar for a small step); a
stage whose reference returns one number is a scalar (:mod:`.stage_values`),
anything else is compared value by value, key by key (:mod:`.stage_values`).
Every stage is also judged on the learner's own earlier outputs along the
declared dependencies (``after``, ``given``, ``follows``), so one slip is charged
once, and every call reports its arguments back so in-place changes of arrays and
containers are caught (the one rule of :mod:`.in_place`).

Evidence keys (``ItemResult.evidence``, plain JSON data for the reports): ``cases``
(per case: sizes, ``lam``, ``large``), ``keys`` (per output key: ``ok``,
``carried_forward`` or ``wrong``), ``first_wrong``, ``diagnoses``, ``factors``,
``error_maps`` with ``map_case`` and ``rtol``, ``fd_error_maps`` with ``fd_rtol``,
``loss_consistent``, ``first_wrong_step``, ``values``/``expected`` (scalars),
``descent``/``own_gradients`` (updates), ``modified``.
"""

from __future__ import annotations

import warnings
from functools import lru_cache
from typing import Any

import numpy as np

from ..results import ItemResult
from ..runtypes import Call, RunResult
from ..spec import StageItem
from . import stage_gradient, stage_update, stage_values
from .common import outcome_problem
from .stage_cases import arg_names, args_wire, call_reference, cases_of


@lru_cache(maxsize=64)
def role(item: StageItem) -> str:
    """``gradient``, ``update``, ``scalar`` or ``values``: how the stage is judged."""
    if item.gradient_of is not None:
        return "gradient"
    if item.update_of is not None:
        return "update"
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = call_reference(item.reference, cases_of(item.net)[0])
    return "scalar" if isinstance(out, (int, float, np.floating, np.integer)) or \
        (isinstance(out, np.ndarray) and out.ndim == 0) else "values"


def calls(item: StageItem) -> list[Call]:
    """The stage on every case (arguments reported back), then what its role needs besides."""
    kind = role(item)
    if kind == "update":
        return stage_update.calls(item)
    out = [Call(f"{item.name}#{i}", item.name, args_wire(item.net, i, arg_names(item.reference)),
                timeout=item.timeout, report_args=True) for i in range(len(cases_of(item.net)))]
    if kind == "gradient":
        out += stage_gradient.fd_calls(item)
    return out


def check(item: StageItem, run: RunResult, exercise: str) -> ItemResult:
    """Judge one stage (see the module docstring)."""
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # NaN or inf from the learner must not turn into warnings here
        kind = role(item)
        if kind == "update":
            return stage_update.check(item, run, exercise)
        for i in range(len(cases_of(item.net))):
            problem = outcome_problem(item, exercise, run.outcomes.get(f"{item.name}#{i}"))
            if problem:
                return problem
        checks: dict[str, Any] = {"gradient": stage_gradient.check, "scalar": stage_values.check_scalar,
                                  "values": stage_values.check_values}
        return checks[kind](item, run, exercise)
