"""The fork-server pool: same results as fresh runs, and nothing crosses from one learner to the next."""

from __future__ import annotations

import os
import signal
import time

import pytest

from grader.forkserver import SandboxPool
from grader.grading import grade_file

from .conftest import SUBMISSIONS
from .hostile_support import HOSTILE_LIMITS, bwrap_or_skip, descendants

LEARNER_A = '''
import builtins, os, sys, time
import numpy, sympy
os.environ["LEAKED_SECRET"] = "from-A"
sympy.LEAKED = builtins.LEAKED = numpy.LEAKED = "from-A"
sympy.exp = lambda *a: sympy.Integer(0)
targets = [".", os.environ["HOME"], os.path.dirname(os.getcwd()), os.path.dirname(os.path.abspath(__file__))]
try:
    if "grader._zygote" in open("/proc/1/cmdline").read():  # bwrap: these are the sandbox's own
        targets += ["/scratch", "/tmp", "/dev/shm", "/var/tmp"]
except OSError:
    pass  # rlimits mode: host-wide folders are not protected, do not litter them
for d in targets:
    try:
        with open(os.path.join(d, "a-was-here.txt"), "w") as fh:
            fh.write("A")
    except OSError:
        pass
pid = os.fork()
if pid == 0:
    os.setsid()
    time.sleep(60)
    os._exit(0)
print("SLEEPER", pid)

def d_exp(x):
    return x
'''

LEARNER_B = '''
import builtins, os, sys
import numpy, sympy
from sympy import exp
found = []
if "LEAKED_SECRET" in os.environ:
    found.append("env")
for name, mod in (("sympy", sympy), ("builtins", builtins), ("numpy", numpy)):
    if hasattr(mod, "LEAKED"):
        found.append("global:" + name)
if exp(sympy.Symbol("x")) == 0:
    found.append("patched sympy.exp")
roots = {".", os.environ["HOME"], os.path.dirname(os.getcwd()), os.path.dirname(os.path.abspath(__file__)),
         "/scratch", "/tmp", "/dev/shm", "/var/tmp"}
for root in roots:
    for top, dirs, files in os.walk(root):
        if "a-was-here.txt" in files:
            found.append("file:" + top)
try:
    in_namespace = "grader._zygote" in open("/proc/1/cmdline").read()
except OSError:
    in_namespace = False
if in_namespace:
    mine = {os.getpid(), 1}
    others = [p for p in os.listdir("/proc") if p.isdigit() and int(p) not in mine]
    if others:
        found.append("processes:" + ",".join(others))
print("FOUND", found)

def d_exp(x):
    return exp(x)
'''


@pytest.fixture(params=["bwrap", "rlimits"])
def pool(request):
    if request.param == "bwrap":
        bwrap_or_skip()
    with SandboxPool(HOSTILE_LIMITS, mode=request.param) as p:
        yield p


def _run(pool, path, catalogue):
    return grade_file(path, catalogue["derivatives"], HOSTILE_LIMITS, runner=pool.run)


def test_learner_b_sees_nothing_learner_a_left(pool, catalogue, tmp_path):
    a_dir, b_dir = tmp_path / "alice", tmp_path / "bob"
    a_dir.mkdir()
    b_dir.mkdir()
    (a_dir / "alice_derivatives.py").write_text(LEARNER_A)
    (b_dir / "bob_derivatives.py").write_text(LEARNER_B)
    a = _run(pool, a_dir / "alice_derivatives.py", catalogue)
    sleeper = int(a.stdout.split("SLEEPER", 1)[1].split()[0])
    assert a.sandbox_mode == pool.mode
    if pool.mode == "rlimits":  # host pid: it must be gone (the zygote is a subreaper and swept it)
        with pytest.raises(ProcessLookupError):
            os.kill(sleeper, 0)
    b = _run(pool, b_dir / "bob_derivatives.py", catalogue)
    assert "FOUND []" in b.stdout, b.stdout
    assert {i.item: i.points for i in b.items}["d_exp"] == 1
    assert pool.started == 1  # same zygote: isolation came from fresh forks, not restarts
    assert not list((tmp_path).rglob("a-was-here.txt")) or pool.mode == "rlimits"


def test_pool_grades_like_fresh_runs(pool, catalogue):
    path = SUBMISSIONS / "partly_wrong_derivatives.py"
    fresh = grade_file(path, catalogue["derivatives"], HOSTILE_LIMITS.__class__(
        **{**HOSTILE_LIMITS.__dict__, "sandbox": pool.mode}))
    pooled = [_run(pool, path, catalogue) for _ in range(3)]
    want = [(i.item, i.points, i.feedback) for i in fresh.items]
    assert all([(i.item, i.points, i.feedback) for i in r.items] == want for r in pooled)


def test_learner_cannot_kill_the_zygote_and_a_dead_zygote_is_replaced(pool, catalogue, tmp_path):
    path = tmp_path / "killer_derivatives.py"
    path.write_text("import os, signal\nfor pid in (1, os.getppid()):\n    try:\n"
                    "        os.kill(pid, signal.SIGKILL)\n    except OSError:\n        pass\n"
                    "def d_exp(x):\n    return x\n")
    good_file = SUBMISSIONS / "partly_wrong_derivatives.py"
    _run(pool, path, catalogue)
    if pool.mode == "bwrap":
        assert pool.started == 1  # PID 1 of the namespace ignores a SIGKILL from inside
    first = _run(pool, good_file, catalogue)  # rlimits: the learner could kill it; a new one took over
    assert first.score > 0 and first.import_error is None
    started = pool.started
    zygote = pool._proc.pid if pool.mode == "rlimits" else descendants(pool._proc.pid)[0]
    os.kill(zygote, signal.SIGKILL)
    again = _run(pool, good_file, catalogue)
    assert [i.points for i in again.items] == [i.points for i in first.items]
    assert pool.started == started + 1


def test_timeout_in_pool_kills_only_that_learner(pool, catalogue, tmp_path):
    path = tmp_path / "stuck_derivatives.py"
    path.write_text("import hashlib\nfrom sympy import exp\n"
                    "def d_exp(x):\n    hashlib.pbkdf2_hmac('sha256', b'p', b's', 2_000_000_000)\n\n"
                    "def d_log(x):\n    return 1 / x\n")
    result = _run(pool, path, catalogue)
    by = {i.item: i for i in result.items}
    assert by["d_exp"].points == 0 and by["d_exp"].diagnosis == "timeout"
    assert by["d_log"].points == 1
    assert pool.started == 1


def test_learner_that_closes_its_streams_and_lingers_is_killed(pool, catalogue, tmp_path):
    path = tmp_path / "quiet_derivatives.py"
    path.write_text("import os, time\nfor fd in range(1, 64):\n    try:\n        os.close(fd)\n"
                    "    except OSError:\n        pass\ntime.sleep(60)\n")
    started = time.monotonic()
    result = _run(pool, path, catalogue)
    assert result.score == 0 and result.import_error is not None
    assert time.monotonic() - started < 15
    good = _run(pool, SUBMISSIONS / "partly_wrong_derivatives.py", catalogue)
    assert good.score > 0
