"""One experiment: start a server, put it under load, stop it, keep the numbers.

Each model is started as its own process with the real command line
(``python -m classicnet slow --threading --port 0``), exactly as a
student would start it, so the lab measures what the class can run
(``classicnet.process.ServerProcess``).  The server's events say where it
listens and, for every connection, which thread in which process served
it; the lab counts them.  Its CPU time, children included, comes from
``resource.getrusage(RUSAGE_CHILDREN)`` once it has exited, less its
start-up read from /proc: Linux only, so elsewhere the lab says it did
not measure it (``classicnet.compat``).

The asyncio reference (``classicnet.lab.reference``) is started the same
way and driven with the same load twice: as a model beside the others
(``asyncio``, doing the same work), and as the measuring *instrument*
(an echo that does no work at all), to find the load generator's own
ceiling: a server measured near it is measured by the generator's limit.
"""

import math
import os
import sys
import time
from dataclasses import dataclass, field

from ..compat import children_cpu_seconds
from ..process import ServerProcess, ServerProcessError
from ..servers import MODELS
from .intervals import most_overlap, served_intervals
from . import memory
from .idle import hold_idle
from .load import run_load
from .workloads import MESSAGE_SIZE

__all__ = ["INSTRUMENT", "LAB_MODELS", "REFERENCE", "LabError", "Measurement", "Settings",
           "measure", "server_command"]

# The asyncio reference server doing the workload, by its name in --models
# and in the table, and the same server doing no work: the instrument.
# (reference.py is never imported here: it runs as a program of its own.)
REFERENCE = "asyncio"
INSTRUMENT = "instrument"

# Every model the lab compares, in the order of its tables: socketserver's
# (a model added to servers.MODELS appears here by itself), then asyncio.
LAB_MODELS = [*MODELS, REFERENCE]


class LabError(RuntimeError):
    """A server of the lab could not be started or stopped."""


@dataclass
class Settings:
    """Everything one lab run is asked to do (the lab command's options)."""

    workload: object                    # a workloads.Workload
    models: list
    client_counts: list
    duration: float = 2.0
    delay: float = None                 # slow: ms per message
    cost: float = None                  # work: ms of CPU per message
    requests_per_connection: int = None
    pool_size: int = 4
    prefork_workers: int = 4
    max_children: int = None
    processes: int = None               # load processes
    ceiling: bool = True
    skipped: list = field(default_factory=list)    # what cannot run here, and why

    @property
    def work(self):
        """The workload's flag and value (``["--cost", "5.0"]``), or ``[]``."""
        if self.workload.work is None:
            return []
        flag, default = self.workload.work
        asked = {"--delay": self.delay, "--cost": self.cost}[flag]
        return [flag, str(default if asked is None else asked)]

    @property
    def per_connection(self):
        """Requests each connection makes: as asked, or the workload's."""
        return self.requests_per_connection or self.workload.requests_per_connection


@dataclass
class Measurement:
    """What one model did with one number of clients."""

    model: str
    clients: int
    duration: float
    requests: int                       # answered inside the window
    latencies: list                     # seconds, sorted
    connections: list                   # (client, opened, first answer, closed)
    start: float                        # time.monotonic() of the window's start
    errors: dict = field(default_factory=dict)
    unfinished: int = 0
    servers: set = field(default_factory=set)   # (process id, thread name)
    shares: dict = field(default_factory=dict)  # process id -> connections served
    cpu_seconds: float = None           # the server's, children included
    load_average: float = None          # the machine's, over the last minute
    memory: tuple = None                # idle: (before, during) memory.Memory

    @property
    def rate(self):
        return self.requests / self.duration

    def latency_ms(self, fraction):
        """The latency below which *fraction* of the answers came, in ms."""
        if not self.latencies:
            return None
        rank = math.ceil(round(fraction * len(self.latencies), 9))  # nearest rank
        index = min(len(self.latencies), max(1, rank)) - 1
        return self.latencies[index] * 1000

    @property
    def most_at_once(self):
        """The most connections being served at the same moment, from the
        same intervals as the timeline draws (``intervals``)."""
        return most_overlap(served_intervals(self.connections))

    @property
    def threads(self):
        return len(self.servers) if self.servers else None

    @property
    def processes(self):
        return len({pid for pid, _ in self.servers}) if self.servers else None

    @property
    def cores(self):
        """CPU seconds per second of the window: 1.0 is one core kept busy."""
        return None if self.cpu_seconds is None else self.cpu_seconds / self.duration

    @property
    def error_count(self):
        return sum(self.errors.values())

    def per_connection_kib(self, figure):
        """idle: the growth of *figure* (``"rss_kib"`` or ``"pss_kib"``) per
        connection served, or None where it could not be measured."""
        before, during = self.memory or (None, None)
        if before is None or during is None or not self.requests:
            return None
        grown = (getattr(during, figure), getattr(before, figure))
        return None if None in grown else (grown[0] - grown[1]) / self.requests


REFERENCE_COMMAND = [sys.executable, "-m", "classicnet.lab.reference"]

# How long a server may take to start listening.
START_TIMEOUT = 10.0


def server_command(model, settings):
    """The arguments of ``python -m classicnet`` that start *model* for
    *settings*' workload (for the reference: of its own program)."""
    if model == INSTRUMENT:
        return ["--port", "0"]
    if model == REFERENCE:
        return ["--port", "0", *settings.work]
    command = [settings.workload.handler, "--port", "0", "--grace", "1"]
    if model == "pool":
        command += ["--pool", str(settings.pool_size)]
    elif model == "prefork":
        command += ["--prefork", str(settings.prefork_workers)]
    else:
        command.append(f"--{model}")
    if model == "forking" and settings.max_children:
        command += ["--max-children", str(settings.max_children)]
    return command + settings.work


def measure(model, clients, settings):
    """Run *model* under *clients* clients for *settings.duration* seconds."""
    if settings.workload.memory:
        return measure_idle(model, clients, settings)
    server = start_server(model, settings)
    try:
        cpu_before = cpu_seconds(server.process.pid)
        result, start = run_load(
            server.address, clients, b"x" * MESSAGE_SIZE, settings.per_connection,
            settings.duration, processes=settings.processes)
    finally:
        cpu_after_load = children_cpu_seconds()
        server.stop()
    cpu = _cpu_between(cpu_after_load, children_cpu_seconds(), cpu_before)
    return Measurement(
        model=model, clients=clients, duration=settings.duration,
        requests=result.completed, latencies=sorted(result.latencies),
        connections=sorted(result.connections), start=start,
        errors=result.errors, unfinished=result.unfinished,
        servers=server.served_by, shares=server.served_per_process,
        cpu_seconds=cpu,
        load_average=os.getloadavg()[0] if hasattr(os, "getloadavg") else None)


def measure_idle(model, clients, settings):
    """Hold *clients* idle connections to *model* and sample its memory before
    and while it holds them (``idle``, ``memory``)."""
    with start_server(model, settings) as server:
        pid = server.process.pid
        before = memory.sample(pid)
        start = time.monotonic()
        connections, during = hold_idle(
            server.address, clients, b"x" * MESSAGE_SIZE, settings.duration,
            lambda: memory.sample(pid))
    served = [(first - opened) for _, opened, first, _ in connections
              if first is not None]
    return Measurement(
        model=model, clients=clients, duration=settings.duration,
        requests=len(served), latencies=sorted(served), connections=connections,
        start=start, unfinished=clients - len(served), servers=server.served_by,
        shares=server.served_per_process,
        memory=(before, during),
        load_average=os.getloadavg()[0] if hasattr(os, "getloadavg") else None)


def start_server(model, settings):
    """Start the server for *model* and wait, bounded, until it listens."""
    command = REFERENCE_COMMAND if model in (REFERENCE, INSTRUMENT) else None
    server = ServerProcess(server_command(model, settings), command=command)
    try:
        server.wait_ready(START_TIMEOUT)
    except ServerProcessError as error:
        server.stop()
        raise LabError(f"{model} did not start: {error}") from None
    return server


def cpu_seconds(pid):
    """CPU time used by a process so far (Linux /proc), to subtract its
    start-up; None where /proc is missing."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _cpu_between(children_before, children_after, start_up):
    """The server's CPU seconds under load: what its exit added to the
    children's CPU, less its start-up; None where either is not measured
    (no ``resource`` on Windows, no /proc on macOS)."""
    if None in (children_before, children_after, start_up):
        return None
    return max(0.0, children_after - children_before - start_up)
