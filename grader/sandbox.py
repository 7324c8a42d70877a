"""Run a learner's module in a child process with limits, and collect plain results.

``run_calls(path, calls, limits)`` starts ``grader._child`` in a fresh process
(own session, scrubbed environment, empty working directory, closed stdin,
resource limits), streams the calls' results back as JSON lines, kills the
whole process group when a call overruns its wall-clock budget, and restarts
after a call that killed the process so the remaining items are still graded.
Values come back still encoded (wire values); the checks decode them strictly.
"""

from __future__ import annotations

import json
import os
import resource
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Mapping, Sequence

from .results import ErrorInfo, SourceLine

OutcomeStatus = Literal["ok", "error", "missing", "timeout", "crashed", "not_run", "import_error"]
PACKAGE_ROOT = str(Path(__file__).resolve().parent.parent)


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


def _error_info(raw: Any) -> ErrorInfo:
    if not isinstance(raw, dict):
        return ErrorInfo("Error", "the learner's process sent a malformed error")
    frames = []
    for fr in raw.get("frames", [])[:20] if isinstance(raw.get("frames"), list) else []:
        if isinstance(fr, dict):
            frames.append(SourceLine(int(fr.get("lineno", 0) or 0) if isinstance(fr.get("lineno"), int) else 0,
                                     str(fr.get("function", ""))[:100], str(fr.get("text", ""))[:300]))
    return ErrorInfo(str(raw.get("type", "Error"))[:100], str(raw.get("message", ""))[:2000], tuple(frames))


def _limit_child(limits: Limits) -> None:
    """preexec hook: resource limits in the child before it runs Python."""
    pairs = [
        (resource.RLIMIT_AS, limits.memory_bytes),
        (resource.RLIMIT_CPU, limits.cpu_seconds),
        (resource.RLIMIT_FSIZE, limits.file_bytes),
        (resource.RLIMIT_NOFILE, limits.open_files),
        (resource.RLIMIT_CORE, 0),
    ]
    for which, value in pairs:
        try:
            resource.setrlimit(which, (value, value))
        except (ValueError, OSError):
            pass


def _child_env(workdir: str) -> dict[str, str]:
    return {
        "PATH": "/usr/bin:/bin",
        "HOME": workdir,
        "TMPDIR": workdir,
        "LANG": "C.UTF-8",
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
    }


class _Capped:
    def __init__(self, cap: int) -> None:
        self.cap, self.data, self.dropped = cap, bytearray(), 0

    def add(self, chunk: bytes) -> None:
        room = self.cap - len(self.data)
        self.data += chunk[: max(room, 0)]
        self.dropped += max(len(chunk) - max(room, 0), 0)

    def text(self) -> str:
        out = self.data.decode("utf-8", "replace")
        return out + (f"\n[... {self.dropped} more bytes not kept]" if self.dropped else "")


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()


def _run_once(path: str, calls: Sequence[Call], limits: Limits, workdir: str,
              stdout: _Capped, stderr: _Capped) -> tuple[list[dict[str, Any]], str, int | None]:
    """Start one child, feed it the job; return (events, why it stopped, exit code)."""
    jobs = [dict(c.to_json(), timeout=min(c.timeout, limits.wall_seconds)) for c in calls]
    job = {"path": path, "module": Path(path).stem, "calls": jobs,
           "import_timeout": limits.import_seconds, "drop_path": PACKAGE_ROOT, "workdir": workdir}
    rfd, wfd = os.pipe()
    boot = f"import sys; sys.path.insert(0, {PACKAGE_ROOT!r}); from grader._child import main; main()"
    proc = subprocess.Popen(
        [sys.executable, "-I", "-c", boot, str(wfd)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        pass_fds=(wfd,), cwd=workdir, env=_child_env(workdir), start_new_session=True,
        preexec_fn=lambda: _limit_child(limits),  # noqa: PLW1509 - limits must be set in the child
    )
    os.close(wfd)
    assert proc.stdin and proc.stdout and proc.stderr
    try:
        proc.stdin.write(json.dumps(job).encode())
        proc.stdin.close()
    except BrokenPipeError:
        pass
    sel = selectors.DefaultSelector()
    result_pipe = os.fdopen(rfd, "rb", buffering=0)
    sel.register(result_pipe, selectors.EVENT_READ, "result")
    sel.register(proc.stdout, selectors.EVENT_READ, "stdout")
    sel.register(proc.stderr, selectors.EVENT_READ, "stderr")
    timeouts = {c.id: min(c.timeout, limits.wall_seconds) for c in calls}
    events: list[dict[str, Any]] = []
    pending, got_bytes, why = b"", 0, "exited"
    deadline = time.monotonic() + limits.startup_seconds
    open_streams = 3
    try:
        while open_streams:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                why = "timeout"
                break
            for key, _ in sel.select(timeout=min(remaining, 0.5)):
                chunk = os.read(key.fileobj.fileno(), 65536)  # type: ignore[union-attr]
                if not chunk:
                    sel.unregister(key.fileobj)
                    open_streams -= 1
                    continue
                if key.data == "stdout":
                    stdout.add(chunk)
                elif key.data == "stderr":
                    stderr.add(chunk)
                else:
                    got_bytes += len(chunk)
                    if got_bytes > limits.result_bytes:
                        why = "too_much_output"
                        open_streams = 0
                        break
                    pending += chunk
                    *lines, pending = pending.split(b"\n")
                    for line in lines:
                        try:
                            ev = json.loads(line)
                        except ValueError:
                            continue
                        if not isinstance(ev, dict):
                            continue
                        events.append(ev)
                        kind = ev.get("ev")
                        now = time.monotonic()
                        if kind == "ready":
                            deadline = now + limits.import_seconds + 2
                        elif kind == "start":
                            deadline = now + float(timeouts.get(ev.get("id"), limits.wall_seconds)) + 2
                        elif kind in ("import", "done"):
                            deadline = now + limits.import_seconds + 2
    finally:
        if why != "exited" or proc.poll() is None:
            _kill_group(proc)
        else:
            proc.wait()
            _kill_group(proc)  # leftover grandchildren in the group
        result_pipe.close()
        proc.stdout.close()
        proc.stderr.close()
        sel.close()
    return events, why, proc.returncode


def _death_message(why: str, code: int | None, limits: Limits) -> tuple[OutcomeStatus, str, str]:
    if why == "timeout":
        return "timeout", "Timeout", "stopped: it ran past its time limit"
    if why == "too_much_output":
        return "crashed", "OutputLimit", f"stopped: it sent back more than {limits.result_bytes >> 20} MiB"
    if code is not None and code < 0:
        sig = -code
        if sig == signal.SIGXCPU:
            return "timeout", "CPULimit", f"stopped after {limits.cpu_seconds} s of CPU time"
        if sig == signal.SIGXFSZ:
            return "crashed", "FileLimit", f"stopped: it wrote a file larger than {limits.file_bytes >> 20} MiB"
        name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else str(sig)
        return "crashed", "Killed", f"the process was killed by {name} (out of memory or a crash)"
    return "crashed", "ProcessExit", f"the process exited (status {code}) before returning"


def run_calls(path: str | os.PathLike[str], calls: Sequence[Call], limits: Limits | None = None) -> RunResult:
    """Import the learner file at ``path`` in a sandboxed child and make ``calls``.

    A call that kills or hangs the child is charged to that call alone: a new
    child is started for the calls after it.
    """
    limits = limits or Limits()
    path = str(Path(path).resolve())
    started = time.monotonic()
    stdout, stderr = _Capped(limits.output_bytes), _Capped(limits.output_bytes)
    outcomes: dict[str, CallOutcome] = {}
    notes: list[str] = []
    remaining = list(calls)
    import_error: ErrorInfo | None = None
    workdir = tempfile.mkdtemp(prefix="grader-run-")
    try:
        while True:
            events, why, code = _run_once(path, remaining, limits, workdir, stdout, stderr)
            imported, current = False, None
            for ev in events:
                kind = ev.get("ev")
                if kind == "import":
                    imported = bool(ev.get("ok"))
                    if not imported:
                        import_error = _error_info(ev.get("error"))
                elif kind == "start":
                    current = ev.get("id")
                elif kind == "done" and isinstance(ev.get("id"), str):
                    cid = ev["id"]
                    used = tuple(str(u) for u in ev.get("used", []) if isinstance(u, str))[:10]
                    secs = float(ev["seconds"]) if isinstance(ev.get("seconds"), (int, float)) else 0.0
                    warned = ev.get("warnings") if isinstance(ev.get("warnings"), list) else []
                    warns = tuple(str(w)[:300] for w in warned if isinstance(w, str))[:5]
                    if ev.get("ok"):
                        after = ev.get("args_after")
                        outcomes[cid] = CallOutcome(cid, "ok", ev.get("value"), None, used,
                                                    tuple(after) if isinstance(after, list) else None, secs,
                                                    warns)
                    else:
                        status: OutcomeStatus = ("missing" if ev.get("missing") else
                                                 "timeout" if ev.get("timeout") else "error")
                        outcomes[cid] = CallOutcome(cid, status, None, _error_info(ev.get("error")), used, None, secs)
                    current = None
            if import_error is not None:
                for c in remaining:
                    outcomes.setdefault(c.id, CallOutcome(c.id, "import_error", error=import_error))
                break
            if not imported:
                status, etype, msg = _death_message(why, code, limits)
                import_error = ErrorInfo(etype, msg.replace("stopped", "stopped while importing the file", 1)
                                         if msg.startswith("stopped") else msg + " (while importing the file)")
                for c in remaining:
                    outcomes.setdefault(c.id, CallOutcome(c.id, "import_error", error=import_error))
                break
            remaining = [c for c in remaining if c.id not in outcomes]
            if current is not None and current not in outcomes:
                status, etype, msg = _death_message(why, code, limits)
                outcomes[current] = CallOutcome(current, status, error=ErrorInfo(etype, msg))
                notes.append(f"{current}: {msg}")
                remaining = [c for c in remaining if c.id != current]
            elif remaining:
                # the child stopped between calls without saying why: do not loop forever
                status, etype, msg = _death_message(why, code, limits)
                for c in remaining:
                    outcomes[c.id] = CallOutcome(c.id, "not_run", error=ErrorInfo(etype, msg))
                remaining = []
            if not remaining:
                break
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return RunResult(outcomes, import_error, stdout.text(), stderr.text(), "rlimits",
                     time.monotonic() - started, tuple(notes))
