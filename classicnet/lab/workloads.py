"""The lab's workloads: which handler serves, and how the clients behave.

Every workload answers each message with the message itself (they are
all echo at heart), so the load generator checks every reply the same way.
What changes is what the server does before answering, and how often
clients connect::

    workload   handler   requests per connection   what it shows
    --------   -------   -----------------------   ----------------------------
    echo       echo      100                       the cost of the model itself
    slow       slow      10                        waiting (I/O) overlaps
    work       work      10                        computing (the GIL) does not
    churn      echo      1                         the cost of a new connection
    idle       echo      1, then held open         memory per connection

A workload with *work* names the handler's own option that sets how much
(``--delay`` or ``--cost``) and its default, so that the asyncio reference
is given the same amount of work as the models.
"""

from dataclasses import dataclass

__all__ = ["MESSAGE_SIZE", "WORKLOADS", "Workload"]

# Every request is this many bytes, and so is every reply.
MESSAGE_SIZE = 64


@dataclass(frozen=True)
class Workload:
    """One row of the table above."""

    name: str
    handler: str
    requests_per_connection: int
    description: str
    work: tuple = None          # (the handler's flag, its default), or None
    memory: bool = False        # measures memory held, not speed (idle)


WORKLOADS = {
    "echo": Workload("echo", "echo", 100,
                     "tiny round trips: the server does almost nothing"),
    "slow": Workload("slow", "slow", 10,
                     "each answer waits --delay ms, like a database call (I/O-bound)",
                     ("--delay", 10.0)),
    "work": Workload("work", "work", 10,
                     "each answer costs --cost ms of pure-Python CPU (CPU-bound)",
                     ("--cost", 5.0)),
    "churn": Workload("churn", "echo", 1,
                      "a new connection for every request"),
    "idle": Workload("idle", "echo", 1,
                     "connections answered once, then held open and silent: "
                     "memory per connection", memory=True),
}
