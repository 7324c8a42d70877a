"""The launcher waits for everything it started: nothing of a sandbox outlives the call that used it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from grader import isolation, launcher
from grader.runtypes import Limits

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


def test_launched_close_reaps_in_process(tmp_path):
    """In this process: after close(), no child of ours is left from the launch (alive or zombie)."""
    mode = isolation.resolve_mode("auto")
    before = set(descendants(os.getpid()))
    launched = launcher.launch("grader._child", ["1"], Limits(), mode, rlimits=None, cgroup_memory=1 << 30,
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    launched.close()
    assert set(descendants(os.getpid())) <= before
