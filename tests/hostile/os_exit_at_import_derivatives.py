"""Ends the process with os._exit while being imported (no exception to catch)."""
import os

os._exit(0)


def d_log(x):
    return 1 / x
