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
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import cgroup, isolation
from ._zygote import recv, send
from .errors import GraderError
from .sandbox import Call, Limits, RunResult, Starter, limits_dict, run_with

#: memory the zygote's control group allows beyond one learner's ``memory_bytes`` (the zygote itself)
ZYGOTE_MEMORY = 512 << 20

_BOOT = ("import sys; sys.path.insert(0, {root!r}); from grader._zygote import main; main()")


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
        self._proc: subprocess.Popen[bytes] | None = None
        self._sock: socket.socket | None = None
        self._scratch: str | None = None
        self._cgroup: cgroup.Cgroup | None = None
        self.started = 0  # zygotes started so far (a new one after a dirty or dead one)

    def __enter__(self) -> SandboxPool:
        self._start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _start(self) -> None:
        parent_sock, child_sock = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        inner = isolation.python_argv() + ["-c", _BOOT.format(root=isolation.PACKAGE_ROOT),
                                           str(child_sock.fileno())]
        if self.mode == "bwrap":
            argv = isolation.bwrap_argv(inner + [isolation.SCRATCH], uid=isolation.next_uid(),
                                        scratch_bytes=self.limits.scratch_bytes, as_pid_1=True)
            cwd, env = None, {"PATH": "/usr/bin:/bin"}
        else:
            self._scratch = tempfile.mkdtemp(prefix="grader-pool-")
            argv, cwd, env = inner + [self._scratch], self._scratch, isolation.child_env(self._scratch)
        errors = tempfile.TemporaryFile()
        # the zygote and the one learner it runs at a time share one memory and process budget
        self._cgroup = cgroup.create(self.limits.memory_bytes + ZYGOTE_MEMORY, self.limits.processes + 8)
        try:
            self._proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=errors,
                                          pass_fds=(child_sock.fileno(),), cwd=cwd, env=env,
                                          start_new_session=True, preexec_fn=self._cgroup and self._cgroup.join)
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
        errors.close()
        parent_sock.settimeout(None)
        self.started += 1

    def _discard(self) -> None:
        """Forget the current zygote (killing it); the next run starts a new one."""
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        if self._proc is not None:
            try:
                os.killpg(self._proc.pid, 9)
            except (ProcessLookupError, PermissionError):
                pass
            self._proc.wait()
            self._proc = None
        if self._cgroup is not None:
            self._cgroup.remove()
            self._cgroup = None
        if self._scratch:
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = None

    def close(self) -> None:
        """Stop the zygote and everything in its sandbox."""
        self._discard()

    def _starter(self, source: str, name: str) -> Starter:
        def start(job: dict[str, Any], limits: Limits) -> _Forked | _Dead:
            rl = limits_dict(limits)
            nproc = isolation.process_limit(limits.processes + 1, self.mode)  # + the zygote, same uid
            unprivileged = nproc is not None
            rl["processes"] = nproc or 0
            order = {"job": job, "limits": rl, "source": source, "name": name, "unprivileged": unprivileged}
            for _ in range(2):  # a zygote found dead is replaced once
                if self._sock is None or (self._proc is not None and self._proc.poll() is not None):
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
                    return _Forked(self, fds)
                for fd in fds:
                    os.close(fd)
                self._discard()
            return _Dead()

        return start

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

