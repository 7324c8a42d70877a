"""The child side of the sandbox: import the learner's module, make the calls, stream results.

Runs in its own process, never in the grader's. Reads one JSON job from
stdin and writes JSON lines to the result descriptor (fd given in argv)::

    {"ev": "ready"}                          SymPy and NumPy imported
    {"ev": "import", "ok": true}             learner module imported
    {"ev": "import", "ok": false, "error": {...}}
    {"ev": "start", "id": "..."}             before each call
    {"ev": "done", "id": "...", "ok": true, "value": <wire value>, "used": [...], "args_after": [...]}
    {"ev": "done", "id": "...", "ok": false, "error": {...}, "used": [...]}

A "done" event also carries "warnings": ["RuntimeWarning: overflow ... (line 7)", ...]
when the call raised warnings (at most five distinct ones).

The job: {"path", "module", "calls": [...], "import_timeout", "workdir",
"drop_path", "cpu_seconds"} (``cpu_seconds``: the learner's CPU budget, counted
from after the imports). The fork server (``grader._zygote``) calls ``serve``
in a fresh fork with the same job instead of starting a new interpreter.

Everything the learner returns is encoded here into plain data; nothing is
pickled. The grader trusts none of it beyond the wire format's rules.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import json
import math
import os
import resource
import signal
import sys
import time
import traceback
import warnings
from typing import Any

import numpy as np
import sympy

from grader import encoding

_FORBIDDEN_NOW: set[str] = set()
_USED: set[str] = set()
_BLOCKED_PREFIXES = ("grader", "solutions", "exercises")
#: pure modules a reference file imports; allowed so references can be graded like submissions
_ALLOWED_MODULES = ("grader.spec", "grader.networks")


def skipped_after_timeout(function: str) -> str:
    """Why a call was not made: the same function already ran out of time on an earlier input."""
    return f"not run again: {function} already ran past its time limit on an earlier input"


class CallTimeout(BaseException):
    """Raised by the per-call alarm; a BaseException so ``except Exception`` cannot swallow it."""


class ForbiddenHelper(Exception):
    """The learner called a helper this item forbids (``sympy.diff`` in a derive-it-yourself item)."""


def _guard(name: str, original: Any) -> Any:
    def guarded(*args: Any, **kwargs: Any) -> Any:
        if name in _FORBIDDEN_NOW:
            _USED.add(name)
            raise ForbiddenHelper(f"{name} is not allowed in this item: derive it yourself")
        return original(*args, **kwargs)

    guarded.__name__ = getattr(original, "__name__", name)
    guarded.__doc__ = getattr(original, "__doc__", None)
    return guarded


def install_guards() -> None:
    """Wrap the SymPy helpers that items may forbid, before the learner imports SymPy names.

    Functions are replaced by guarded wrappers; classes keep their identity
    (so ``isinstance`` still works) and get a guarded ``__new__``.
    """
    import sympy.core.function as fn_mod
    import sympy.integrals.integrals as int_mod

    for name in ("diff", "integrate"):
        wrapped = _guard(name, getattr(sympy, name))
        setattr(sympy, name, wrapped)
    fn_mod.diff = sympy.diff
    int_mod.integrate = sympy.integrate
    for cls, name in ((sympy.Derivative, "Derivative"), (sympy.Subs, "Subs"), (sympy.Integral, "integrate")):
        cls.__new__ = staticmethod(_guard(name, cls.__new__))
    sympy.Expr.diff = _guard("diff", sympy.Expr.diff)


class _BlockGraderImports(importlib.abc.MetaPathFinder):
    """Refuse imports of the grader, the exercise bank and the reference solutions."""

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> None:
        if (fullname.split(".")[0] in _BLOCKED_PREFIXES and fullname not in sys.modules
                and fullname not in _ALLOWED_MODULES):
            raise ImportError(f"importing {fullname} is not allowed in a submission")
        return None


def _error(exc: BaseException, learner_file: str) -> dict[str, Any]:
    frames = []
    for fr in traceback.extract_tb(exc.__traceback__):
        if os.path.abspath(fr.filename) == learner_file:
            frames.append({"lineno": fr.lineno or 0, "function": fr.name, "text": (fr.line or "")[:300]})
    if isinstance(exc, SyntaxError):
        message = exc.msg or "invalid syntax"
        if exc.lineno:
            frames = [{"lineno": exc.lineno, "function": "<module>", "text": (exc.text or "").rstrip()[:300]}]
    else:
        try:
            message = str(exc)[:2000]
        except BaseException:  # a learner exception whose __str__ fails
            message = "(the exception's message could not be shown)"
    return {"type": type(exc).__name__[:100], "message": message, "frames": frames[-20:]}


class _Warnings:
    """Up to five distinct warnings raised during one call, as ``Category: message (line N)``.

    A bounded ``showwarning`` hook rather than ``catch_warnings(record=True)``,
    so a call that warns a million times does not keep a million records.
    """

    def __init__(self, learner_file: str) -> None:
        self.learner_file, self.lines = learner_file, []  # type: tuple[str, list[str]]

    def show(self, message: Any, category: Any, filename: str, lineno: int, file: Any = None,
             line: Any = None) -> None:
        if len(self.lines) >= 5:
            return
        where = f" (line {lineno})" if os.path.abspath(str(filename)) == self.learner_file else ""
        try:
            text = f"{category.__name__}: {str(message)[:200]}{where}"
        except BaseException:  # a learner warning whose __str__ fails
            text = f"{getattr(category, '__name__', 'Warning')}{where}"
        if text not in self.lines:
            self.lines.append(text)


def _resolve(arg: Any, results: dict[str, Any]) -> Any:
    if isinstance(arg, dict) and arg.get("t") == "ref":
        value = results.get(str(arg.get("id")))
        key = arg.get("key")
        if key is not None and isinstance(value, dict):
            value = value.get(key)
        return value
    return encoding.decode_value(arg)


def run(job: dict[str, Any], out: Any) -> None:
    """Execute one job: import the module at ``job['path']`` and make ``job['calls']``."""

    def emit(event: dict[str, Any]) -> None:
        out.write(json.dumps(event, separators=(",", ":")) + "\n")
        out.flush()

    learner_file = os.path.abspath(job["path"])
    install_guards()
    sys.meta_path.insert(0, _BlockGraderImports())
    emit({"ev": "ready"})

    def on_alarm(signum: int, frame: Any) -> None:
        raise CallTimeout()

    signal.signal(signal.SIGALRM, on_alarm)
    try:
        signal.setitimer(signal.ITIMER_REAL, float(job.get("import_timeout", 10)))
        spec = importlib.util.spec_from_file_location(job.get("module", "submission"), learner_file)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot import {os.path.basename(learner_file)} as a Python module")
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        signal.setitimer(signal.ITIMER_REAL, 0)
    except CallTimeout:
        emit({"ev": "import", "ok": False,
              "error": {"type": "Timeout", "message": "importing the file took too long", "frames": []}})
        return
    except BaseException as exc:  # the learner's file failed to import: report it as data
        signal.setitimer(signal.ITIMER_REAL, 0)
        emit({"ev": "import", "ok": False, "error": _error(exc, learner_file)})
        return
    emit({"ev": "import", "ok": True})

    results: dict[str, Any] = {}
    timed_out: set[str] = set()  # a function that hung once would hang again: one timeout per function
    for call in job["calls"]:
        cid = call["id"]
        emit({"ev": "start", "id": cid})
        if call["function"] in timed_out:
            emit({"ev": "done", "id": cid, "ok": False, "timeout": True, "used": [], "error": {
                "type": "Timeout", "frames": [], "message": skipped_after_timeout(call["function"])}})
            continue
        _USED.clear()
        _FORBIDDEN_NOW.clear()
        _FORBIDDEN_NOW.update(call.get("forbid", ()))
        func = getattr(module, call["function"], None)
        if not callable(func):
            emit({"ev": "done", "id": cid, "ok": False, "missing": True, "used": [],
                  "error": {"type": "MissingFunction", "message": f"no function named {call['function']}",
                            "frames": []}})
            continue
        started = time.perf_counter()
        caught = _Warnings(learner_file)
        try:
            args = [_resolve(a, results) for a in call.get("args", [])]
            with warnings.catch_warnings():  # warnings go back to the grader, once per place
                warnings.simplefilter("default")
                warnings.showwarning = caught.show
                signal.setitimer(signal.ITIMER_REAL, float(call.get("timeout", 10)))
                try:
                    value = func(*args)
                finally:
                    signal.setitimer(signal.ITIMER_REAL, 0)
            _FORBIDDEN_NOW.clear()
            results[cid] = value
            event: dict[str, Any] = {"ev": "done", "id": cid, "ok": True, "value": encoding.encode_value(value)}
            if call.get("report_args"):
                event["args_after"] = [encoding.encode_value(a) for a in args]
        except CallTimeout:
            timed_out.add(call["function"])
            event = {"ev": "done", "id": cid, "ok": False, "timeout": True,
                     "error": {"type": "Timeout", "frames": [],
                               "message": f"{call['function']} ran for more than {call.get('timeout', 10):g} s"}}
        except BaseException as exc:  # learner failure, including SystemExit/KeyboardInterrupt
            event = {"ev": "done", "id": cid, "ok": False, "error": _error(exc, learner_file)}
        _FORBIDDEN_NOW.clear()
        if caught.lines:
            event["warnings"] = caught.lines
        event["used"] = sorted(_USED)
        event["seconds"] = round(time.perf_counter() - started, 6)
        emit(event)


def main() -> None:
    """Entry point: ``python -c '...; grader._child.main()' FD`` with the job on stdin."""
    fd = int(sys.argv[1])
    job = json.loads(sys.stdin.read())
    sys.stdin.close()
    serve(job, fd)


def _cpu_budget_from_now(seconds: Any) -> None:
    """Give the learner ``seconds`` of CPU time from here on (importing SymPy/NumPy is not theirs)."""
    if not isinstance(seconds, int) or seconds <= 0:
        return
    usage = resource.getrusage(resource.RUSAGE_SELF)
    soft = math.ceil(usage.ru_utime + usage.ru_stime + seconds)
    try:
        resource.setrlimit(resource.RLIMIT_CPU, (soft, soft + 1))
    except (ValueError, OSError):
        pass


def serve(job: dict[str, Any], fd: int) -> None:
    """Run ``job`` writing events to ``fd``, then end the process (also used by the fork server)."""
    out = os.fdopen(fd, "w", encoding="utf-8")
    np.seterr(all="warn")
    root = job.get("drop_path")
    if root and root in sys.path:
        sys.path.remove(root)
    os.chdir(job.get("workdir", "."))
    _cpu_budget_from_now(job.get("cpu_seconds"))
    try:
        run(job, out)
    finally:
        try:
            out.flush()
            for stream in (sys.stdout, sys.stderr):  # what the learner printed (os._exit skips this)
                try:
                    stream.flush()
                except BaseException:  # a learner-replaced stream: its output is its problem
                    pass
        finally:
            os._exit(0)


if __name__ == "__main__":
    main()
