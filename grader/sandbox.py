"""Run a learner's module in a child process with limits, and collect plain results.

``run_calls(path, calls, limits)`` starts ``grader._child`` in a fresh process
(own session, scrubbed environment, empty working directory, closed stdin,
resource limits; inside bubblewrap when ``grader.isolation`` finds it works), streams the calls' results back as JSON lines, kills the
whole process group when a call overruns its wall-clock budget, and restarts
after a call that killed the process so the remaining items are still graded.
Values come back still encoded (wire values); the checks decode them strictly.
"""

from __future__ import annotations

import json
import os
import selectors
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from . import cgroup, isolation
from ._child import skipped_after_timeout
from .errors import GraderError
from .results import ErrorInfo, SourceLine

OutcomeStatus = Literal["ok", "error", "missing", "timeout", "crashed", "not_run", "import_error"]
PACKAGE_ROOT = isolation.PACKAGE_ROOT


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


def limits_dict(limits: Limits) -> dict[str, int]:
    """The rlimit values as plain data (the fork server receives them as JSON)."""
    return {"memory_bytes": limits.memory_bytes, "cpu_seconds": limits.cpu_seconds,
            "file_bytes": limits.file_bytes, "open_files": limits.open_files, "processes": limits.processes}


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


class Started(Protocol):
    """A running learner process as the reading loop sees it (a fresh child or a forked one)."""

    fds: tuple[int, int, int]  # stdout, stderr, results (read ends, owned by the caller)

    def kill(self) -> None:
        """Kill the process and every descendant."""

    def wait(self) -> int | None:
        """Its exit status as ``Popen.returncode`` gives it (negative: killed by that signal)."""


#: ``starter(job, limits) -> Started``; ``job`` is the JSON job of ``grader._child``
Starter = Callable[[dict[str, Any], Limits], Started]
_BOOT = "import sys; sys.path.insert(0, {root!r}); from grader._child import main; main()"
#: CPU seconds a fresh child may spend importing SymPy and NumPy before the learner's budget starts
STARTUP_CPU_SECONDS = 30
#: memory a sandbox's control group allows beyond one process's ``memory_bytes`` (page cache, bwrap)
CGROUP_HEADROOM = 256 << 20


class _Fresh:
    """A fresh interpreter (optionally inside bubblewrap) for one job."""

    def __init__(self, job: dict[str, Any], limits: Limits, mode: str, host_path: str) -> None:
        self.mode = mode
        rfd, wfd = os.pipe()
        inner = isolation.python_argv() + ["-c", _BOOT.format(root=isolation.PACKAGE_ROOT), str(wfd)]
        pass_fds = [wfd]
        if mode == "bwrap":
            inside = f"{isolation.SUBMISSION_DIR}/{Path(host_path).name}"
            job = dict(job, path=inside, workdir=isolation.SCRATCH)
            source_fd = os.open(host_path, os.O_RDONLY)
            pass_fds.append(source_fd)
            argv = isolation.bwrap_argv(inner, uid=isolation.next_uid(), scratch_bytes=limits.scratch_bytes,
                                        submission=(source_fd, inside))
            cwd, env = None, {"PATH": "/usr/bin:/bin"}
        else:
            self.workdir = tempfile.mkdtemp(prefix="grader-run-")
            job = dict(job, workdir=self.workdir)
            argv, cwd, env = inner, self.workdir, isolation.child_env(self.workdir)
        rl = limits_dict(limits)
        rl["cpu_seconds"] += STARTUP_CPU_SECONDS  # the child tightens it once SymPy/NumPy are imported
        nproc = isolation.process_limit(limits.processes, mode)
        unprivileged = nproc is not None
        rl["processes"] = nproc or 0
        # every process the learner starts shares one memory and process budget with this one
        self.cgroup = cgroup.create(limits.memory_bytes + CGROUP_HEADROOM, limits.processes + 8)
        group = self.cgroup

        def prepare() -> None:  # runs in the child before exec
            if group is not None:
                group.join()
            isolation.apply_rlimits(rl, unprivileged)

        try:
            self.proc = subprocess.Popen(
                argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                pass_fds=pass_fds, cwd=cwd, env=env, start_new_session=True,
                preexec_fn=prepare,  # noqa: PLW1509 - limits must be set in the child
            )
        except BaseException:  # nothing started: release what was made for it
            os.close(rfd)
            if group is not None:
                group.remove()
            if mode != "bwrap":
                shutil.rmtree(self.workdir, ignore_errors=True)
            raise
        finally:
            for fd in pass_fds:
                os.close(fd)
        assert self.proc.stdin and self.proc.stdout and self.proc.stderr
        try:
            self.proc.stdin.write(json.dumps(job).encode())
            self.proc.stdin.close()
        except BrokenPipeError:
            pass
        self.fds = (os.dup(self.proc.stdout.fileno()), os.dup(self.proc.stderr.fileno()), rfd)
        self.proc.stdout.close()
        self.proc.stderr.close()

    def kill(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    def wait(self) -> int | None:
        try:
            code = self.proc.wait(timeout=2)  # its streams are closed: it is exiting
        except subprocess.TimeoutExpired:  # it closed them itself and lingers
            self.kill()
            code = self.proc.wait()
        self.kill()  # leftover grandchildren in the group (bwrap mode: the PID namespace took them)
        if self.cgroup is not None:
            self.cgroup.remove()
        if self.mode == "bwrap" and code > 128:
            return -(code - 128)  # bwrap reports a signalled child as 128 + signal
        if self.mode != "bwrap":
            shutil.rmtree(self.workdir, ignore_errors=True)
        return code


def fresh_starter(mode: str, host_path: str) -> Starter:
    """Start a new interpreter per job (the default runner's way)."""
    return lambda job, limits: _Fresh(job, limits, mode, host_path)


def _run_once(job: dict[str, Any], calls: Sequence[Call], limits: Limits, starter: Starter,
              stdout: _Capped, stderr: _Capped) -> tuple[list[dict[str, Any]], str, int | None]:
    """Start one child, read its streams under the deadlines; return (events, why it stopped, exit code)."""
    job = dict(job, calls=[dict(c.to_json(), timeout=min(c.timeout, limits.wall_seconds)) for c in calls])
    try:
        started = starter(job, limits)
    except (OSError, subprocess.SubprocessError, GraderError):  # fork failed, zygote gone: charged to no one
        return [], "exited", None
    sel = selectors.DefaultSelector()
    for fd, name in zip(started.fds, ("stdout", "stderr", "result")):
        sel.register(fd, selectors.EVENT_READ, name)
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
                chunk = os.read(key.fd, 65536)
                if not chunk:
                    sel.unregister(key.fd)
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
        if why != "exited":
            started.kill()
        code = started.wait()
        sel.close()
        for fd in started.fds:
            os.close(fd)
    return events, why, code


def _death_message(why: str, code: int | None, limits: Limits, wall: float | None = None) -> tuple[OutcomeStatus, str, str]:
    if why == "timeout":
        limit = f"{wall:g} s" if wall is not None else "its time limit"
        return "timeout", "Timeout", f"stopped after {limit} of wall-clock time (it did not respond to the alarm)"
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
    if code is None:
        return "crashed", "SandboxError", "the sandbox could not run it (its process could not be started or watched)"
    return "crashed", "ProcessExit", f"the process exited (status {code}) before returning"


def run_calls(path: str | os.PathLike[str], calls: Sequence[Call], limits: Limits | None = None) -> RunResult:
    """Import the learner file at ``path`` in a sandboxed child and make ``calls``.

    A call that kills or hangs the child is charged to that call alone: a new
    child is started for the calls after it.
    """
    limits = limits or Limits()
    path = str(Path(path).resolve())
    mode = isolation.resolve_mode(limits.sandbox)
    return run_with(path, calls, limits, fresh_starter(mode, path), mode)


def _size(n: int) -> str:
    return f"{n / (1 << 30):g} GiB" if n >= 1 << 30 else f"{n / (1 << 20):g} MiB"


def _explain_limit(err: ErrorInfo, limits: Limits) -> ErrorInfo:
    """Say which limit a learner exception comes from (MemoryError, EFBIG, EAGAIN from fork)."""
    if err.type.endswith("MemoryError"):
        return ErrorInfo("MemoryError", f"used more than {_size(limits.memory_bytes)} of memory", err.frames)
    if "[Errno 27]" in err.message:
        return ErrorInfo(err.type, f"wrote a file larger than {_size(limits.file_bytes)} (the limit)", err.frames)
    if "[Errno 28]" in err.message:
        return ErrorInfo(err.type, f"filled its {_size(limits.scratch_bytes)} scratch space", err.frames)
    return err


def run_with(path: str, calls: Sequence[Call], limits: Limits, starter: Starter, mode: str) -> RunResult:
    """The run loop shared by fresh children and the fork server: restart after a fatal call."""
    started = time.monotonic()
    stdout, stderr = _Capped(limits.output_bytes), _Capped(limits.output_bytes)
    outcomes: dict[str, CallOutcome] = {}
    notes: list[str] = []
    remaining = list(calls)
    import_error: ErrorInfo | None = None
    job = {"path": path, "module": Path(path).stem, "import_timeout": limits.import_seconds,
           "drop_path": PACKAGE_ROOT, "cpu_seconds": limits.cpu_seconds}
    while True:
        events, why, code = _run_once(job, remaining, limits, starter, stdout, stderr)
        imported, current = False, None
        for ev in events:
            kind = ev.get("ev")
            if kind == "import":
                imported = bool(ev.get("ok"))
                if not imported:
                    import_error = _explain_limit(_error_info(ev.get("error")), limits)
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
                    err = _explain_limit(_error_info(ev.get("error")), limits)
                    outcomes[cid] = CallOutcome(cid, status, None, err, used, None, secs)
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
            wall = next((min(c.timeout, limits.wall_seconds) for c in calls if c.id == current), None)
            status, etype, msg = _death_message(why, code, limits, wall)
            outcomes[current] = CallOutcome(current, status, error=ErrorInfo(etype, msg))
            notes.append(f"{current}: {msg}")
            remaining = [c for c in remaining if c.id != current]
            if status == "timeout":  # the same function would hang again on its other inputs
                hung = next(c.function for c in calls if c.id == current)
                for c in [c for c in remaining if c.function == hung]:
                    outcomes[c.id] = CallOutcome(c.id, "timeout", error=ErrorInfo("Timeout", skipped_after_timeout(hung)))
                remaining = [c for c in remaining if c.function != hung]
        elif remaining:
            # the child stopped between calls without saying why: do not loop forever
            status, etype, msg = _death_message(why, code, limits)
            for c in remaining:
                outcomes[c.id] = CallOutcome(c.id, "not_run", error=ErrorInfo(etype, msg))
            remaining = []
        if not remaining:
            break
    return RunResult(outcomes, import_error, stdout.text(), stderr.text(), mode,
                     time.monotonic() - started, tuple(notes))
