"""Checking a server: probe a running server, whoever wrote it, against its protocol.

    python -m classicnet check echo --port 9000

A student's homework server (raw sockets, ``socketserver``, classicnet)
and a teacher's grading script need the same thing: a list of what the
protocol promises, each tried on the real server, each failure explained
by the lesson that cures it.  Every protocol is one module holding a
table, ``CHECKS``, of small functions (``report.Check``)::

    echo, upper   streams.py: bytes in any shape, answered in order
    hello         a greeting, Hello, NAME! per name, exit
    files         CNFP/1: list, get, put, the course notes' upload, names
                  that must be refused, uploads that must leave nothing
    chat          members who hear each other, and a room that survives

``clients.py`` adds the checks every protocol shares (the next client, two
clients at once, a client that vanishes).  ``probe.py`` is the only place
that connects to the server (through an ``endpoints.Endpoint``), and
``conversation.py`` the only one that talks to it: every wait bounded,
every byte counted for the report.  Traffic goes
only to the address given.  A protocol module is imported only when its
name is asked for.
"""

import importlib

from .report import run_checks

__all__ = ["PROTOCOLS", "check_server", "checks_for"]

# protocol -> the module of classicnet.check that holds its table
PROTOCOLS = {
    "echo": "echo",
    "upper": "upper",
    "hello": "hello",
    "files": "files",
    "chat": "chat",
}


def checks_for(protocol):
    """The table of checks for *protocol* (a key of ``PROTOCOLS``)."""
    module = importlib.import_module(f"{__name__}.{PROTOCOLS[protocol]}")
    return module.CHECKS


# Checks that a transport cannot carry.  TLS has no half-close: its
# close_notify ends the session both ways, and a socket-level
# shutdown(SHUT_WR) would cut the TLS record stream in two.
NOT_OVER = {"tls": {"half-close"}}


def check_server(protocol, endpoint, timeout=5.0, needs_concurrency=False):
    """Run every check of *protocol* that *endpoint*'s transport can carry
    against the server there; return the ``report.Report``."""
    left_out = NOT_OVER.get(endpoint.transport, set())
    checks = [check for check in checks_for(protocol) if check.name not in left_out]
    return run_checks(checks, endpoint, timeout, needs_concurrency)
