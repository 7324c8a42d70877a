"""Allocates until something gives."""


def d_exp(x):
    hoard = []
    while True:
        hoard.append(bytearray(16 << 20))


def d_log(x):
    return 1 / x
