"""The launcher waits for everything it started: nothing of a sandbox outlives the call that used it."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from grader import isolation, launcher, sandbox
from grader.runtypes import Call, Limits

from .conftest import ROOT
from .hostile_support import HOSTILE, bwrap_or_skip, descendants

GOOD = ROOT / "tests" / "submissions" / "partly_wrong_derivatives.py"
SLEEPER = HOSTILE / "escaping_sleeper_derivatives.py"

#: run as a child subreaper, so every orphan of what it runs comes back to it; prints its children after
_WATCH = """
import ctypes, json, os, subprocess, sys
assert ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0) == 0  # PR_SET_CHILD_SUBREAPER
{code}
left = []
for entry in os.listdir("/proc"):
    if entry.isdigit():
        try:
            with open(f"/proc/{{entry}}/stat", "rb") as fh:
                raw = fh.read()
        except OSError:
            continue
        fields = raw.rsplit(b")", 1)[1].split()
        if fields[1] == str(os.getpid()).encode():
            left.append((int(entry), fields[0].decode(), raw.split(b"(", 1)[1].rsplit(b")", 1)[0].decode()))
print(json.dumps({{"status": status, "left": left}}))
"""

_CLI = """proc = subprocess.run([sys.executable, "-m", "grader.cli", "grade", {path!r}, "--sandbox", {mode!r},
                       "--timeout", "5"], capture_output=True, text=True)
status = proc.returncode"""

_POOL = """from grader.forkserver import SandboxPool
from grader.catalogue import find_catalogue, load_catalogue
from grader.grading import grade_file
from grader.runtypes import Limits
ex = {{e.name: e for e in load_catalogue(find_catalogue(None))}}["derivatives"]
limits = Limits(sandbox={mode!r}, wall_seconds=5)
with SandboxPool(limits) as pool:
    result = grade_file({path!r}, ex, limits, runner=pool.run)
    pool._discard()  # as after a dirty run: the zygote is killed while its sandbox is set up
status = 0 if result.items else 1"""


def _modes() -> list[str]:
    return ["bwrap", "rlimits"]


def _watch(code: str, tmp_path) -> dict:
    proc = subprocess.run([sys.executable, "-c", _WATCH.format(code=code)], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300, check=False, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.splitlines()[-1])


@pytest.mark.parametrize("mode", _modes())
@pytest.mark.parametrize("path", [GOOD, SLEEPER], ids=["good", "escaping_sleeper"])
def test_grade_leaves_no_process_behind(mode, path, tmp_path):
    """`grader grade` run under a subreaper: when it returns, no process of it is left (not even a zombie)."""
    if mode == "bwrap":
        bwrap_or_skip()
    if mode == "rlimits" and path == SLEEPER:
        pytest.skip("rlimits mode does not contain a process that leaves its session (see README, Security)")
    seen = _watch(_CLI.format(path=str(path), mode=mode), tmp_path)
    assert seen["status"] == 0
    assert seen["left"] == []


@pytest.mark.parametrize("mode", _modes())
def test_fork_server_discard_leaves_no_process_behind(mode, tmp_path):
    if mode == "bwrap":
        bwrap_or_skip()
    seen = _watch(_POOL.format(path=str(GOOD), mode=mode), tmp_path)
    assert seen["status"] == 0
    assert seen["left"] == []


#: a learner whose import leaves a grandchild named "grandkid" (in the learner's process group) and hangs
_FORKS = """import ctypes, os, time
if os.fork() == 0:
    ctypes.CDLL(None).prctl(15, b"grandkid", 0, 0, 0)  # PR_SET_NAME: the test waits for it by name
    time.sleep(60)
    os._exit(0)
time.sleep(60)
"""


def _children(pid: int) -> set[int]:
    """The direct children of ``pid``, zombies included (what a missing reap leaves behind)."""
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_bytes().rsplit(b")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.add(int(entry))
    return found


def _wait_for_comm(name: str, under: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for pid in descendants(under):
            try:
                if Path(f"/proc/{pid}/comm").read_text().strip() == name:
                    return
            except OSError:
                pass
        time.sleep(0.05)
    raise AssertionError(f"no process named {name!r} appeared")


def _job(path: Path) -> dict:
    return {"path": str(path), "module": path.stem, "import_timeout": 60, "drop_path": isolation.PACKAGE_ROOT,
            "cpu_seconds": 30, "calls": []}


@pytest.mark.parametrize("mode", _modes())
def test_launched_close_reaps_in_process(mode, tmp_path):
    """In this process: close() kills and *waits for* what the learner started (no child of ours left, not
    even a zombie). A plain ``Popen.wait`` would leave the killed grandchild re-parented here as a zombie (and,
    in bwrap mode, bubblewrap's init)."""
    if mode == "bwrap":
        bwrap_or_skip()
    learner = tmp_path / "forks_derivatives.py"
    learner.write_text(_FORKS)
    before = _children(os.getpid())
    started = sandbox._Fresh(_job(learner), Limits(), mode, str(learner))
    try:
        _wait_for_comm("grandkid", os.getpid())
    finally:
        started.launched.close()
        for fd in started.fds:
            os.close(fd)
    assert _children(os.getpid()) <= before
    assert not isolation.is_subreaper()  # the last launch closed: the flag is gone again


def test_exception_after_start_reaps(monkeypatch):
    """SIGTERM (SystemExit in a batch worker) while the launch reads bwrap's info fd: the sandbox is reaped."""
    bwrap_or_skip()
    real = isolation.read_child_pid

    def interrupted(fd: int, timeout: float) -> int | None:
        real(fd, timeout)
        raise SystemExit(143)

    monkeypatch.setattr(isolation, "read_child_pid", interrupted)
    before = _children(os.getpid())
    with pytest.raises(SystemExit):  # stdin stays open: without the reap the child would wait for a job forever
        launcher.launch("grader._child", ["1"], Limits(), "bwrap", rlimits=None, cgroup_memory=1 << 30)
    assert _children(os.getpid()) <= before
    assert not isolation.is_subreaper()


@pytest.mark.parametrize("mode", _modes())
def test_job_handover_failure_reaps(mode, monkeypatch, tmp_path):
    """The job cannot be written to a started child (an OSError the run loop swallows): the child is reaped,
    its temporary directory removed."""
    if mode == "bwrap":
        bwrap_or_skip()
    kept: list = []  # the real stdin stays open, so an unreaped child would wait for its job forever
    real = launcher.launch

    class Broken:
        def write(self, data: bytes) -> int:
            raise OSError(errno.EIO, "injected")

        def close(self) -> None:
            pass

    def launch(*args, **kwargs):
        launched = real(*args, **kwargs)
        kept.append(launched.proc.stdin)
        launched.proc.stdin = Broken()
        return launched

    monkeypatch.setattr(sandbox.launcher, "launch", launch)
    temps = set(Path(tempfile.gettempdir()).glob("grader-run-*"))
    before = _children(os.getpid())
    try:
        result = sandbox.run_calls(GOOD, [Call("a", "d_exp", ({"t": "int", "v": "1"},))], Limits(sandbox=mode))
    finally:
        for stream in kept:
            stream.close()
    assert result.import_error is not None
    assert _children(os.getpid()) <= before
    assert set(Path(tempfile.gettempdir()).glob("grader-run-*")) <= temps


_QUIET = {"stdin": subprocess.DEVNULL, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}


def test_fork_is_not_a_subreaper_by_inheritance():
    """The subreaper flag is not inherited across fork: a fork of a process with a live launch becomes one
    itself when it launches (else bubblewrap's init would be re-parented past it and never waited for)."""
    held = launcher.launch("grader._child", ["1"], Limits(), "rlimits", rlimits=None, cgroup_memory=1 << 30,
                           **_QUIET)
    try:
        assert isolation.is_subreaper()
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the fork reports through the pipe and never returns
            code = 1
            try:
                os.close(r)
                inner = launcher.launch("grader._child", ["1"], Limits(), "rlimits", rlimits=None,
                                        cgroup_memory=1 << 30, **_QUIET)
                os.write(w, b"1" if isolation.is_subreaper() else b"0")
                inner.close()
                os.write(w, b"1" if not isolation.is_subreaper() else b"0")
                code = 0
            finally:
                os._exit(code)
        os.close(w)
        with os.fdopen(r, "rb") as fh:
            seen = fh.read()
        assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0
        assert seen == b"11"  # a subreaper while its launch lived, not after
    finally:
        held.close()
    assert not isolation.is_subreaper()


_SCOPED = """
from grader.catalogue import find_catalogue, load_catalogue
from grader.grading import grade_file
from grader.isolation import is_subreaper
from grader.runtypes import Limits
ex = {{e.name: e for e in load_catalogue(find_catalogue(None))}}["derivatives"]
result = grade_file({path!r}, ex, Limits(sandbox={mode!r}, wall_seconds=5))
assert result.items
assert not is_subreaper()
r, w = os.pipe()
child = os.fork()
if child == 0:  # an unrelated double fork: the grandchild reports its parent once its own has exited
    parent = os.getpid()
    if os.fork() == 0:
        while os.getppid() == parent:
            time.sleep(0.01)
        os.write(w, str(os.getppid()).encode())
        os._exit(0)
    os._exit(0)
os.close(w)
os.waitpid(child, 0)
with os.fdopen(r) as fh:
    adopter = int(fh.read())
print(json.dumps({{"adopter": adopter, "me": os.getpid()}}))
"""


@pytest.mark.parametrize("mode", _modes())
def test_subreaper_only_while_grading(mode, tmp_path):
    """A library caller is a subreaper only while a sandbox is alive: after grading, an orphan of a program it
    started is not re-parented to it."""
    if mode == "bwrap":
        bwrap_or_skip()
    proc = subprocess.run([sys.executable, "-c", "import json, os, time\n" + _SCOPED.format(path=str(GOOD), mode=mode)],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False,
                          env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr
    seen = json.loads(proc.stdout.splitlines()[-1])
    assert seen["adopter"] != seen["me"]


_DISCARD_MID_RUN = """from grader import cgroup
cgroup.create = lambda *args, **kwargs: None  # the rlimits pool of a machine without control groups
import time
from grader import isolation
from grader.forkserver import SandboxPool
from grader.runtypes import Limits
path = {path!r}
limits = Limits(sandbox="rlimits", wall_seconds=5)
pool = SandboxPool(limits).__enter__()
job = {{"path": path, "module": "forks_derivatives", "import_timeout": 60, "drop_path": isolation.PACKAGE_ROOT,
       "cpu_seconds": 30, "calls": []}}
started = pool._starter(open(path).read(), "forks_derivatives.py")(job, limits)
deadline = time.monotonic() + 60
while time.monotonic() < deadline and not any(
        open(f"/proc/{{p}}/comm").read().strip() == "grandkid" for p in os.listdir("/proc") if p.isdigit()
        and os.path.exists(f"/proc/{{p}}/comm")):
    time.sleep(0.05)
pool._discard()  # the zygote is killed while its learner runs, with the learner's child
for fd in started.fds:
    os.close(fd)
status = 0 if time.monotonic() < deadline else 1"""


def test_pool_discard_mid_run_kills_learner_children(tmp_path):
    """rlimits fork server, no control group: a discard while a learner runs kills and reaps its children too
    (they would be re-parented to the grader and left running)."""
    learner = tmp_path / "forks_derivatives.py"
    learner.write_text(_FORKS)
    seen = _watch(_DISCARD_MID_RUN.format(path=str(learner)), tmp_path)
    assert seen["status"] == 0
    assert seen["left"] == []
