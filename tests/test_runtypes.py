"""The run types: one constructor per way a call ends, each naming the limit that stopped it."""

from __future__ import annotations

import signal

import pytest

from grader.runtypes import CallOutcome, Limits

LIMITS = Limits(cpu_seconds=7, memory_bytes=512 << 20, file_bytes=4 << 20)


def test_done_event_ok_keeps_value_warnings_and_arguments_after():
    ev = {"ev": "done", "id": "a", "ok": True, "value": {"t": "int", "v": 3}, "used": ["np.gradient", 5],
          "args_after": [1, 2], "seconds": 0.25, "warnings": ["RuntimeWarning: overflow (line 3)", 7]}
    out = CallOutcome.from_event(ev, LIMITS)
    assert (out.call_id, out.status, out.value, out.args_after, out.seconds) == ("a", "ok", ev["value"], (1, 2), 0.25)
    assert out.used_forbidden == ("np.gradient",) and out.warnings == ("RuntimeWarning: overflow (line 3)",)


@pytest.mark.parametrize("ev,status,message", [
    ({"ok": False, "error": {"type": "MemoryError", "message": ""}}, "error", "used more than 512 MiB of memory"),
    ({"ok": False, "error": {"type": "OSError", "message": "[Errno 27] File too large"}}, "error",
     "wrote a file larger than 4 MiB"),
    ({"ok": False, "missing": True, "error": {"type": "AttributeError", "message": "no f"}}, "missing", "no f"),
    ({"ok": False, "timeout": True, "error": {"type": "Timeout", "message": "ran for more"}}, "timeout", "ran for"),
    ({"ok": False, "error": "not a dict"}, "error", "malformed error"),
], ids=["memory", "file", "missing", "timeout", "malformed"])
def test_done_event_failure_names_the_limit(ev, status, message):
    out = CallOutcome.from_event(dict(ev, id="x", seconds="soon"), LIMITS)
    assert out.status == status and out.error is not None and message in out.error.message
    assert out.seconds == 0.0


@pytest.mark.parametrize("why,code,status,message", [
    ("exited", -signal.SIGXCPU, "timeout", "stopped after 7 s of CPU time"),  # e.g. a memory bomb slowed by paging
    ("exited", -signal.SIGKILL, "crashed", "killed by SIGKILL"),
    ("exited", -signal.SIGXFSZ, "crashed", "larger than 4 MiB"),
    ("timeout", None, "timeout", "stopped after 2 s of wall-clock time"),
    ("exited", 3, "crashed", "exited (status 3)"),
    ("exited", None, "crashed", "could not run it"),
], ids=["cpu", "killed", "file", "wall", "exit", "unknown"])
def test_stopped_process_is_reported_by_the_limit_that_fired(why, code, status, message):
    out = CallOutcome.stopped("x", why, code, LIMITS, wall=2.0)
    assert out.status == status and out.error is not None and message in out.error.message


def test_wall_budget_never_exceeds_the_run_limit():
    assert Limits(wall_seconds=3).wall_for(10) == 3 and Limits(wall_seconds=3).wall_for(1.5) == 1.5
