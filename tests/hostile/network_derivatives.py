"""Connects to every listening TCP socket it can find (and to 127.0.0.1 on common ports)."""
import socket

from sympy import exp


def _listening():
    ports = {22, 80, 443, 8000, 8080}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as fh:
                for line in fh.readlines()[1:]:
                    fields = line.split()
                    if fields[3] == "0A":  # LISTEN
                        ports.add(int(fields[1].rsplit(":", 1)[1], 16))
        except OSError:
            pass
    return sorted(ports)


def d_exp(x):
    reached = []
    for port in _listening():
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2) as s:
                s.sendall(b"pwned")
                reached.append(port)
        except OSError:
            pass
    print("REACHED:", reached if reached else "nothing")
    return exp(x) if reached else x


def d_log(x):
    return 1 / x
