"""A pool that grades many submissions with one sandbox: SymPy and NumPy are imported once.

``SandboxPool`` starts ``grader._zygote`` (inside bubblewrap when available, as
PID 1 of its PID namespace) and runs each submission in a fresh fork of it,
never in a process that ran learner code before::

    with SandboxPool(Limits(), mode="auto") as pool:
        result = grade_file(path, exercise, limits, runner=pool.run)

Between two submissions the zygote kills every other process it can reach and
wipes the scratch directory; if it cannot (or dies), the pool starts a new one.
One pool serves one thread; a batch runs one pool per worker.
"""

from __future__ import annotations

import os
import socket
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import isolation, launcher
from ._zygote import recv, send
from .errors import GraderError
from .runtypes import Call, Limits, RunResult
from .sandbox import Starter, run_with


class PoolError(GraderError):
    """The fork server could not be started (the message says why)."""


class _Forked:
    """One learner process forked by the zygote, seen through the pipes it handed over."""

    def __init__(self, pool: SandboxPool, fds: list[int]) -> None:
        self.pool, self.fds = pool, (fds[0], fds[1], fds[2])
        self.killed = False

    def kill(self) -> None:
        if not self.killed and self.pool._sock is not None:
            self.killed = True
            try:
                send(self.pool._sock, {"kill": True})
            except OSError:
                self.pool._discard()

    def wait(self) -> int | None:
        sock = self.pool._sock
        if sock is None:
            return None
        msg = None
        # its streams are closed, so it is exiting; if it closed them itself and lingers, kill it
        for patience in (2.0, 10.0):
            sock.settimeout(patience)
            try:
                msg, _ = recv(sock)
                break
            except TimeoutError:
                self.kill()
            except (OSError, ValueError):
                break
        if self.pool._sock is not None:
            sock.settimeout(None)
        if not isinstance(msg, dict) or not msg.get("clean"):
            self.pool._discard()
        return msg.get("status") if isinstance(msg, dict) and isinstance(msg.get("status"), int) else None


class SandboxPool:
    """Context-managed fork server; ``pool.run`` has the signature of :func:`grader.sandbox.run_calls`."""

    def __init__(self, limits: Limits | None = None, mode: str | None = None) -> None:
        self.limits = limits or Limits()
        self.mode = isolation.resolve_mode(mode or self.limits.sandbox)
        self._launched: launcher.Launched | None = None
        self._sock: socket.socket | None = None
        self._learner: int | None = None  # host pid of the learner being run (rlimits mode), pinned for reaping
        self.started = 0  # zygotes started so far (a new one after a dirty or dead one)

    @property
    def _proc(self) -> subprocess.Popen[bytes] | None:
        """The first process of the current sandbox (bwrap's, or the zygote itself in rlimits mode)."""
        return self._launched.proc if self._launched is not None else None

    def __enter__(self) -> SandboxPool:
        self._start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _start(self) -> None:
        parent_sock, child_sock = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        with tempfile.TemporaryFile() as errors:
            try:
                # the zygote and the one learner it runs at a time share one memory and process budget
                self._launched = launcher.launch(
                    "grader._zygote", [str(child_sock.fileno())], self.limits, self.mode, workdir_arg=True,
                    as_pid_1=True, pass_fds=[child_sock.fileno()], rlimits=None,
                    cgroup_memory=self.limits.memory_bytes + launcher.ZYGOTE_MEMORY,
                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=errors)
            finally:
                child_sock.close()
            self._sock = parent_sock
            parent_sock.settimeout(self.limits.startup_seconds)
            try:
                msg, _ = recv(parent_sock)
            except (OSError, ValueError):
                msg = None
            if not isinstance(msg, dict) or not msg.get("ready"):
                self._discard()
                errors.seek(0)
                tail = errors.read()[-500:].decode(errors="replace").strip()
                raise PoolError(f"the {self.mode} fork server did not start" + (f": {tail}" if tail else ""))
        parent_sock.settimeout(None)
        self.started += 1

    def _discard(self) -> None:
        """Forget the current zygote: kill it and wait for every process of its sandbox; the next run starts anew."""
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        if self._launched is not None:
            self._launched.close()
            self._launched = None
        self._learner = None

    def close(self) -> None:
        """Stop the zygote and everything in its sandbox."""
        self._discard()

    def _starter(self, source: str, name: str) -> Starter:
        def start(job: dict[str, Any], limits: Limits) -> _Forked | _Dead:
            rl, unprivileged = launcher.learner_rlimits(limits, self.mode, also_counted=1)  # + the zygote, same uid
            order = {"job": job, "limits": rl, "source": source, "name": name, "unprivileged": unprivileged}
            for _ in range(2):  # a zygote found dead is replaced once
                if self._sock is None or self._launched is None or self._launched.proc.poll() is not None:
                    self._discard()
                    self._start()
                assert self._sock is not None
                try:
                    send(self._sock, order)
                    self._sock.settimeout(limits.startup_seconds)
                    msg, fds = recv(self._sock, want_fds=3)
                except (OSError, ValueError):
                    msg, fds = None, []
                if isinstance(msg, dict) and len(fds) == 3:
                    self._sock.settimeout(None)
                    self._pin_learner(msg.get("pid"))
                    return _Forked(self, fds)
                for fd in fds:
                    os.close(fd)
                self._discard()
            return _Dead()

        return start

    def _pin_learner(self, pid: Any) -> None:
        """In rlimits mode the learner is a host process in its own session: pin it so a discard reaps it."""
        if self._launched is None:
            return
        if self._learner is not None:
            self._launched.unpin(self._learner)  # the zygote reaped the previous one
            self._learner = None
        if self.mode == "rlimits" and isinstance(pid, int) and pid > 0:
            self._launched.pin(pid)
            self._learner = pid

    def run(self, path: str | os.PathLike[str], calls: Sequence[Call], limits: Limits | None = None) -> RunResult:
        """Run ``calls`` against the learner file at ``path`` in a fresh fork (same contract as ``run_calls``)."""
        limits = limits or self.limits
        host = Path(path).resolve()
        source = host.read_bytes().decode("utf-8", errors="replace")
        return run_with(str(host), calls, limits, self._starter(source, host.name), self.mode)


class _Dead:
    """Stands for a child the zygote could not fork: empty streams, unknown status."""

    def __init__(self) -> None:
        pipes = [os.pipe() for _ in range(3)]
        for _, w in pipes:
            os.close(w)
        self.fds = (pipes[0][0], pipes[1][0], pipes[2][0])

    def kill(self) -> None:
        pass

    def wait(self) -> int | None:
        return None

