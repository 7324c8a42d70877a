"""Burns CPU inside C code: a loop that never checks for signals, and a huge integer power."""
import hashlib


def d_exp(x):
    hashlib.pbkdf2_hmac("sha256", b"password", b"salt", 2_000_000_000)  # no bytecode boundary for an alarm
    return x


def d_exp_neg(x):
    n = 10
    return n ** n ** 8  # CPython checks signals inside big-int multiplication


def d_log(x):
    return 1 / x
