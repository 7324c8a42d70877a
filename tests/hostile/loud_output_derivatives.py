"""Prints megabytes to stdout and stderr, then answers correctly."""
import sys

from sympy import exp

print("x" * (8 << 20))


def d_exp(x):
    sys.stderr.write("e" * (8 << 20))
    for _ in range(200):
        print("y" * 50_000)
    return exp(x)


def d_log(x):
    return 1 / x
