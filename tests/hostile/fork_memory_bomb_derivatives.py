"""Each forked child stays under the per-process memory limit, but together they would not:
returns how many children kept their memory to the end (all of them without a shared budget)."""
import os
import time

CHILDREN = 6
CHUNK = 300 << 20


def d_exp(x):
    pids = []
    for _ in range(CHILDREN):
        pid = os.fork()
        if pid == 0:
            try:
                block = b"x" * CHUNK  # touches every page
                time.sleep(0.8)
                os._exit(0 if len(block) == CHUNK else 1)
            except BaseException:
                os._exit(2)
        pids.append(pid)
    survived = 0
    for pid in pids:
        _, status = os.waitpid(pid, 0)
        survived += os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    return survived


def d_log(x):
    return 1 / x
