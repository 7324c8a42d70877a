"""Control groups: one memory and process budget for a sandbox's whole process tree."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from grader import cgroup
from grader.encoding import decode_value, encode_symbol
from grader.forkserver import SandboxPool
from grader.isolation import bwrap_works
from grader.runtypes import Call, Limits
from grader.sandbox import run_calls

from .conftest import TESTS

needs_cgroups = pytest.mark.skipif(not cgroup.available(), reason="cannot create control groups here "
                                   "(needs root and the memory+pids controllers)")


@needs_cgroups
def test_a_child_joins_the_group_before_exec_and_removal_kills_what_is_left():
    group = cgroup.create(256 << 20, 8)
    assert group is not None
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], preexec_fn=group.join)
    try:
        members = (group.dirs[0] / "cgroup.procs").read_text().split()
        assert str(proc.pid) in members
    finally:
        group.remove()
    assert proc.wait(timeout=10) < 0  # killed by the removal
    assert not any(d.exists() for d in group.dirs)


def test_create_is_refused_without_privileges(monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    cgroup._parents.cache_clear()
    try:
        assert cgroup.create(1 << 30, 8) is None
    finally:
        monkeypatch.undo()
        cgroup._parents.cache_clear()


@needs_cgroups
@pytest.mark.parametrize("pooled", [False, True], ids=["fresh", "pool"])
def test_forked_children_share_one_memory_budget(pooled):
    if bwrap_works() is not None:
        pytest.skip("bubblewrap is not usable here")
    limits = Limits(wall_seconds=8.0, cpu_seconds=20, memory_bytes=512 << 20, processes=16, sandbox="bwrap")
    path = TESTS / "hostile" / "fork_memory_bomb_derivatives.py"
    x = encode_symbol(__import__("sympy").Symbol("x", positive=True))
    calls = [Call("d_exp", "d_exp", (x,), timeout=8.0), Call("d_log", "d_log", (x,), timeout=8.0)]
    if pooled:
        with SandboxPool(limits) as pool:
            run = pool.run(path, calls, limits)
    else:
        run = run_calls(path, calls, limits)
    bomb = run.outcomes["d_exp"]
    # six children of 300 MiB each cannot all hold their memory inside a ~1 GiB group
    if bomb.status == "ok":
        assert decode_value(bomb.value) < 6
    else:
        assert bomb.status in ("crashed", "timeout", "error")
    assert run.outcomes["d_log"].status == "ok"


@needs_cgroups
def test_groups_left_by_a_killed_grader_are_swept(monkeypatch):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    parents = cgroup._v1_dirs() or (cgroup._v2_dir(),)
    stale = [p / f"grader-{dead.pid}-0" for p in parents]
    for d in stale:
        d.mkdir()
    cgroup._parents.cache_clear()  # the sweep runs when a process first finds where to make groups
    group = cgroup.create(256 << 20, 8)
    try:
        assert not any(d.exists() for d in stale)
    finally:
        group.remove()
