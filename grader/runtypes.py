"""What a sandboxed run is asked and what it answers, as plain values (no processes, no files).

``Limits`` and ``Call`` go into a run, ``RunResult`` with one ``CallOutcome`` per
call comes out. The checks in :mod:`grader.checks` read these and nothing else
of the sandbox, so they can be tested without starting a process. Which limit
stopped a call, and how that is told to the learner, is decided here once:
:meth:`CallOutcome.from_event` for a call the child reported on, and
:meth:`CallOutcome.stopped` for a call whose process died or hung.
"""

from __future__ import annotations

import signal
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from .results import ErrorInfo, SourceLine

OutcomeStatus = Literal["ok", "error", "missing", "timeout", "crashed", "not_run", "import_error"]
#: why a child stopped, as the run loop saw it
StopReason = Literal["exited", "timeout", "too_much_output"]


@dataclass(frozen=True)
class Limits:
    """Resource limits for one learner process; per run, overridable per item."""

    wall_seconds: float = 10.0  # per call; caps each item's own timeout
    import_seconds: float = 10.0
    startup_seconds: float = 60.0
    cpu_seconds: int = 60
    memory_bytes: int = 1 << 30
    file_bytes: int = 16 << 20
    open_files: int = 64
    output_bytes: int = 64 << 10
    result_bytes: int = 128 << 20
    processes: int = 32  # processes/threads the learner may start (see isolation.process_limit)
    scratch_bytes: int = 64 << 20  # size of the scratch tmpfs (bwrap mode)
    sandbox: str = "auto"  # auto | bwrap | rlimits, see grader.isolation

    def wall_for(self, timeout: float) -> float:
        """The wall-clock budget of a call asking for ``timeout``: never more than ``wall_seconds``."""
        return min(timeout, self.wall_seconds)

    def rlimits(self) -> dict[str, int]:
        """The per-process resource limits as plain data (what ``isolation.apply_rlimits`` sets)."""
        return {"memory_bytes": self.memory_bytes, "cpu_seconds": self.cpu_seconds,
                "file_bytes": self.file_bytes, "open_files": self.open_files, "processes": self.processes}


@dataclass(frozen=True)
class Call:
    """One call of a learner function: arguments already wire-encoded.

    An argument may be ``{"t": "ref", "id": other_call_id, "key": k}`` to pass
    the learner's own earlier result (error carried forward).
    """

    id: str
    function: str
    args: tuple[Any, ...] = ()
    forbid: tuple[str, ...] = ()
    timeout: float = 10.0
    report_args: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "function": self.function, "args": list(self.args),
                "forbid": list(self.forbid), "timeout": self.timeout, "report_args": self.report_args}


def _size(n: int) -> str:
    return f"{n / (1 << 30):g} GiB" if n >= 1 << 30 else f"{n / (1 << 20):g} MiB"


def error_info(raw: Any, limits: Limits) -> ErrorInfo:
    """A learner exception record from the child, with the limit it comes from named (MemoryError, EFBIG...)."""
    if not isinstance(raw, dict):
        return ErrorInfo("Error", "the learner's process sent a malformed error")
    frames = []
    for fr in raw.get("frames", [])[:20] if isinstance(raw.get("frames"), list) else []:
        if isinstance(fr, dict):
            lineno = fr.get("lineno")
            frames.append(SourceLine(int(lineno) if isinstance(lineno, int) else 0,
                                     str(fr.get("function", ""))[:100], str(fr.get("text", ""))[:300]))
    err = ErrorInfo(str(raw.get("type", "Error"))[:100], str(raw.get("message", ""))[:2000], tuple(frames))
    if err.type.endswith("MemoryError"):
        return ErrorInfo("MemoryError", f"used more than {_size(limits.memory_bytes)} of memory", err.frames)
    if "[Errno 27]" in err.message:
        return ErrorInfo(err.type, f"wrote a file larger than {_size(limits.file_bytes)} (the limit)", err.frames)
    if "[Errno 28]" in err.message:
        return ErrorInfo(err.type, f"filled its {_size(limits.scratch_bytes)} scratch space", err.frames)
    return err


def stop_reason(why: StopReason, code: int | None, limits: Limits,
                wall: float | None = None) -> tuple[OutcomeStatus, ErrorInfo]:
    """Why a learner process stopped without reporting a result: the limit that fired, or how it died.

    ``code`` is the exit status as ``Popen.returncode`` gives it (negative: killed by that signal).
    """
    if why == "timeout":
        limit = f"{wall:g} s" if wall is not None else "its time limit"
        return "timeout", ErrorInfo("Timeout", f"stopped after {limit} of wall-clock time "
                                               f"(it did not respond to the alarm)")
    if why == "too_much_output":
        return "crashed", ErrorInfo("OutputLimit", f"stopped: it sent back more than {limits.result_bytes >> 20} MiB")
    if code is not None and code < 0:
        sig = -code
        if sig == signal.SIGXCPU:
            return "timeout", ErrorInfo("CPULimit", f"stopped after {limits.cpu_seconds} s of CPU time")
        if sig == signal.SIGXFSZ:
            return "crashed", ErrorInfo("FileLimit",
                                        f"stopped: it wrote a file larger than {limits.file_bytes >> 20} MiB")
        name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else str(sig)
        return "crashed", ErrorInfo("Killed", f"the process was killed by {name} (out of memory or a crash)")
    if code is None:
        return "crashed", ErrorInfo("SandboxError", "the sandbox could not run it "
                                                    "(its process could not be started or watched)")
    return "crashed", ErrorInfo("ProcessExit", f"the process exited (status {code}) before returning")


@dataclass(frozen=True)
class CallOutcome:
    """What happened to one call; ``value`` is a wire value, not yet decoded."""

    call_id: str
    status: OutcomeStatus
    value: Any = None
    error: ErrorInfo | None = None
    used_forbidden: tuple[str, ...] = ()
    args_after: tuple[Any, ...] | None = None
    seconds: float = 0.0
    #: warnings raised during the call, ``Category: message (line N)`` (np.exp overflow...)
    warnings: tuple[str, ...] = ()

    @classmethod
    def from_event(cls, ev: Mapping[str, Any], limits: Limits) -> CallOutcome:
        """The outcome a child reported in a ``done`` event (see :mod:`grader._child`), trusting only its shape."""
        cid = str(ev.get("id"))
        raw_used = ev.get("used")
        used = tuple(u for u in (raw_used if isinstance(raw_used, list) else []) if isinstance(u, str))[:10]
        secs = float(ev["seconds"]) if isinstance(ev.get("seconds"), (int, float)) else 0.0
        if ev.get("ok"):
            raw_warned = ev.get("warnings")
            warned = raw_warned if isinstance(raw_warned, list) else []
            warns = tuple(w[:300] for w in warned if isinstance(w, str))[:5]
            after = ev.get("args_after")
            return cls(cid, "ok", ev.get("value"), None, used, tuple(after) if isinstance(after, list) else None,
                       secs, warns)
        status: OutcomeStatus = "missing" if ev.get("missing") else "timeout" if ev.get("timeout") else "error"
        return cls(cid, status, None, error_info(ev.get("error"), limits), used, None, secs)

    @classmethod
    def stopped(cls, call_id: str, why: StopReason, code: int | None, limits: Limits,
                wall: float | None = None) -> CallOutcome:
        """The outcome of a call whose process died or hung before it reported (see :func:`stop_reason`)."""
        status, err = stop_reason(why, code, limits, wall)
        return cls(call_id, status, error=err)


@dataclass(frozen=True)
class RunResult:
    """Everything the child process reported, as plain data."""

    outcomes: Mapping[str, CallOutcome]
    import_error: ErrorInfo | None = None
    stdout: str = ""
    stderr: str = ""
    mode: str = "rlimits"
    seconds: float = 0.0
    notes: tuple[str, ...] = field(default_factory=tuple)
