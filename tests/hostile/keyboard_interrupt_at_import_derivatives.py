"""Raises KeyboardInterrupt while being imported."""
raise KeyboardInterrupt


def d_log(x):
    return 1 / x
