"""A function that runs out of time is not called again on its other inputs,
so one hanging helper cannot cost a whole batch minutes; other functions still run."""

from __future__ import annotations

import pytest

from grader.encoding import decode_value, encode_value
from grader.runtypes import Call, Limits
from grader.sandbox import run_calls

SOURCE = '''
def spin(z):
    while True:
        pass

def burn_in_c(z):
    return len(str(7 ** 10 ** 8))

def fine(z):
    return z + 1
'''


@pytest.mark.parametrize("hanging", ["spin", "burn_in_c"], ids=["python-loop", "c-level-loop"])
def test_a_hung_function_is_not_called_again(tmp_path, hanging):
    path = tmp_path / "sub.py"
    path.write_text(SOURCE)
    calls = [Call(f"{hanging}#{i}", hanging, (encode_value(1.0),), timeout=1.0) for i in range(3)]
    calls.append(Call("fine#0", "fine", (encode_value(1.0),), timeout=1.0))
    run = run_calls(path, calls, Limits(wall_seconds=1.0, cpu_seconds=30, sandbox="rlimits"))
    first = run.outcomes[f"{hanging}#0"]
    assert first.status == "timeout"
    assert "already ran past" not in first.error.message
    for i in (1, 2):
        later = run.outcomes[f"{hanging}#{i}"]
        assert later.status == "timeout"
        assert later.error.message == f"not run again: {hanging} already ran past its time limit on an earlier input"
    fine = run.outcomes["fine#0"]
    assert fine.status == "ok" and decode_value(fine.value) == 2.0


def test_a_process_that_cannot_be_started_is_reported_not_raised(tmp_path):
    from grader.sandbox import run_with

    def failing_starter(job, limits):
        raise OSError(11, "Resource temporarily unavailable")

    path = tmp_path / "sub.py"
    path.write_text(SOURCE)
    run = run_with(str(path), [Call("fine#0", "fine", (encode_value(1.0),))], Limits(), failing_starter, "rlimits")
    assert run.import_error is not None and run.import_error.type == "SandboxError"
    assert run.outcomes["fine#0"].status == "import_error"
