"""Every threat of issue 6 against every sandbox runner: no unearned points, no stall, no changed files.

Runners: a fresh child in bwrap mode (the real mode; CI fails rather than skip
without it), the bwrap fork-server pool, and for the threats rlimits alone can
contain, the same two in rlimits (fallback) mode. Threats that need OS-level
isolation (reading solutions, writing outside, network, fork bomb) run in bwrap
mode only: the README's Security section says fallback mode does not stop them.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from grader import isolation
from grader.results import ExerciseResult

from .conftest import ROOT
from .hostile_support import HOSTILE, Runner, bwrap_or_skip, close_runner, make_runner, snapshot

#: fixture -> {item: (points, fragment of the feedback or None)}; items not listed must earn nothing
EXPECT: dict[str, dict[str, tuple[float, str | None]]] = {
    # a pure-Python loop burns CPU as fast as wall time: whichever limit fires first must say so
    "infinite_loop_derivatives": {"d_exp": (0, ("ran for more than 2 s", "stopped after 1 s of CPU time")),
                                  "d_log": (1, "correct")},
    "cpu_in_c_derivatives": {"d_exp": (0, "stopped after 1 s of CPU time"), "d_exp_neg": (0, None),
                             "d_log": (1, "correct")},
    "memory_bomb_derivatives": {"d_exp": (0, "used more than 512 MiB of memory"), "d_log": (1, "correct")},
    "numpy_memory_bomb_derivatives": {"d_exp": (0, "used more than 512 MiB of memory"), "d_log": (1, "correct")},
    "fork_bomb_derivatives": {"d_exp": (0, None), "d_log": (1, "correct")},
    "escaping_sleeper_derivatives": {"d_exp": (0, None), "d_log": (1, "correct")},
    "loud_output_derivatives": {"d_exp": (1, "correct"), "d_log": (1, "correct")},
    "sys_exit_at_import_derivatives": {"d_log": (0, "SystemExit: bye")},
    "os_exit_at_import_derivatives": {"d_log": (0, "exited (status 0) before returning (while importing")},
    "keyboard_interrupt_at_import_derivatives": {"d_log": (0, "KeyboardInterrupt")},
    "exits_in_functions_derivatives": {"d_exp": (0, "SystemExit: 0"), "d_exp_neg": (0, "KeyboardInterrupt"),
                                       "d_pow_base": (0, "exited (status 0)"), "d_log": (1, "correct"),
                                       "d_power": (0, "SystemExit: 3")},
    "read_solutions_derivatives": {"d_exp": (0, None), "d_log": (1, "correct")},
    "write_outside_derivatives": {"d_exp": (0, None), "d_log": (1, "correct")},
    "network_derivatives": {"d_exp": (0, None), "d_log": (1, "correct")},
    "monkeypatch_derivatives": {"d_exp": (0, "not equal"), "d_log": (1, "correct")},
    "lying_objects_derivatives": {"d_exp": (0, "returned a Liar"), "d_exp_neg": (0, None),
                                  "d_pow_base": (0, None), "d_log": (1, "correct"), "d_power": (0, None)},
    "lying_arrays_activations": {"sigmoid": (0, None), "sigmoid_grad": (0, "dtype object"),
                                 "tanh_grad": (0, "NaN")},
    "huge_expression_derivatives": {"d_exp": (0, "deeper than"), "d_exp_neg": (0, "more than 20000 nodes"),
                                    "d_pow_base": (0, "more than 400 digits"), "d_log": (1, "correct"),
                                    "d_power": (0, "not equal")},
    "wrong_types_derivatives": {"d_exp": (0, "nan"), "d_exp_neg": (0, None), "d_pow_base": (0, "generator"),
                                "d_log": (1, "correct"), "d_power": (0, "a set"), "sigmoid": (0, "a module"),
                                "d_sigmoid": (0, None)},
}
#: resource limits must fire before the wall clock even on a loaded machine: a longer wall time for these
WALL = {"cpu_in_c_derivatives": 8.0, "memory_bomb_derivatives": 8.0, "numpy_memory_bomb_derivatives": 8.0}
#: filling 512 MiB costs CPU time too (page faults; more of it on a loaded machine, where the 1 s budget could
#: fire first and the run would rightly say "CPU time"): the memory bombs get CPU to spare, so the memory limit is
#: the one under test here
CPU = {"memory_bomb_derivatives": 5, "numpy_memory_bomb_derivatives": 5}
#: returned-value threats are decoded the same whatever ran the code: the bwrap pool covers them
DATA_ONLY = ("monkeypatch_derivatives", "lying_objects_derivatives", "lying_arrays_activations",
             "huge_expression_derivatives", "wrong_types_derivatives")
#: what rlimits (fallback) mode alone contains, run there too
FALLBACK_OK = {"rlimits": ("cpu_in_c_derivatives", "exits_in_functions_derivatives", "loud_output_derivatives"),
               "rlimits-pool": ("infinite_loop_derivatives", "memory_bomb_derivatives",
                                "escaping_sleeper_derivatives", "lying_objects_derivatives")}
CASES = ([(name, "bwrap") for name in EXPECT if name not in DATA_ONLY]
         + [(name, "bwrap-pool") for name in EXPECT]
         + [(name, r) for r, names in FALLBACK_OK.items() for name in names])


@dataclass
class Outcome:
    """One hostile case as run by the module fixture (all cases run concurrently, 4 at a time)."""

    result: ExerciseResult | None = None
    error: BaseException | None = None
    elapsed: float = 0.0
    before: dict[str, str] = field(default_factory=dict)
    after: dict[str, str] = field(default_factory=dict)


class _Listener:
    """A TCP server on 127.0.0.1 that records whether anyone connected."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.connections = 0
        self.stop = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stop:
            try:
                conn, _ = self.sock.accept()
                self.connections += 1
                conn.close()
            except OSError:
                pass

    def close(self) -> None:
        self.stop = True
        self.thread.join()
        self.sock.close()


def _run_case(name: str, runner: Runner, root: Path, catalogue) -> Outcome:  # type: ignore[no-untyped-def]
    subs, work, out = root / "subs", root / "work", root / "out"
    for d in (subs, work, out):
        d.mkdir(parents=True)
    (out / "previous-report.json").write_text("{}")
    (subs / "classmate_derivatives.py").write_text("def d_exp(x):\n    return x\n")
    path = subs / f"{name}.py"
    shutil.copy(HOSTILE / path.name, path)
    outcome = Outcome(before=snapshot(root))
    started = time.monotonic()
    try:
        outcome.result = runner.grade(path, catalogue[name.rsplit("_", 1)[1]], WALL.get(name), CPU.get(name))
    except BaseException as exc:  # re-raised by the case's own test
        outcome.error = exc
    outcome.elapsed = time.monotonic() - started
    outcome.after = snapshot(root)
    return outcome


@pytest.fixture(scope="module")
def contained(catalogue, tmp_path_factory):
    """Run every case once, concurrently; yield (outcomes, listener connections, leftover processes)."""
    base = tmp_path_factory.mktemp("hostile")
    work = base / "grader-cwd"
    work.mkdir()
    old_cwd = os.getcwd()
    os.chdir(work)  # the grader's own working directory, checked below too
    listener = _Listener()
    runnable = [(n, r) for n, r in CASES if not r.startswith("bwrap") or isolation.bwrap_works() is None]
    fresh = {r: make_runner(r)() for r in {r for _, r in runnable if "pool" not in r}}
    pools: dict[str, queue.Queue] = {}
    for r in {r for _, r in runnable if "pool" in r}:
        pools[r] = queue.Queue()
        for _ in range(2):
            pools[r].put(make_runner(r)())

    def one(case: tuple[str, str]) -> Outcome:
        name, r = case
        if r in fresh:
            return _run_case(name, fresh[r], base / f"{name}-{r}", catalogue)
        runner = pools[r].get()
        try:
            outcome = _run_case(name, runner, base / f"{name}-{r}", catalogue)
            if runner.learner_processes():
                outcome.error = AssertionError(f"learner processes survived in the pool after {name}")
            return outcome
        finally:
            pools[r].put(runner)

    try:
        cwd_before = snapshot(work)
        with ThreadPoolExecutor(max_workers=4) as ex:
            outcomes = dict(zip(runnable, ex.map(one, runnable)))
        time.sleep(0.2)
        leftovers = [r.learner_processes() for r in fresh.values()]
        assert snapshot(work) == cwd_before, "the grader's working directory changed"
        yield outcomes, listener.connections, [p for group in leftovers for p in group]
    finally:
        os.chdir(old_cwd)
        listener.close()
        for q in pools.values():
            while not q.empty():
                close_runner(q.get())


@pytest.mark.parametrize("name,runner_name", CASES, ids=[f"{n}-{r}" for n, r in CASES])
def test_hostile_submission_is_contained(name, runner_name, contained):
    if runner_name.startswith("bwrap"):
        bwrap_or_skip()
    outcomes, connections, leftovers = contained
    outcome = outcomes[(name, runner_name)]
    if outcome.error is not None:
        raise outcome.error
    result = outcome.result
    assert result is not None
    expect = EXPECT[name]
    by = {i.item: i for i in result.items}
    for item, res in by.items():
        points, fragment = expect.get(item, (0, None))
        assert res.points == points, (item, res.feedback)
        if fragment:
            accepted = fragment if isinstance(fragment, tuple) else (fragment,)
            assert any(f in res.feedback for f in accepted), (item, res.feedback)
    assert result.sandbox_mode == runner_name.split("-")[0]
    assert outcome.elapsed < 60, "the grader stalled"
    assert outcome.after == outcome.before, "a file outside the scratch directory changed"
    assert connections == 0, "a learner reached a socket on 127.0.0.1"
    assert not leftovers, "learner processes survived a fresh run"
    if name == "loud_output_derivatives":
        assert len(result.stdout) < (64 << 10) + 100 and "more bytes not kept" in result.stdout
    if name == "read_solutions_derivatives":
        assert "LEAKS: none" in result.stdout
    if name == "network_derivatives":
        assert "REACHED: nothing" in result.stdout
    if name == "write_outside_derivatives" and "pool" not in runner_name:
        assert "WROTE: nothing" in result.stdout


def test_hostile_submission_among_good_ones_changes_nothing(catalogue):
    """One pool, good - hostile - good: the good results equal those of a fresh, separate run."""
    runner = make_runner("bwrap-pool")()
    good = ROOT / "tests" / "submissions" / "partly_wrong_derivatives.py"
    ex = catalogue["derivatives"]
    alone = [(i.item, i.points, i.feedback) for i in make_runner("bwrap")().grade(good, ex).items]
    first = [(i.item, i.points, i.feedback) for i in runner.grade(good, ex).items]
    for hostile in ("escaping_sleeper_derivatives", "fork_bomb_derivatives", "write_outside_derivatives"):
        runner.grade(HOSTILE / f"{hostile}.py", ex)
    second = [(i.item, i.points, i.feedback) for i in runner.grade(good, ex).items]
    close_runner(runner)
    assert first == alone == second


@pytest.mark.parametrize("name", ["write_outside_derivatives", "read_solutions_derivatives"])
def test_cli_grades_hostile_file_in_bwrap_mode_without_touching_its_folders(name, tmp_path):
    """End to end: ``grader grade --sandbox bwrap`` with the report in an output folder."""
    import subprocess
    import sys

    from .hostile_support import bwrap_or_skip

    bwrap_or_skip()
    subs, work, out = tmp_path / "subs", tmp_path / "work", tmp_path / "out"
    for d in (subs, work, out):
        d.mkdir()
    shutil.copy(HOSTILE / f"{name}.py", subs / f"{name}.py")
    before = snapshot(tmp_path)
    proc = subprocess.run([sys.executable, "-m", "grader.cli", "grade", str(subs / f"{name}.py"), "--sandbox", "bwrap",
                           "--timeout", "5", "--json", str(out / "results.json"), "--catalog", str(ROOT)],
                          cwd=work, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "Sandbox: bwrap" in proc.stdout
    after = snapshot(tmp_path)
    assert set(after) - set(before) == {str(out / "results.json")}
    assert all(after[k] == v for k, v in before.items())
    doc = json.loads((out / "results.json").read_text())
    scores = {t["name"].split(":")[0]: t["score"] for t in doc["tests"]}
    assert scores["d_exp"] == 0 and scores["d_log"] == 1
