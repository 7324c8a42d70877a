"""Leaves a grandchild in a new session (escapes killpg) that would later touch a file."""
import os
import time

MARK = os.path.join(os.environ.get("HOME", "."), "sleeper-was-here")


def d_exp(x):
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            time.sleep(3)
            for target in ("/tmp/grader-hostile-sleeper", MARK):
                try:
                    with open(target, "w") as fh:
                        fh.write("still alive")
                except OSError:
                    pass
        os._exit(0)
    return x


def d_log(x):
    return 1 / x
