"""Run a learner's module in a child process with limits, and collect plain results.

``run_calls(path, calls, limits)`` starts ``grader._child`` in a fresh process
through :mod:`grader.launcher` (own session, scrubbed environment, empty working
directory, closed stdin, resource limits; inside bubblewrap when
``grader.isolation`` finds it works), streams the calls' results back as JSON
lines, kills the whole sandbox when a call overruns its wall-clock budget, and
restarts after a call that killed the process so the remaining items are still
graded. Values come back still encoded (wire values); the checks decode them
strictly. The run types themselves live in :mod:`grader.runtypes`.
"""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

from . import isolation, launcher
from ._child import skipped_after_timeout
from .errors import GraderError
from .results import ErrorInfo
from .runtypes import Call, CallOutcome, Limits, RunResult, StopReason, error_info, stop_reason

__all__ = ["Started", "Starter", "fresh_starter", "run_calls", "run_with"]

PACKAGE_ROOT = isolation.PACKAGE_ROOT


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


class _Fresh:
    """A fresh interpreter (inside bubblewrap in bwrap mode) for one job, started by :mod:`grader.launcher`."""

    def __init__(self, job: dict[str, Any], limits: Limits, mode: str, host_path: str) -> None:
        rfd, wfd = os.pipe()
        try:
            self.launched = launcher.launch(
                "grader._child", [str(wfd)], limits, mode, pass_fds=[wfd], submission=host_path,
                rlimits=launcher.learner_rlimits(limits, mode, startup_cpu=launcher.STARTUP_CPU_SECONDS),
                cgroup_memory=limits.memory_bytes + launcher.CGROUP_HEADROOM)
        except BaseException:
            os.close(rfd)
            raise
        finally:
            os.close(wfd)
        proc = self.launched.proc
        dups: list[int] = []
        try:  # the launch is ours now: if handing it the job fails, nothing of it may go on unwatched
            job = dict(job, path=self.launched.submission, workdir=self.launched.workdir)
            assert proc.stdin and proc.stdout and proc.stderr
            try:
                proc.stdin.write(json.dumps(job).encode())
                proc.stdin.close()
            except BrokenPipeError:
                pass
            dups.append(os.dup(proc.stdout.fileno()))
            dups.append(os.dup(proc.stderr.fileno()))
        except BaseException:
            for fd in [*dups, rfd]:
                os.close(fd)
            self.launched.close()
            for stream in (proc.stdin, proc.stdout, proc.stderr):
                if stream is not None:
                    try:
                        stream.close()
                    except OSError:
                        pass
            raise
        self.fds = (dups[0], dups[1], rfd)
        proc.stdout.close()
        proc.stderr.close()

    def kill(self) -> None:
        self.launched.kill()

    def wait(self) -> int | None:
        try:
            code = self.launched.wait(timeout=2)  # its streams are closed: it is exiting
        except subprocess.TimeoutExpired:  # it closed them itself and lingers
            self.launched.kill()
            code = self.launched.wait()
        self.launched.close()  # leftovers of the sandbox: killed and waited for
        return code


def fresh_starter(mode: str, host_path: str) -> Starter:
    """Start a new interpreter per job (the default runner's way)."""
    return lambda job, limits: _Fresh(job, limits, mode, host_path)


def _run_once(job: dict[str, Any], calls: Sequence[Call], limits: Limits, starter: Starter,
              stdout: _Capped, stderr: _Capped) -> tuple[list[dict[str, Any]], StopReason, int | None]:
    """Start one child, read its streams under the deadlines; return (events, why it stopped, exit code)."""
    timeouts = {c.id: limits.wall_for(c.timeout) for c in calls}
    job = dict(job, calls=[dict(c.to_json(), timeout=timeouts[c.id]) for c in calls])
    try:
        started = starter(job, limits)
    except (OSError, subprocess.SubprocessError, GraderError):  # fork failed, zygote gone: charged to no one
        return [], "exited", None
    sel = selectors.DefaultSelector()
    for fd, name in zip(started.fds, ("stdout", "stderr", "result")):
        sel.register(fd, selectors.EVENT_READ, name)
    events: list[dict[str, Any]] = []
    pending, got_bytes = b"", 0
    why: StopReason = "exited"
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
                            deadline = now + timeouts.get(str(ev.get("id")), limits.wall_seconds) + 2
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


def run_calls(path: str | os.PathLike[str], calls: Sequence[Call], limits: Limits | None = None) -> RunResult:
    """Import the learner file at ``path`` in a sandboxed child and make ``calls``.

    A call that kills or hangs the child is charged to that call alone: a new
    child is started for the calls after it.
    """
    limits = limits or Limits()
    path = str(Path(path).resolve())
    mode = isolation.resolve_mode(limits.sandbox)
    return run_with(path, calls, limits, fresh_starter(mode, path), mode)


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
                    import_error = error_info(ev.get("error"), limits)
            elif kind == "start":
                current = ev.get("id")
            elif kind == "done" and isinstance(ev.get("id"), str):
                outcome = CallOutcome.from_event(ev, limits)
                outcomes[outcome.call_id] = outcome
                current = None
        if import_error is not None:
            for c in remaining:
                outcomes.setdefault(c.id, CallOutcome(c.id, "import_error", error=import_error))
            break
        if not imported:
            _, err = stop_reason(why, code, limits)
            msg = err.message
            import_error = ErrorInfo(err.type, msg.replace("stopped", "stopped while importing the file", 1)
                                     if msg.startswith("stopped") else msg + " (while importing the file)")
            for c in remaining:
                outcomes.setdefault(c.id, CallOutcome(c.id, "import_error", error=import_error))
            break
        remaining = [c for c in remaining if c.id not in outcomes]
        by_id = {c.id: c for c in calls}
        if isinstance(current, str) and current not in outcomes:
            wall = limits.wall_for(by_id[current].timeout) if current in by_id else None
            stopped = CallOutcome.stopped(current, why, code, limits, wall)
            outcomes[current] = stopped
            notes.append(f"{current}: {stopped.error.message if stopped.error else ''}")
            remaining = [c for c in remaining if c.id != current]
            if stopped.status == "timeout" and current in by_id:  # the same function would hang on its other inputs
                hung = by_id[current].function
                skipped = ErrorInfo("Timeout", skipped_after_timeout(hung))
                for c in [c for c in remaining if c.function == hung]:
                    outcomes[c.id] = CallOutcome(c.id, "timeout", error=skipped)
                remaining = [c for c in remaining if c.function != hung]
        elif remaining:
            # the child stopped between calls without saying why: do not loop forever
            _, err = stop_reason(why, code, limits)
            for c in remaining:
                outcomes[c.id] = CallOutcome(c.id, "not_run", error=err)
            remaining = []
        if not remaining:
            break
    return RunResult(outcomes, import_error, stdout.text(), stderr.text(), mode,
                     time.monotonic() - started, tuple(notes))
