"""One memory and process budget for a sandbox's whole process tree (Linux control groups).

``RLIMIT_AS`` bounds each learner process, so a learner who forks could multiply
it. Where the grader may create control groups (as root, with the cgroup v1
``memory`` and ``pids`` hierarchies, or cgroup v2 with both controllers
delegated), each sandbox gets a group of its own, nested under the grader's own
group; the sandbox's first process joins it before it executes anything, and
every descendant inherits it. When the group's memory is used up the kernel
kills a process inside it (the learner's, being the largest), never the grader.
Elsewhere :func:`create` returns None and the per-process limits stand alone.
"""

from __future__ import annotations

import itertools
import os
import signal
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")
_COUNTER = itertools.count()


@dataclass(frozen=True)
class Cgroup:
    """A created group: the directories to write the member's pid into (one per hierarchy)."""

    dirs: tuple[Path, ...]

    def join(self) -> None:
        """Move the calling process into the group (call in the child before exec)."""
        pid = str(os.getpid())
        for d in self.dirs:
            (d / "cgroup.procs").write_text(pid)

    def members(self) -> list[int]:
        """The pids in the group now (so the caller can wait for them once :meth:`remove` killed them)."""
        pids: set[int] = set()
        for d in self.dirs:
            try:
                pids.update(int(p) for p in (d / "cgroup.procs").read_text().split())
            except (OSError, ValueError):
                pass
        return sorted(pids)

    def remove(self) -> None:
        """Kill whatever is left in the group and delete it; never raises."""
        for d in self.dirs:
            _kill_and_rmdir(d)


def _kill_and_rmdir(d: Path, attempts: int = 50) -> None:
    """Empty the group ``d`` and remove it, waiting up to ~1 s for killed members to go."""
    for _ in range(attempts):
        try:
            pids = [int(p) for p in (d / "cgroup.procs").read_text().split()]
        except (OSError, ValueError):
            pids = []
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        try:
            d.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.02)


def _sweep(parent: Path) -> None:
    """Remove groups left behind by grader processes that no longer exist (killed with -9)."""
    try:
        names = [p.name for p in parent.iterdir() if p.name.startswith("grader-")]
    except OSError:
        return
    for name in names:
        owner = name.split("-")[1]
        if owner.isdigit() and not Path(f"/proc/{owner}").exists():
            _kill_and_rmdir(parent / name, attempts=5)


def _own_path(controller: str) -> str | None:
    """This process's group in the hierarchy of ``controller`` ('' for cgroup v2)."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        _id, controllers, path = line.split(":", 2)
        if controller in controllers.split(",") or (controller == "" and controllers == ""):
            return path
    return None


def _v1_dirs() -> tuple[Path, Path] | None:
    mem, pids = _own_path("memory"), _own_path("pids")
    if mem is None or pids is None or not (ROOT / "memory").is_dir() or not (ROOT / "pids").is_dir():
        return None
    return ROOT / "memory" / mem.lstrip("/"), ROOT / "pids" / pids.lstrip("/")


def _v2_dir() -> Path | None:
    path = _own_path("")
    if path is None or not (ROOT / "cgroup.controllers").exists():
        return None
    base = ROOT / path.lstrip("/")
    try:
        enabled = (base / "cgroup.subtree_control").read_text().split()
    except OSError:
        return None
    return base if {"memory", "pids"} <= set(enabled) else None


@lru_cache(maxsize=1)
def _parents() -> tuple[Path, ...] | None:
    """Where this process may create groups (the v1 memory and pids groups it is in, or its v2
    group), or None. Checked once, by trying; groups left by killed graders are swept then."""
    if os.geteuid() != 0:
        return None
    v2 = _v2_dir()
    parents = _v1_dirs() or ((v2,) if v2 is not None else None)
    if parents is None:
        return None
    probe = f"grader-probe-{os.getpid()}"
    try:
        for parent in parents:
            (parent / probe).mkdir()
        for parent in parents:
            (parent / probe).rmdir()
    except OSError:
        return None
    for parent in parents:
        _sweep(parent)
    return parents


def available() -> bool:
    """Whether this process may create memory+pids groups here."""
    return _parents() is not None


def create(memory_bytes: int, processes: int) -> Cgroup | None:
    """A new group limited to ``memory_bytes`` and ``processes``, or None where that is impossible."""
    parents = _parents()
    if parents is None:
        return None
    name = f"grader-{os.getpid()}-{next(_COUNTER)}"
    made: list[Path] = []
    try:
        for parent in parents:
            (parent / name).mkdir()
            made.append(parent / name)
        for d in made:  # each file exists in the hierarchy that owns it (v1) or all in one (v2)
            limits = {"memory.limit_in_bytes": memory_bytes, "memory.max": memory_bytes,
                      "memory.swap.max": 0, "pids.max": processes}
            for file, value in limits.items():
                if (d / file).exists():
                    (d / file).write_text(str(value))
        return Cgroup(tuple(made))
    except OSError:
        for d in made:
            _kill_and_rmdir(d, attempts=1)
        return None
