"""Every way out of a function: SystemExit, sys.exit, KeyboardInterrupt, os._exit."""
import os
import sys


def d_exp(x):
    sys.exit(0)


def d_exp_neg(x):
    raise KeyboardInterrupt


def d_pow_base(x, a):
    os._exit(0)


def d_log(x):
    return 1 / x


def d_power(x, n):
    raise SystemExit(3)
