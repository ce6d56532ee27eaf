"""The load generator: many clients, in several processes, none of them blocking.

Theory of operation.  A load generator must not be the bottleneck: if it
is slower than the server, the lab measures the generator.  So:

* The clients are spread over several *processes* (one per core by
  default), so the generator is not limited to one core by its own GIL.
* In each process, one loop drives all of its clients with non-blocking
  sockets and a ``selectors`` selector (epoll on Linux): no thread per
  client, and a client waiting for its answer costs nothing.
* Every process starts at the same agreed moment (``time.monotonic()``
  is one clock for the whole machine on Linux) and stops starting new
  requests at the same moment, so their counts add up.

Each client repeats: connect, then send a message and wait for the whole
answer, ``requests_per_connection`` times, then close; and again, until the
measured window ends.  Requests already sent when it ends are still
waited for (up to *drain* seconds) so that their latency counts, but only
requests answered inside the window count towards requests per second.

A request's latency runs from the moment the client starts it to the last
byte of its answer; for the first request on a connection it starts
before ``connect()``, so time spent waiting to be served is counted.
"""

import errno
import multiprocessing
import os
import selectors
import socket
import time
from dataclasses import dataclass, field

from ..compat import CAN_FORK

__all__ = ["Plan", "Result", "run_load"]


@dataclass
class Plan:
    """What one load process does."""

    address: tuple
    client_ids: list
    message: bytes
    requests_per_connection: int
    start: float           # time.monotonic() at which the window opens
    duration: float        # seconds in the measured window
    drain: float           # seconds to wait for late answers after it


@dataclass
class Result:
    """What the load processes measured, merged."""

    completed: int = 0                  # answered inside the window
    latencies: list = field(default_factory=list)       # seconds, every answer
    connections: list = field(default_factory=list)     # see Connection.record
    errors: dict = field(default_factory=dict)          # kind -> count
    unfinished: int = 0                 # still unanswered after the drain

    def merge(self, other):
        self.completed += other.completed
        self.latencies += other.latencies
        self.connections += other.connections
        for kind, number in other.errors.items():
            self.errors[kind] = self.errors.get(kind, 0) + number
        self.unfinished += other.unfinished


class Connection:
    """One client's current connection and the request it is waiting on."""

    def __init__(self, client_id, plan):
        self.client_id = client_id
        self.plan = plan
        self.sock = socket.socket(socket.AF_INET6 if ":" in plan.address[0]
                                  else socket.AF_INET)
        self.sock.setblocking(False)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.opened = self.request_started = time.monotonic()
        self.first_answer = None
        self.closed = None
        self.requests = 0
        self.state = "connecting"       # then "sending" or "receiving"
        self.unsent = b""
        self.answer = bytearray()

    def record(self):
        """``(client, connect started, first answer or None, closed)``."""
        return (self.client_id, self.opened, self.first_answer, self.closed)


def run_load(address, clients, message, requests_per_connection, duration,
             processes=None, drain=None, lead_time=0.3):
    """Drive *clients* clients against *address* for *duration* seconds.

    Returns ``(result, start)``: the merged ``Result`` and the
    ``time.monotonic()`` at which the measured window opened.
    """
    processes = max(1, min(processes or os.cpu_count() or 1, clients))
    start = time.monotonic() + lead_time
    drain = max(2.0, duration) if drain is None else drain
    plans = [Plan(address, list(range(first, clients, processes)), message,
                  requests_per_connection, start, duration, drain)
             for first in range(processes)]
    if processes == 1:
        results = [run_plan(plans[0])]
    else:
        pool = _context().Pool(processes)
        try:
            results = pool.map(run_plan, plans)
        finally:
            pool.close()        # let the processes end on their own, not killed
            pool.join()
    merged = Result()
    for result in results:
        merged.merge(result)
    return merged, start


def _context():
    """Forked processes start at once; spawn where fork is missing."""
    return multiprocessing.get_context("fork" if CAN_FORK else "spawn")


def run_plan(plan):
    """One load process: drive its clients from one selector loop."""
    result = Result()
    selector = selectors.DefaultSelector()
    end, give_up = plan.start + plan.duration, plan.start + plan.duration + plan.drain
    delay = plan.start - time.monotonic()
    if delay > 0:
        time.sleep(delay)
    for client_id in plan.client_ids:
        _connect(Connection(client_id, plan), selector, result)
    while selector.get_map():
        now = time.monotonic()
        if now >= give_up:
            break
        for key, _ in selector.select(min(0.05, give_up - now)):
            _step(key.data, selector, result, end)
    for key in list(selector.get_map().values()):
        result.unfinished += 1
        _close(key.data, selector, result)
    selector.close()
    return result


def _connect(connection, selector, result):
    code = connection.sock.connect_ex(connection.plan.address)
    if code not in (0, errno.EINPROGRESS, errno.EWOULDBLOCK):
        _fail(connection, selector, result, errno.errorcode.get(code, str(code)))
        return
    selector.register(connection.sock, selectors.EVENT_WRITE, connection)


def _step(connection, selector, result, end):
    """Move one connection forward after its socket became ready."""
    try:
        if connection.state == "connecting":
            code = connection.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if code:
                raise OSError(code, os.strerror(code))
            _send(connection, connection.plan.message, selector)
        elif connection.state == "sending":
            _send(connection, connection.unsent, selector)
        else:
            _receive(connection, selector, result, end)
    except OSError as error:
        kind = errno.errorcode.get(error.errno, type(error).__name__)
        _fail(connection, selector, result, kind)


def _send(connection, data, selector):
    sent = connection.sock.send(data)
    connection.unsent = data[sent:]
    if connection.unsent:
        connection.state = "sending"
        selector.modify(connection.sock, selectors.EVENT_WRITE, connection)
    else:
        connection.state = "receiving"
        selector.modify(connection.sock, selectors.EVENT_READ, connection)


def _receive(connection, selector, result, end):
    chunk = connection.sock.recv(65536)
    if not chunk:
        raise OSError(errno.ECONNRESET, "closed before answering")
    connection.answer += chunk
    message = connection.plan.message
    if len(connection.answer) < len(message):
        return
    now = time.monotonic()
    if connection.answer != message:
        _fail(connection, selector, result, "wrong answer")
        return
    result.latencies.append(now - connection.request_started)
    if now <= end:
        result.completed += 1
    if connection.first_answer is None:
        connection.first_answer = now
    connection.requests += 1
    connection.answer.clear()
    if now >= end:
        _close(connection, selector, result)
    elif connection.requests == connection.plan.requests_per_connection:
        _close(connection, selector, result)
        _connect(Connection(connection.client_id, connection.plan), selector, result)
    else:
        connection.request_started = now
        _send(connection, message, selector)


def _close(connection, selector, result):
    # The time is taken *before* close(): the server cannot see the close
    # earlier, so a server that serves one client at a time never shows
    # two connections served at once.
    connection.closed = time.monotonic()
    selector.unregister(connection.sock)
    connection.sock.close()
    result.connections.append(connection.record())


def _fail(connection, selector, result, kind):
    result.errors[kind] = result.errors.get(kind, 0) + 1
    if connection.sock.fileno() != -1 and connection.sock in selector.get_map():
        _close(connection, selector, result)
    else:
        connection.closed = time.monotonic()
        connection.sock.close()
        result.connections.append(connection.record())
