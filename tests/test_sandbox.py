"""The sandbox itself: mode detection, the bwrap command, and what a learner process can see from inside."""

from __future__ import annotations

import json
import os
import sys

import pytest

from grader import isolation
from grader.errors import UsageError
from grader.runtypes import Call, Limits
from grader.sandbox import run_calls

from .conftest import ROOT
from .hostile_support import HOSTILE_LIMITS, bwrap_or_skip

PROBE = '''
import json, os, socket, sys
facts = {"uid": os.getuid(), "euid": os.geteuid(), "cwd": os.getcwd(), "cwd_entries": os.listdir("."),
         "env": sorted(os.environ), "grader_on_path": any(p.endswith("/main") for p in sys.path)}
def can_read(p):
    try:
        with open(p, "rb") as fh:
            fh.read(1)
        return True
    except OSError:
        return False
facts["read"] = {p: can_read(p) for p in ("/etc/shadow", "/root/.bashrc", "/proc/1/environ", "/proc/1/mem",
                                          os.path.join({root!r}, "solutions", "derivatives.py"))}
facts["exists"] = {p: os.path.exists(p) for p in ({root!r} + "/solutions", {root!r} + "/tests", "/home", "/etc/passwd")}
try:
    os.setuid(0)
    facts["setuid0"] = True
except OSError:
    facts["setuid0"] = False
try:
    with open(sys.executable + "-pwned", "w"):
        pass
    facts["wrote_prefix"] = True
except OSError:
    facts["wrote_prefix"] = False
with open("scratch.txt", "w") as fh:
    fh.write("ok")
facts["scratch_write"] = True
try:
    socket.create_connection(("127.0.0.1", {port}), timeout=1).close()
    facts["net"] = True
except OSError:
    facts["net"] = False
import resource
facts["nproc"] = resource.getrlimit(resource.RLIMIT_NPROC)[0]
facts["as"] = resource.getrlimit(resource.RLIMIT_AS)[0]
print("FACTS" + json.dumps(facts))
'''


def _facts(tmp_path, mode: str) -> dict:
    import socket

    server = socket.create_server(("127.0.0.1", 0))
    try:
        src = PROBE.replace("{root!r}", repr(str(ROOT))).replace("{port}", str(server.getsockname()[1]))
        path = tmp_path / "probe.py"
        path.write_text(src)
        result = run_calls(path, [], Limits(**{**HOSTILE_LIMITS.__dict__, "sandbox": mode}))
    finally:
        server.close()
    assert result.import_error is None, result.import_error
    assert result.mode == mode
    line = next(ln for ln in result.stdout.splitlines() if ln.startswith("FACTS"))
    return json.loads(line[5:])


def test_bwrap_child_sees_only_what_it_needs(tmp_path):
    bwrap_or_skip()
    facts = _facts(tmp_path, "bwrap")
    if os.geteuid() == 0:
        assert facts["uid"] != 0 and facts["euid"] != 0
        assert facts["nproc"] == HOSTILE_LIMITS.processes
    assert not any(facts["read"].values()), facts["read"]
    assert facts["exists"] == {str(ROOT) + "/solutions": False, str(ROOT) + "/tests": False,
                               "/home": False, "/etc/passwd": False}
    assert facts["setuid0"] is False and facts["wrote_prefix"] is False
    assert facts["scratch_write"] and facts["cwd"] == isolation.SCRATCH and facts["cwd_entries"] == []
    assert facts["net"] is False
    assert facts["as"] == HOSTILE_LIMITS.memory_bytes
    assert set(facts["env"]) <= set(isolation.child_env("/x")) | {"LC_CTYPE", "PWD"}


def test_rlimits_child_gets_a_scrubbed_environment_and_empty_workdir(tmp_path, monkeypatch):
    monkeypatch.setenv("GRADER_SECRET_TOKEN", "do-not-leak")
    facts = _facts(tmp_path, "rlimits")
    assert "GRADER_SECRET_TOKEN" not in facts["env"]
    assert set(facts["env"]) <= set(isolation.child_env("/x")) | {"LC_CTYPE"}
    assert facts["cwd_entries"] == [] and facts["cwd"] != os.getcwd()
    assert facts["as"] == HOSTILE_LIMITS.memory_bytes


def test_bwrap_command_binds_no_catalogue_and_drops_privileges():
    argv = isolation.bwrap_argv(["python"], uid=1_700_000_123, scratch_bytes=1 << 20,
                                submission=(7, "/submission/alice_derivatives.py"))
    sources = {argv[i + 1] for i, a in enumerate(argv) if a in ("--ro-bind", "--bind")}
    assert str(ROOT) not in sources and str(ROOT / "solutions") not in sources
    assert not any(s.endswith("/solutions") or s.endswith("/exercises") for s in sources)
    i = argv.index("--file")
    assert argv[i - 2:i + 3] == ["--perms", "0444", "--file", "7", "/submission/alice_derivatives.py"]
    assert "--bind" not in argv  # everything from the host is read-only
    for flag in ("--unshare-net", "--unshare-pid", "--die-with-parent", "--new-session", "--clearenv"):
        assert flag in argv
    for masked in isolation.catalogue_masks():
        assert argv[argv.index(masked) - 1] == "--tmpfs"
    if os.geteuid() == 0:
        tail = argv[argv.index("--") + 1:]
        assert tail[0].endswith("setpriv") and "--reuid=1700000123" in tail and "--no-new-privs" in tail
        assert "--unshare-user" not in argv  # a user namespace would map the sandbox uid back to root


def test_resolve_mode_rejects_unknown_and_explains_unavailable(monkeypatch):
    with pytest.raises(UsageError, match="unknown sandbox mode 'docker'"):
        isolation.resolve_mode("docker")
    assert isolation.resolve_mode("rlimits") == "rlimits"
    monkeypatch.setattr(isolation, "bwrap_works", lambda: "bubblewrap (bwrap) is not installed")
    assert isolation.resolve_mode("auto") == "rlimits"
    with pytest.raises(UsageError, match="--sandbox bwrap is not available: bubblewrap"):
        isolation.resolve_mode("bwrap")


def test_private_uids_differ_between_sandboxes():
    if os.geteuid() != 0:
        pytest.skip("private uids are only used when the grader runs as root")
    uids = {isolation.next_uid() for _ in range(50)}
    assert len(uids) == 50 and min(uids) >= 1_700_000_000


def test_file_size_limit_stops_a_writer(tmp_path):
    path = tmp_path / "big_derivatives.py"
    path.write_text("def d_exp(x):\n    with open('big', 'wb') as fh:\n"
                    "        for _ in range(64):\n            fh.write(b'x' * (1 << 20))\n    return x\n")
    limits = Limits(**{**HOSTILE_LIMITS.__dict__, "file_bytes": 4 << 20, "sandbox": "rlimits"})
    out = run_calls(path, [Call("a", "d_exp", ({"t": "int", "v": "1"},))], limits).outcomes["a"]
    assert out.status == "error" and out.error.message == "wrote a file larger than 4 MiB (the limit)"


def test_interpreter_runs_isolated_without_bytecode():
    assert isolation.python_argv() == [sys.executable, "-I", "-B"]


def test_every_installed_catalogue_on_the_path_is_masked(tmp_path, monkeypatch):
    """A checkout may run while the venv also holds an installed copy with grader/_catalog."""
    other = tmp_path / "site-packages"
    (other / "grader" / "_catalog" / "solutions").mkdir(parents=True)
    monkeypatch.setattr(sys, "path", sys.path + [str(other)])
    assert str(other / "grader" / "_catalog") in isolation.catalogue_masks()


def test_private_submission_file_is_still_readable_by_the_sandbox_user(tmp_path, catalogue):
    """A submission saved with mode 600 by root must still be graded (bwrap copies it in)."""
    from grader.grading import grade_file

    bwrap_or_skip()
    path = tmp_path / "private_derivatives.py"
    path.write_text("from sympy import exp\n\ndef d_exp(x):\n    return exp(x)\n")
    path.chmod(0o600)
    result = grade_file(path, catalogue["derivatives"], Limits(**{**HOSTILE_LIMITS.__dict__, "sandbox": "bwrap"}))
    assert result.import_error is None
    assert {i.item: i.points for i in result.items}["d_exp"] == 1


def test_non_root_bwrap_command_is_valid(monkeypatch):
    """The ordinary-user variant (user namespace, no setpriv), run here as uid 65534 with Debian's python."""
    import shutil
    import subprocess

    bwrap_or_skip()
    if os.geteuid() != 0 or not os.path.exists("/usr/bin/python3") or not shutil.which("setpriv"):
        pytest.skip("needs root (to become uid 65534) and /usr/bin/python3")
    monkeypatch.setattr(isolation, "_is_root", lambda: False)
    monkeypatch.setattr(isolation, "_bind_roots", lambda: [])  # uid 65534 cannot reach /root/.pyenv
    monkeypatch.setattr(isolation, "catalogue_masks", lambda: [])
    probe = "import os, socket\ntry:\n    socket.create_connection(('1.1.1.1', 53), timeout=1)\n    net = 1\n" \
            "except OSError:\n    net = 0\nprint(os.getuid(), os.getpid(), net, sorted(os.listdir('/')))"
    argv = isolation.bwrap_argv(["/usr/bin/python3", "-I", "-S", "-c", probe], uid=65534, scratch_bytes=1 << 20)
    assert "setpriv" not in " ".join(argv) and "--unshare-user" in argv
    proc = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *argv],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    uid, pid, net, root = proc.stdout.split(" ", 3)
    assert (uid, net) == ("65534", "0") and int(pid) <= 3
    assert "root" not in root and "home" not in root and "scratch" in root


def test_process_limit_is_private_uid_budget_as_root_and_added_budget_otherwise(monkeypatch):
    if os.geteuid() == 0:
        assert isolation.process_limit(16, "bwrap") == 16
        assert isolation.process_limit(16, "rlimits") is None  # root is exempt from RLIMIT_NPROC
    monkeypatch.setattr(os, "geteuid", lambda: 4242)
    monkeypatch.setattr(os, "getuid", lambda: 0)  # count root's tasks as if they were the user's
    running = isolation.process_limit(0, "rlimits")
    assert running is not None and running > 1
    assert isolation.process_limit(16, "bwrap") >= running + 16 - 5  # a few tasks may come and go


def test_environment_decides_what_auto_means(monkeypatch):
    monkeypatch.setenv("GRADER_SANDBOX", "rlimits")
    monkeypatch.setattr(isolation, "bwrap_works", lambda: None)
    assert isolation.resolve_mode("auto") == "rlimits"
    assert isolation.resolve_mode("bwrap") == "bwrap"  # an explicit request wins
    monkeypatch.setenv("GRADER_SANDBOX", "auto")
    assert isolation.resolve_mode("auto") == "bwrap"
    monkeypatch.setenv("GRADER_SANDBOX", "bwrap")
    monkeypatch.setattr(isolation, "bwrap_works", lambda: "bubblewrap (bwrap) is not installed")
    with pytest.raises(UsageError, match=r"\$GRADER_SANDBOX=bwrap is not available"):
        isolation.resolve_mode("auto")
    monkeypatch.setenv("GRADER_SANDBOX", "docker")
    with pytest.raises(UsageError, match=r"unknown sandbox mode 'docker' in \$GRADER_SANDBOX"):
        isolation.resolve_mode("auto")
