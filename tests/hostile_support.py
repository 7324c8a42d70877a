"""Helpers for the hostile-submission tests: sandbox modes, runners, snapshots, leftover processes."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Callable, Iterator

import pytest

from grader import isolation
from grader.forkserver import SandboxPool
from grader.grading import grade_file
from grader.results import ExerciseResult
from grader.runtypes import Limits

HOSTILE = Path(__file__).resolve().parent / "hostile"
#: small limits keep the suite fast (CPU well below wall time, so a loaded machine still hits CPU first); the fork bomb is bounded by ``processes`` (private uid, bwrap mode)
HOSTILE_LIMITS = Limits(wall_seconds=2.0, cpu_seconds=1, memory_bytes=512 << 20, processes=16,
                        import_seconds=5.0, startup_seconds=30.0)


def bwrap_or_skip() -> None:
    """Skip without bubblewrap, except in CI, where the real mode must run (``.ci/run`` installs it)."""
    why = isolation.bwrap_works()
    if why is not None:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the hostile tests in bwrap mode: {why}")
        pytest.skip(why)


def snapshot(*roots: Path) -> dict[str, str]:
    """Path -> content hash (or 'dir') for every entry under ``roots``."""
    out: dict[str, str] = {}
    for root in roots:
        for dirpath, dirnames, filenames in os.walk(root):
            for d in dirnames:
                out[os.path.join(dirpath, d)] = "dir"
            for f in filenames:
                full = os.path.join(dirpath, f)
                out[full] = hashlib.sha256(Path(full).read_bytes()).hexdigest()
    return out


def sandbox_uid_pids() -> set[int]:
    """Host pids running under a private sandbox uid this test process handed out (bwrap mode as root)."""
    low = isolation.next_uid() - 1023 if os.geteuid() == 0 else -1
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if low <= os.stat(f"/proc/{entry}").st_uid <= low + 2047:
                    found.add(int(entry))
            except OSError:
                pass
    return found


def descendants(pid: int) -> list[int]:
    """Every living process below ``pid`` (zombies excluded)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_bytes().rsplit(b")", 1)[1].split()
            except OSError:
                continue
            if fields[0] != b"Z":
                children.setdefault(int(fields[1]), []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        for kid in children.get(todo.pop(), []):
            out.append(kid)
            todo.append(kid)
    return out


class Runner:
    """One way of running a submission: fresh child or pooled fork, bwrap or rlimits."""

    def __init__(self, name: str, mode: str, pool: SandboxPool | None) -> None:
        self.name, self.mode, self.pool = name, mode, pool

    def grade(self, path: Path, exercise, wall: float | None = None,  # type: ignore[no-untyped-def]
              cpu: int | None = None) -> ExerciseResult:
        """Grade with HOSTILE_LIMITS (``wall`` and ``cpu`` override the per-call wall time and the CPU budget)."""
        limits = Limits(**{**HOSTILE_LIMITS.__dict__, "sandbox": self.mode,
                           "wall_seconds": wall or HOSTILE_LIMITS.wall_seconds,
                           "cpu_seconds": cpu or HOSTILE_LIMITS.cpu_seconds})
        return grade_file(path, exercise, limits, runner=self.pool.run if self.pool else None)

    def learner_processes(self) -> list[int]:
        """Processes left by learner code after a run (the pool's own zygote excluded)."""
        if self.pool is not None and self.pool._proc is not None:
            below = descendants(self.pool._proc.pid)
            return below[1:] if self.mode == "bwrap" else below  # under bwrap: the zygote first
        return sorted(sandbox_uid_pids() - set(_pool_pids())) if self.mode == "bwrap" else []


_OPEN_POOLS: list[SandboxPool] = []


def _pool_pids() -> Iterator[int]:
    for pool in _OPEN_POOLS:
        if pool._proc is not None:
            yield pool._proc.pid
            yield from descendants(pool._proc.pid)


def make_runner(name: str) -> Callable[[], Runner]:
    """Factory for a runner by name: ``bwrap``, ``bwrap-pool``, ``rlimits``, ``rlimits-pool``."""
    mode, _, pooled = name.partition("-")

    def build() -> Runner:
        if mode == "bwrap":
            bwrap_or_skip()
        pool = None
        if pooled:
            pool = SandboxPool(HOSTILE_LIMITS, mode=mode).__enter__()
            _OPEN_POOLS.append(pool)
        return Runner(name, mode, pool)

    return build


def close_runner(runner: Runner) -> None:
    if runner.pool is not None:
        runner.pool.close()
        _OPEN_POOLS.remove(runner.pool)
