"""Start one sandboxed learner-side process (a fresh child or the fork server's zygote) and reap all of it.

The one place that builds, for both :mod:`grader.sandbox` and :mod:`grader.forkserver`:
the command (the interpreter running ``grader._child`` or ``grader._zygote``,
inside bubblewrap in ``bwrap`` mode), its environment and working directory,
the resource limits of its first process and the control group its whole
process tree shares. And the one place that takes it all down again:
:meth:`Launched.close` kills what is left and *waits* for every process the
launch started, so when a grading call returns nothing of it is still running
and the learner's CPU time is counted in the grader's own (``/usr/bin/time``).

Why waiting needs care: bubblewrap's outer process exits as soon as the
sandboxed command does, while its init process inside the PID namespace is
still tearing down; and a killed fork server leaves its learner process (and
whatever the learner started) behind. Those processes are re-parented to the
nearest *child subreaper*, so the grader is one while a launch is alive and
reaps them: the launch's process group, the processes it pinned with a pidfd
(bwrap's init, whose pid bwrap reports on ``--info-fd``; the fork server's
current learner; every member of its control group) and, once those are gone,
any child of the grader left in their sessions.

The subreaper flag is scoped (:func:`isolation.hold_subreaper`): the first live
launch sets it, closing the last one clears it again after everything is reaped,
so a program that uses the grader as a library is not left adopting the orphans
of unrelated programs it starts later. The count is per process: a fork of the
grader starts at zero, as the kernel does not pass the flag to it either.
Orphans of unrelated programs that happen to be re-parented while a launch is
alive remain the caller's children (as they would under any subreaper).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Literal

from . import cgroup, isolation
from .runtypes import Limits

#: the two entry points a launch runs (``main()`` of each)
Entry = Literal["grader._child", "grader._zygote"]
_BOOT = "import sys; sys.path.insert(0, {root!r}); from {entry} import main; main()"
#: CPU seconds a fresh child may spend importing SymPy and NumPy before the learner's budget starts
STARTUP_CPU_SECONDS = 30
#: memory a fresh child's control group allows beyond one process's ``memory_bytes`` (page cache, bwrap)
CGROUP_HEADROOM = 256 << 20
#: memory the zygote's control group allows beyond one learner's ``memory_bytes`` (the zygote itself)
ZYGOTE_MEMORY = 512 << 20


def learner_rlimits(limits: Limits, mode: str, *, also_counted: int = 0,
                    startup_cpu: int = 0) -> tuple[dict[str, int], bool]:
    """The rlimits of a learner process and whether ``RLIMIT_NPROC`` may be set (see ``isolation.process_limit``).

    ``also_counted``: processes of the same uid the learner's budget must leave room for (the zygote);
    ``startup_cpu``: CPU seconds added for imports (the child tightens the limit once they are done).
    """
    rl = limits.rlimits()
    rl["cpu_seconds"] += startup_cpu
    nproc = isolation.process_limit(limits.processes + also_counted, mode)
    rl["processes"] = nproc or 0
    return rl, nproc is not None


class Launched:
    """A started sandbox process; ``close()`` must be called once it is done with (it reaps everything)."""

    def __init__(self, proc: subprocess.Popen[bytes], mode: str, group: cgroup.Cgroup | None,
                 workdir: str, tempdir: str | None, submission: str | None) -> None:
        """Take over a started process and one :func:`isolation.hold_subreaper` made for it."""
        self.proc, self.mode, self.cgroup = proc, mode, group
        #: the working directory and the submission's path as the process sees them
        self.workdir, self.submission = workdir, submission
        self._tempdir = tempdir
        self._pinned: dict[int, int] = {}  # pid -> pidfd of processes outside the group to reap at close
        self._holder = os.getpid()  # the process whose subreaper hold this is (not a fork of it)
        self.closed = False

    @property
    def pid(self) -> int:
        return self.proc.pid

    def pin(self, pid: int) -> None:
        """Reap ``pid`` (a descendant outside this launch's process group) at :meth:`close` too."""
        if pid in self._pinned:
            return
        try:
            self._pinned[pid] = os.pidfd_open(pid)
        except OSError:  # already gone
            pass

    def unpin(self, pid: int) -> None:
        """Forget a pinned process (it was reaped by its own parent)."""
        fd = self._pinned.pop(pid, None)
        if fd is not None:
            os.close(fd)

    def _pin_members(self, group: cgroup.Cgroup) -> None:
        """Pin every process of the control group, dropping pids that were not members once opened (recycled)."""
        listed = [pid for pid in group.members() if pid not in self._pinned]
        for pid in listed:
            self.pin(pid)
        still = set(group.members())
        for pid in listed:
            if pid not in still:
                self.unpin(pid)

    def kill(self) -> None:
        """SIGKILL the launch's process group, every pinned process and the process group each one leads."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        for pid, fd in self._pinned.items():
            try:
                signal.pidfd_send_signal(fd, signal.SIGKILL)
            except OSError:  # reaped already: its pid may name another process by now
                continue
            try:  # not reaped, so the pid is still its own: its group (a forked learner leads one) goes too
                os.killpg(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass

    def wait(self, timeout: float | None = None) -> int:
        """The first process's exit status as ``Popen.returncode`` gives it (bwrap's 128 + n made -n).

        Raises ``subprocess.TimeoutExpired`` after ``timeout`` seconds.
        """
        code = self.proc.wait(timeout=timeout)
        if self.mode == "bwrap" and code > 128:
            return -(code - 128)  # bwrap reports a signalled child as 128 + signal
        return code

    def close(self) -> None:
        """Kill whatever is left, wait for every process of the launch, remove its control group and files."""
        if self.closed:
            return
        self.closed = True
        try:
            if self.cgroup is not None:  # processes that left the group's session (setsid) are reaped by pid
                self._pin_members(self.cgroup)
            self.kill()
            self.proc.wait()
            isolation.reap_group(self.proc.pid)
            sessions = {self.proc.pid}
            for pid in list(self._pinned):
                try:
                    os.waitid(os.P_PIDFD, self._pinned[pid], os.WEXITED)
                except ChildProcessError:  # reaped by its own parent, or re-parented elsewhere: it is gone
                    pass
                sessions.add(pid)
                self.unpin(pid)
            # what the dead left in their sessions was re-parented here (a learner's children after its fork
            # server died): kill and reap it
            isolation.reap_sessions(sessions)
            if self.cgroup is not None:
                self.cgroup.remove()
            if self._tempdir is not None:
                shutil.rmtree(self._tempdir, ignore_errors=True)
        finally:
            if self._holder == os.getpid():
                isolation.release_subreaper()


def launch(entry: Entry, args: Sequence[str], limits: Limits, mode: str, *,
           rlimits: tuple[dict[str, int], bool] | None, cgroup_memory: int,
           submission: str | None = None, workdir_arg: bool = False, as_pid_1: bool = False,
           pass_fds: Sequence[int] = (), stdin: int | IO[bytes] | None = subprocess.PIPE,
           stdout: int | IO[bytes] | None = subprocess.PIPE,
           stderr: int | IO[bytes] | None = subprocess.PIPE) -> Launched:
    """Start ``python -c 'from ENTRY import main; main()' ARGS...`` in the sandbox of ``mode``.

    ``rlimits`` (from :func:`learner_rlimits`) are set on the first process before it executes anything;
    ``submission`` (a host path) is made readable to it (read-only, at ``Launched.submission``);
    ``workdir_arg`` appends its working directory to ``args``. ``pass_fds`` stay open in it; the caller
    closes its own copies.
    """
    isolation.hold_subreaper()
    try:
        launched, info = _start(entry, args, limits, mode, rlimits=rlimits, cgroup_memory=cgroup_memory,
                                submission=submission, workdir_arg=workdir_arg, as_pid_1=as_pid_1,
                                pass_fds=pass_fds, stdin=stdin, stdout=stdout, stderr=stderr)
    except BaseException:
        isolation.release_subreaper()
        raise
    try:  # from here on the launch is ours: any exception (SIGTERM's SystemExit in a batch worker) reaps it
        if info is not None:
            pid = isolation.read_child_pid(info, limits.startup_seconds)
            if pid is not None:  # bwrap's init (or the sandboxed process itself with --as-pid-1), in its own session
                launched.pin(pid)
    except BaseException:
        launched.close()
        for stream in (launched.proc.stdin, launched.proc.stdout, launched.proc.stderr):
            if stream is not None:
                stream.close()
        raise
    return launched


def _start(entry: Entry, args: Sequence[str], limits: Limits, mode: str, *,
           rlimits: tuple[dict[str, int], bool] | None, cgroup_memory: int, submission: str | None,
           workdir_arg: bool, as_pid_1: bool, pass_fds: Sequence[int], stdin: int | IO[bytes] | None,
           stdout: int | IO[bytes] | None, stderr: int | IO[bytes] | None) -> tuple[Launched, int | None]:
    """Start the process of :func:`launch`; the read end of bwrap's ``--info-fd`` (or None) comes with it."""
    inner = isolation.python_argv() + ["-c", _BOOT.format(root=isolation.PACKAGE_ROOT, entry=entry), *args]
    fds = list(pass_fds)
    opened: list[int] = []  # made here, closed here
    info: int | None = None  # read end of bwrap's --info-fd
    tempdir: str | None = None
    inside: str | None = submission
    try:
        if mode == "bwrap":
            workdir = isolation.SCRATCH
            mount = None
            if submission is not None:
                inside = f"{isolation.SUBMISSION_DIR}/{Path(submission).name}"
                opened.append(os.open(submission, os.O_RDONLY))
                fds.append(opened[-1])
                mount = (opened[-1], inside)
            info, info_w = os.pipe()
            opened.append(info_w)
            fds.append(info_w)
            argv = isolation.bwrap_argv(inner + ([workdir] if workdir_arg else []), uid=isolation.next_uid(),
                                        scratch_bytes=limits.scratch_bytes, submission=mount, as_pid_1=as_pid_1,
                                        info_fd=info_w)
            cwd, env = None, {"PATH": "/usr/bin:/bin"}
        else:
            tempdir = workdir = tempfile.mkdtemp(prefix="grader-run-")
            argv = inner + ([workdir] if workdir_arg else [])
            cwd, env = workdir, isolation.child_env(workdir)
        # every process the sandbox starts shares one memory and process budget
        group = cgroup.create(cgroup_memory, limits.processes + 8)

        def prepare() -> None:  # runs in the child before exec
            if group is not None:
                group.join()
            if rlimits is not None:
                isolation.apply_rlimits(*rlimits)

        try:
            proc = subprocess.Popen(
                argv, stdin=stdin, stdout=stdout, stderr=stderr, pass_fds=fds, cwd=cwd, env=env,
                start_new_session=True,
                preexec_fn=prepare,  # noqa: PLW1509 - limits and the control group must be set in the child
            )
        except BaseException:
            if group is not None:
                group.remove()
            raise
    except BaseException:  # nothing started: release what was made for it
        if tempdir is not None:
            shutil.rmtree(tempdir, ignore_errors=True)
        if info is not None:
            os.close(info)
        raise
    finally:
        for fd in opened:
            os.close(fd)
    return Launched(proc, mode, group, workdir, tempdir, inside), info
