"""slow: echo that waits ``--delay`` milliseconds before each answer, on TCP and UDP.

A stand-in for an I/O-bound service: a handler that spends its time
*waiting* (for a database, a disk, another server) rather than computing.
While it waits it holds no lock and uses no CPU, so a server that serves
clients at the same time (threads, processes) overlaps the waits, and one
that serves a client at a time (plain) adds them up.  The concurrency lab
(``python -m classicnet lab --workload slow``) measures exactly that.
"""

import time

from ..contract import Option
from ..quantities import milliseconds
from ..registry import register
from .echo import EchoDatagramHandler, EchoHandler


class Slow:
    """The waiting, shared by the TCP and the UDP handler."""

    options = (Option("--delay", "milliseconds to wait before each answer",
                      milliseconds, 10.0, "MS"),)

    def transform(self, data):
        time.sleep(self.server.options.delay / 1000)    # sleeping releases the GIL
        return data


@register("slow", "tcp")
class SlowHandler(Slow, EchoHandler):
    """Echo after waiting --delay ms per message (I/O-bound, like a database call)."""


@register("slow", "udp")
class SlowDatagramHandler(Slow, EchoDatagramHandler):
    """Echo each datagram after waiting --delay ms."""
