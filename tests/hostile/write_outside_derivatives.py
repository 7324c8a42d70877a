"""Tries to write and delete files outside its scratch directory.

Targets: its own file and folder, the grader's working directory and output
folder (found through /proc of the parent process), /tmp. Prints what worked;
the tests check the files themselves.
Run it only in bwrap mode: without isolation these writes succeed.
"""
import os
import shutil

from sympy import exp

DONE = []


def _try(what, action):
    try:
        action()
        DONE.append(what)
    except BaseException:
        pass


def _parent_dirs():
    dirs = [os.path.dirname(os.path.abspath(__file__))]
    pid = os.getppid()
    for _ in range(3):
        try:
            dirs.append(os.readlink(f"/proc/{pid}/cwd"))
            with open(f"/proc/{pid}/cmdline", "rb") as fh:
                for arg in fh.read().split(b"\0"):
                    text = arg.decode(errors="replace")
                    if os.path.isabs(text):
                        dirs.append(text if os.path.isdir(text) else os.path.dirname(text))
            with open(f"/proc/{pid}/stat", "rb") as fh:
                pid = int(fh.read().rsplit(b")", 1)[1].split()[1])
        except (OSError, ValueError):
            break
    return [d for d in dirs if d not in ("/", "")]


def _write(path):
    with open(path, "w") as fh:
        fh.write("pwned")


def d_exp(x):
    _write("scratch-file.txt")  # its own scratch dir: allowed
    for d in _parent_dirs():
        _try(f"write {d}", lambda d=d: _write(os.path.join(d, "pwned.txt")))
    _try("write /tmp", lambda: _write("/tmp/grader-hostile-pwned"))
    _try("delete own file", lambda: os.remove(os.path.abspath(__file__)))
    _try("delete own folder", lambda: shutil.rmtree(os.path.dirname(os.path.abspath(__file__))))
    print("WROTE:", DONE if DONE else "nothing")
    return x


def d_log(x):
    return 1 / x
