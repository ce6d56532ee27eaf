"""The scoreboard: a few bytes that a prefork parent and its workers all see.

Processes share no memory, so how does the parent of a prefork server
know which workers are serving a client, and how does it tell them all to
stop?  Apache's answer is the *scoreboard*, a block of memory mapped
shared before the workers are forked: ``fork()`` copies the rest of the
parent's memory, but a shared mapping stays one, so a byte written by any
process is read by all of them.  No pipe, no signal, no lock: each byte
has one writer.

    byte 0        STOP, once the parent wants the workers to stop
    byte 1 + i    BUSY while worker i serves a client, IDLE between clients
"""

import mmap

__all__ = ["Scoreboard"]


class Scoreboard:
    """Memory shared by the parent and its workers: one byte per worker
    (IDLE or BUSY), and one byte the parent sets to STOP.

    An anonymous ``mmap`` is shared, not copied, by ``fork()``: a byte
    written by one process is read by all.
    """

    IDLE, BUSY, STOP = 0, 1, 1

    def __init__(self, workers):
        self.memory = mmap.mmap(-1, workers + 1)

    def mark(self, slot, state):
        self.memory[slot + 1] = state

    def busy(self, slots):
        """How many of *slots* are serving a client."""
        return sum(self.memory[slot + 1] == self.BUSY for slot in slots)

    def say_stop(self):
        self.memory[0] = self.STOP

    def stop_said(self):
        return self.memory[0] == self.STOP

    def close(self):
        self.memory.close()
