"""work: echo that first computes for ``--cost`` milliseconds of CPU, on TCP and UDP.

A stand-in for a CPU-bound service (parsing, compressing, rendering),
written in pure Python on purpose.  CPython runs Python code in one thread
of a process at a time: a thread must hold the *global interpreter lock*
(GIL) to execute bytecode.  So threads in one process cannot compute on two
cores at once, and a threading server runs this workload no faster than a
plain one; processes (forking) each have their own interpreter and GIL, and
do use every core.  ``python -m classicnet lab --workload work`` shows it.

The cost is measured in CPU time of the serving thread
(``time.thread_time``), not wall-clock time: a thread that waits for the
GIL is not working, so every message costs the same amount of computing
whatever else the machine is doing.
"""

import time

from ..contract import Option
from ..quantities import milliseconds
from ..registry import register
from .echo import EchoDatagramHandler, EchoHandler

# How many loop turns run between two looks at the clock.
STEPS_PER_CHECK = 200


def compute(milliseconds):
    """Keep the CPU busy in Python bytecode for *milliseconds* of thread CPU time."""
    deadline = time.thread_time() + milliseconds / 1000
    total = 0
    while time.thread_time() < deadline:
        for step in range(STEPS_PER_CHECK):
            total = (total * 31 + step) % 1_000_003
    return total


class Work:
    """The computing, shared by the TCP and the UDP handler."""

    options = (Option("--cost", "milliseconds of CPU to spend on each message",
                      milliseconds, 5.0, "MS"),)

    def transform(self, data):
        compute(self.server.options.cost)
        return data


@register("work", "tcp")
class WorkHandler(Work, EchoHandler):
    """Echo after --cost ms of pure-Python CPU per message (CPU-bound, shows the GIL)."""


@register("work", "udp")
class WorkDatagramHandler(Work, EchoDatagramHandler):
    """Echo each datagram after --cost ms of pure-Python CPU."""
