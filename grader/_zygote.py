"""The fork server's side inside the sandbox: import SymPy and NumPy once, fork a fresh child per job.

Runs as PID 1 of its own PID namespace in bwrap mode (a learner cannot signal
it, and ``kill(-1)`` from it reaches every other process of the namespace), or
as a child subreaper in rlimits mode. It never runs learner code itself: each
job gets a new fork (own session, rlimits, scrubbed environment, a new empty
working directory), and afterwards every other process is killed and the
scratch directory wiped before the next job.

Protocol on the control socket (fd in argv), frames of a 4-byte big-endian
length then JSON::

    zygote -> parent  {"ready": true}
    parent -> zygote  {"job": {...}, "limits": {...}, "source": "...", "name": "x.py", "unprivileged": bool}
    zygote -> parent  {"pid": N}        with the child's stdout, stderr and result pipes (SCM_RIGHTS)
    parent -> zygote  {"kill": true}    optional: the parent's wall-clock deadline passed
    zygote -> parent  {"status": S, "clean": bool}   S as Popen.returncode; clean: scratch wiped
"""

from __future__ import annotations

import ctypes
import json
import os
import select
import shutil
import signal
import socket
import stat
import struct
import sys
from typing import Any

from grader import _child, isolation

_PR_SET_DUMPABLE, _PR_SET_CHILD_SUBREAPER = 4, 36


def send(sock: socket.socket, msg: dict[str, Any], fds: list[int] | None = None) -> None:
    """One frame, optionally with file descriptors attached to its first byte."""
    data = json.dumps(msg).encode()
    frame = struct.pack(">I", len(data)) + data
    if fds:
        sent = socket.send_fds(sock, [frame], fds)
        frame = frame[sent:]
    if frame:
        sock.sendall(frame)


def recv(sock: socket.socket, want_fds: int = 0) -> tuple[dict[str, Any] | None, list[int]]:
    """The next frame (None at end of stream) and any descriptors that came with it."""
    fds: list[int] = []
    if want_fds:
        head, fds, _, _ = socket.recv_fds(sock, 4, want_fds)
    else:
        head = sock.recv(4, socket.MSG_WAITALL)
    while head and len(head) < 4:
        more = sock.recv(4 - len(head), socket.MSG_WAITALL)
        if not more:
            break
        head += more
    if len(head) < 4:
        return None, fds
    (size,) = struct.unpack(">I", head)
    body = b""
    while len(body) < size:
        chunk = sock.recv(size - len(body))
        if not chunk:
            return None, fds
        body += chunk
    return json.loads(body), fds


def _prctl(option: int, value: int) -> None:
    try:
        ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def _become_learner(msg: dict[str, Any], workdir: str, pipes: list[tuple[int, int]], sock: socket.socket) -> None:
    """In the fork: become the learner's process and run the job; never returns."""
    try:
        sock.close()
        os.setsid()
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(pipes[0][1], 1)
        os.dup2(pipes[1][1], 2)
        result_fd = os.dup2(pipes[2][1], 3)
        os.closerange(4, 65536)
        src = os.path.join(workdir, "src")
        os.makedirs(src)
        path = os.path.join(src, os.path.basename(msg["name"]))
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(msg["source"])
        work = os.path.join(workdir, "work")
        os.makedirs(work)
        os.environ.clear()
        os.environ.update(isolation.child_env(work))
        isolation.apply_rlimits(msg["limits"], bool(msg.get("unprivileged")))
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        _child.serve(dict(msg["job"], path=path, workdir=work), result_fd)
    except BaseException as exc:  # the fork could not be prepared: say why on its stderr
        os.write(2, f"grader fork server: {type(exc).__name__}: {exc}\n".encode(errors="replace"))
    finally:
        os._exit(70)


def _sweep(pid1: bool) -> None:
    """Kill every process but this one (PID 1: the whole namespace; else: all our descendants)."""
    for _ in range(1000):
        if pid1:
            try:
                os.kill(-1, signal.SIGKILL)
            except ProcessLookupError:
                pass
        else:
            me = str(os.getpid())
            for entry in os.listdir("/proc"):
                if entry.isdigit():
                    try:
                        with open(f"/proc/{entry}/stat", "rb") as fh:
                            fields = fh.read().rsplit(b")", 1)[1].split()
                        if fields[1].decode() == me:
                            os.kill(int(entry), signal.SIGKILL)
                    except (OSError, IndexError):
                        pass
        try:
            while os.waitpid(-1, os.WNOHANG)[0]:
                pass
        except ChildProcessError:
            return
        select.select([], [], [], 0.005)


def _wipe(root: str) -> bool:
    """Remove everything under ``root`` (learner files may have been made unreadable); True when empty."""
    for dirpath, dirnames, _ in os.walk(root):
        for d in dirnames:
            try:
                os.chmod(os.path.join(dirpath, d), stat.S_IRWXU)
            except OSError:
                pass
    for entry in os.listdir(root):
        full = os.path.join(root, entry)
        if os.path.isdir(full) and not os.path.islink(full):
            shutil.rmtree(full, ignore_errors=True)
        else:
            try:
                os.unlink(full)
            except OSError:
                pass
    return not os.listdir(root)


def _run_job(sock: socket.socket, msg: dict[str, Any], scratch: str, pid1: bool, count: int) -> bool:
    """Fork one child for ``msg``, report it, wait for it or a kill; False to stop serving."""
    workdir = os.path.join(scratch, f"run-{count}")
    os.mkdir(workdir, 0o700)
    pipes = [os.pipe() for _ in range(3)]
    pid = os.fork()
    if pid == 0:
        _become_learner(msg, workdir, pipes, sock)
    for _, w in pipes:
        os.close(w)
    send(sock, {"pid": pid}, [r for r, _ in pipes])
    for r, _ in pipes:
        os.close(r)
    pidfd = os.pidfd_open(pid)
    status: int | None = None
    alive = True
    try:
        while status is None:
            ready, _, _ = select.select([pidfd, sock.fileno()], [], [])
            if sock.fileno() in ready:
                order, _ = recv(sock)
                if order is None:
                    alive = False
                for kill in (os.killpg, os.kill):
                    try:
                        kill(pid, signal.SIGKILL)
                    except (ProcessLookupError, PermissionError):
                        pass
            if pidfd in ready or sock.fileno() in ready:
                _, wstatus = os.waitpid(pid, 0)
                status = os.waitstatus_to_exitcode(wstatus)
    finally:
        os.close(pidfd)
    _sweep(pid1)
    clean = _wipe(scratch)
    if alive:
        send(sock, {"status": status, "clean": clean})
    return alive and clean


def main() -> None:
    """Entry point: ``python -c '...; grader._zygote.main()' FD SCRATCH``."""
    sock = socket.socket(fileno=int(sys.argv[1]))
    scratch = sys.argv[2]
    pid1 = os.getpid() == 1
    _prctl(_PR_SET_DUMPABLE, 0)  # learners share our uid: no ptrace, no /proc/1/mem
    if not pid1:
        _prctl(_PR_SET_CHILD_SUBREAPER, 1)  # orphans of a learner come back to us to be killed
    root = isolation.PACKAGE_ROOT
    if root in sys.path:
        sys.path.remove(root)
    send(sock, {"ready": True})
    count = 0
    while True:
        msg, _ = recv(sock)
        if msg is None:
            break
        if "job" not in msg:
            continue  # a kill that crossed the end of the job it was meant for
        count += 1
        if not _run_job(sock, msg, scratch, pid1, count):
            break
    _sweep(pid1)
    os._exit(0)
