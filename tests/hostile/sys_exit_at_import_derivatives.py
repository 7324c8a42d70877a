"""Stops the program while being imported."""
import sys

sys.exit("bye")


def d_log(x):
    return 1 / x
