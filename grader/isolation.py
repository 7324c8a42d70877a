"""OS-level isolation for learner processes: detect what the machine offers and build the command.

Two modes, chosen once per process (``resolve_mode``) and reported in every result:

``bwrap``    bubblewrap started by the grader, new PID/network/IPC/UTS namespaces, an
             empty root with read-only binds of only what the child needs (the
             interpreter's prefix, the venv, the ``grader`` package with its
             catalogue masked), a fresh size-capped scratch tmpfs, every capability
             dropped and, when the grader runs as root, a private unprivileged uid
             (``setpriv`` after the mounts, so root-only host files stay unreadable
             and ``RLIMIT_NPROC`` applies).
``rlimits``  a plain child process with resource limits, its own session, a scrubbed
             environment and an empty working directory; no filesystem or network
             isolation.
"""

from __future__ import annotations

import ctypes
import functools
import importlib.util
import itertools
import json
import os
import resource
import select
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Literal

import grader

from .errors import UsageError

Mode = Literal["bwrap", "rlimits"]
REQUESTS = ("auto", "bwrap", "rlimits")
#: the grader package's parent directory (a source checkout or site-packages)
PACKAGE_DIR = str(Path(grader.__file__).resolve().parent)
PACKAGE_ROOT = str(Path(PACKAGE_DIR).parent)
SCRATCH = "/scratch"
SUBMISSION_DIR = "/submission"
#: private uids handed to sandboxes when the grader runs as root (no passwd entry needed)
_UID_BASE = 1_700_000_000
_uid_counter = itertools.count()


def child_env(home: str) -> dict[str, str]:
    """The whole environment a learner process gets: nothing of the grader's leaks in."""
    return {
        "PATH": "/usr/bin:/bin", "HOME": home, "TMPDIR": home, "LANG": "C.UTF-8",
        "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1",
        "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
    }


def apply_rlimits(limits: Mapping[str, int], unprivileged: bool) -> None:
    """Set the learner's resource limits on the calling process (hard = soft, except CPU).

    The CPU hard limit is one second above the soft one: SIGXCPU first, SIGKILL if
    the learner catches it. ``RLIMIT_NPROC`` (``processes``, see :func:`process_limit`)
    is set only when ``unprivileged``.
    """
    pairs = [
        (resource.RLIMIT_AS, limits["memory_bytes"], limits["memory_bytes"]),
        (resource.RLIMIT_CPU, limits["cpu_seconds"], limits["cpu_seconds"] + 1),
        (resource.RLIMIT_FSIZE, limits["file_bytes"], limits["file_bytes"]),
        (resource.RLIMIT_NOFILE, limits["open_files"], limits["open_files"]),
        (resource.RLIMIT_CORE, 0, 0),
    ]
    if unprivileged:
        pairs.append((resource.RLIMIT_NPROC, limits["processes"], limits["processes"]))
    for which, soft, hard in pairs:
        try:
            resource.setrlimit(which, (soft, hard))
        except (ValueError, OSError):
            pass


def process_limit(processes: int, mode: str) -> int | None:
    """The RLIMIT_NPROC to give a learner process, or None where it cannot work.

    The kernel counts every task of the real uid and exempts root: as root only the
    private uid of bwrap mode makes it bite; as an ordinary user the learner may add
    ``processes`` to what the user already runs (the user's other processes keep their
    own limit, so they are not starved).
    """
    if os.geteuid() == 0:
        return processes if mode == "bwrap" else None
    uid, tasks = os.getuid(), 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.stat(f"/proc/{entry}").st_uid == uid:
                    tasks += len(os.listdir(f"/proc/{entry}/task"))
            except OSError:
                pass
    return tasks + processes


def _is_root() -> bool:
    return os.geteuid() == 0


def next_uid() -> int:
    """A uid no other sandbox of this machine uses now, so process limits are not shared."""
    return _UID_BASE + (os.getpid() * 1024 + next(_uid_counter)) % 100_000_000 if _is_root() else os.getuid()


def _bind_roots() -> list[str]:
    """Host directories the child's interpreter needs, each bound read-only at its own path."""
    roots = {os.path.realpath(sys.base_prefix), os.path.realpath(sys.prefix), PACKAGE_DIR}
    for name in ("numpy", "sympy", "mpmath"):  # located, not imported
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.origin:
            roots.add(str(Path(spec.origin).resolve().parent))
    exe = os.path.realpath(sys.executable)
    roots.add(os.path.dirname(exe))
    keep = sorted(roots)
    # drop directories already inside another bound one
    return [r for r in keep if not any(r != o and r.startswith(o + os.sep) for o in keep)]


def _mkdirs(path: str, have: set[str]) -> list[str]:
    """``--dir`` arguments for every missing ancestor, world-readable (bwrap defaults to 0700)."""
    args: list[str] = []
    parts = Path(path).parts[1:-1]
    for i in range(1, len(parts) + 1):
        d = "/" + "/".join(parts[:i])
        if d not in have and d not in ("/usr",):
            have.add(d)
            args += ["--perms", "0755", "--dir", d]
    return args


def catalogue_masks() -> list[str]:
    """Directories hidden under an empty tmpfs: every installed catalogue (reference solutions).

    Not only this package's: a source checkout may run while the venv also holds an installed copy.
    """
    found = {os.path.join(PACKAGE_DIR, "_catalog")}
    for entry in sys.path:
        if entry and os.path.isabs(entry):
            found.add(os.path.join(os.path.realpath(entry), "grader", "_catalog"))
    return sorted(d for d in found if os.path.isdir(d))


def bwrap_argv(inner: Sequence[str], *, uid: int, scratch_bytes: int,
               submission: tuple[int, str] | None = None, as_pid_1: bool = False,
               info_fd: int | None = None) -> list[str]:
    """Wrap ``inner`` (an argv) in bubblewrap.

    ``submission`` = (an inherited fd open on the file, path inside): bwrap copies it into a
    read-only file, so the learner's uid can read it whatever the host file's mode.
    ``info_fd``: an inherited fd where bwrap writes ``{"child-pid": N}``, the host pid of the
    sandbox's first process (its init), so the grader can wait for it.
    """
    argv = ["bwrap", "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts",
            "--unshare-cgroup-try", "--die-with-parent", "--new-session", "--clearenv"]
    if _is_root():
        # no user namespace: the mounts are made as root, then setpriv drops to ``uid``
        argv += ["--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    else:
        argv += ["--unshare-user", "--disable-userns", "--cap-drop", "ALL"]
    if as_pid_1:
        argv.append("--as-pid-1")
    if info_fd is not None:
        argv += ["--info-fd", str(info_fd)]
    argv += ["--ro-bind", "/usr", "/usr", "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64",
             "--symlink", "usr/bin", "/bin", "--dev", "/dev", "--proc", "/proc"]
    have: set[str] = set()
    for root in _bind_roots():
        if not root.startswith("/usr/"):
            argv += _mkdirs(root + "/x", have) + ["--ro-bind", root, root]
    for masked in catalogue_masks():
        argv += ["--tmpfs", masked]
    argv += ["--perms", "1777", "--size", str(scratch_bytes), "--tmpfs", SCRATCH, "--chdir", SCRATCH]
    if submission:
        fd, inside = submission
        argv += _mkdirs(inside, have) + ["--perms", "0444", "--file", str(fd), inside]
    for key, value in child_env(SCRATCH).items():
        argv += ["--setenv", key, value]
    argv.append("--")
    if _is_root():
        argv += [shutil.which("setpriv") or "/usr/bin/setpriv", f"--reuid={uid}", f"--regid={uid}",
                 "--clear-groups", "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--"]
    return argv + list(inner)


_PR_SET_CHILD_SUBREAPER, _PR_GET_CHILD_SUBREAPER = 36, 37


def _libc() -> ctypes.CDLL | None:
    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None


def is_subreaper() -> bool:
    """Whether the kernel treats this process as a child subreaper now (``PR_GET_CHILD_SUBREAPER``)."""
    libc, value = _libc(), ctypes.c_int(0)
    try:
        return libc is not None and libc.prctl(_PR_GET_CHILD_SUBREAPER, ctypes.byref(value), 0, 0, 0) == 0 \
            and value.value != 0
    except AttributeError:
        return False


def _set_subreaper(on: bool) -> bool:
    libc = _libc()
    try:
        return libc is not None and libc.prctl(_PR_SET_CHILD_SUBREAPER, int(on), 0, 0, 0) == 0
    except AttributeError:
        return False


class _Subreaper:
    """How many sandboxes of this process are alive, and whether the subreaper flag is ours to clear."""

    lock = threading.Lock()
    holds = 0
    owned = False  # set by hold_subreaper (not by the application before it)


def hold_subreaper() -> bool:
    """Make this process a child subreaper while a sandbox of it is alive; pair with :func:`release_subreaper`.

    bubblewrap's outer process exits before its init inside the PID namespace has finished, and a
    killed fork server leaves its learner behind; re-parented here, they can be waited for (and their
    CPU time counted in the grader's own) instead of lingering under init. The first hold sets the flag
    (unless the process had set it itself); False where prctl fails.
    """
    with _Subreaper.lock:
        _Subreaper.holds += 1
        if _Subreaper.holds == 1 and not is_subreaper():
            _Subreaper.owned = _set_subreaper(True)
        return is_subreaper()


def release_subreaper() -> None:
    """End one :func:`hold_subreaper` (its sandbox is reaped); the last clears the flag this module set.

    So a library caller is a subreaper only while grading: afterwards orphans of unrelated programs it
    started go to init again instead of becoming its zombies.
    """
    with _Subreaper.lock:
        _Subreaper.holds = max(_Subreaper.holds - 1, 0)
        if _Subreaper.holds == 0 and _Subreaper.owned:
            _set_subreaper(False)
            _Subreaper.owned = False


def _forget_subreaper_after_fork() -> None:
    # the flag is not inherited across fork, nor are the parent's sandboxes (they are not our children)
    _Subreaper.lock = threading.Lock()
    _Subreaper.holds, _Subreaper.owned = 0, False


os.register_at_fork(after_in_child=_forget_subreaper_after_fork)


def reap_group(pgid: int) -> None:
    """Wait for every child of this process in process group ``pgid`` (killed beforehand by the caller)."""
    while True:
        try:
            os.waitpid(-pgid, 0)
        except ChildProcessError:
            return
        except InterruptedError:
            continue


def _children_in(sessions: set[int]) -> list[int]:
    """This process's children (zombies too) whose session is one of ``sessions``."""
    me, found = os.getpid(), []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as fh:
                    fields = fh.read().rsplit(b")", 1)[1].split()
                if int(fields[1]) == me and int(fields[3]) in sessions:
                    found.append(int(entry))
            except (OSError, IndexError, ValueError):
                pass
    return found


def reap_sessions(sessions: set[int]) -> None:
    """SIGKILL and wait for every child of this process in one of ``sessions``, until none is left.

    Orphans come here (the subreaper) only once their parent is gone; killing them by pid is safe as
    they are our own children (a pid is not reused before its parent reaps it). Reaping one hands its
    own children to us, hence the loop.
    """
    for _ in range(1000):
        found = _children_in(sessions)
        if not found:
            return
        for pid in found:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for pid in found:
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass


def read_child_pid(fd: int, timeout: float) -> int | None:
    """The ``child-pid`` bwrap writes to its ``--info-fd`` (closes ``fd``); None if bwrap ends or says nothing."""
    data = b""
    try:
        deadline = time.monotonic() + timeout
        while b"}" not in data:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                return None
            chunk = os.read(fd, 4096)
            if not chunk:
                break
            data += chunk
    finally:
        os.close(fd)
    try:
        pid = json.loads(data.decode(errors="replace")).get("child-pid")
    except (ValueError, AttributeError):
        return None
    return pid if isinstance(pid, int) and pid > 0 else None


def python_argv() -> list[str]:
    """The interpreter: isolated mode (no user site, no PYTHON* variables, no script dir), no .pyc writes."""
    return [sys.executable, "-I", "-B"]


@functools.lru_cache(maxsize=1)
def bwrap_works() -> str | None:
    """None when bubblewrap runs a Python child here; otherwise why not (probed once per process)."""
    if shutil.which("bwrap") is None:
        return "bubblewrap (bwrap) is not installed"
    if _is_root() and shutil.which("setpriv") is None:
        return "setpriv (util-linux) is not installed"
    probe = "import os, sys; sys.stdout.write(str(os.getuid()))"
    uid = next_uid()
    hold_subreaper()
    try:
        return _probe_bwrap(probe, uid)
    finally:
        release_subreaper()


def _probe_bwrap(probe: str, uid: int) -> str | None:
    info, info_w = os.pipe()
    try:
        proc = subprocess.Popen(bwrap_argv(python_argv() + ["-S", "-c", probe], uid=uid, scratch_bytes=1 << 20,
                                           info_fd=info_w),
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                pass_fds=[info_w], start_new_session=True)
    except OSError as exc:
        os.close(info)
        return f"bubblewrap failed to start: {exc}"
    finally:
        os.close(info_w)
    inner = read_child_pid(info, 30)
    pidfd = None
    if inner is not None:
        try:
            pidfd = os.pidfd_open(inner)
        except OSError:
            pass
    try:
        out, err_bytes = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired as exc:
        return f"bubblewrap failed to start: {exc}"
    finally:  # bwrap's init may still be exiting: wait for it too
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        proc.wait()
        if pidfd is not None:
            try:
                signal.pidfd_send_signal(pidfd, signal.SIGKILL)
                os.waitid(os.P_PIDFD, pidfd, os.WEXITED)
            except (ChildProcessError, ProcessLookupError):
                pass
            os.close(pidfd)
    if proc.returncode != 0 or out.decode(errors="replace").strip() != str(uid):
        err = err_bytes.decode(errors="replace").strip().splitlines()
        return "bubblewrap cannot run a sandboxed Python here" + (f": {err[-1]}" if err else "")
    return None


#: environment variable that decides what ``auto`` means (``.ci/run`` sets it to test the fallback)
MODE_VARIABLE = "GRADER_SANDBOX"


def resolve_mode(requested: str = "auto") -> Mode:
    """``auto`` -> bwrap when it works here, else rlimits; ``bwrap`` fails clearly when unavailable.

    ``auto`` first honours ``$GRADER_SANDBOX`` (``bwrap`` or ``rlimits``) when it is set and not ``auto``.
    """
    if requested not in REQUESTS:
        raise UsageError(f"unknown sandbox mode {requested!r}; choose one of {', '.join(REQUESTS)}")
    forced = os.environ.get(MODE_VARIABLE, "").strip() if requested == "auto" else ""
    if forced and forced != "auto":
        if forced not in REQUESTS:
            raise UsageError(f"unknown sandbox mode {forced!r} in ${MODE_VARIABLE}; "
                             f"choose one of {', '.join(REQUESTS)}")
        requested = forced
    if requested == "rlimits":
        return "rlimits"
    why = bwrap_works()
    if why is None:
        return "bwrap"
    if requested == "bwrap":
        source = f"${MODE_VARIABLE}=bwrap" if forced == "bwrap" else "--sandbox bwrap"
        raise UsageError(f"{source} is not available: {why}")
    return "rlimits"
