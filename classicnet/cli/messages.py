"""Errors as the command line shows them: one line on standard error.

``fail()`` prints ``classicnet: MESSAGE`` and returns the exit status, so a
command ends with ``return fail(...)``.  ``explain_os_error()`` turns the
operating system's error on binding into what happened and what to do.
"""

import errno
import sys

__all__ = ["PROG", "explain_os_error", "fail", "warn"]

PROG = "classicnet"


def fail(message, status):
    """Print one line of error; return *status* (1 runtime, 2 usage)."""
    print(f"{PROG}: {message}", file=sys.stderr)
    return status


def warn(message):
    """Print one line of warning on standard error; carry on."""
    print(f"{PROG}: {message}", file=sys.stderr)


def explain_os_error(error, where=None):
    """One line for an OSError: what, and for a failed bind what to do.

    *where* is the endpoint the server tried to listen on, if any.
    """
    if where is None:
        return error.strerror or str(error)
    place = f" on {where}"
    if error.errno == errno.EADDRINUSE and isinstance(where.address, str):
        return (f"cannot listen{place}: a server is listening on that socket "
                "already (stop it, or give another --unix path)")
    if error.errno == errno.EADDRINUSE:
        return (f"cannot listen{place}: the address is already in use "
                "(another server is running there; try another --port, or --port 0)")
    if error.errno in (errno.EACCES, errno.EPERM):
        return (f"cannot listen{place}: permission denied "
                "(ports below 1024 need administrator rights; use 1024 or above)")
    if error.errno == errno.EADDRNOTAVAIL:
        return f"cannot listen{place}: {where.address[0]} is not an address of this machine"
    return f"cannot listen{place}: {error.strerror or error}"
