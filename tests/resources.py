"""Helpers for the hardening tests: clients that misbehave on purpose, and
counts of what a server process holds (descriptors, threads, children)."""

import os
import select
import socket
import struct
import time

from conftest import TIMEOUT

REFUSED = b"classicnet: too many connections"


def connect(address, timeout=TIMEOUT):
    client = socket.create_connection(address, timeout=timeout)
    client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return client


def read_until_closed(client, limit=1 << 20):
    """Everything the server sends until it closes (a reset counts as closed)."""
    received = b""
    try:
        while len(received) < limit:
            chunk = client.recv(65536)
            if not chunk:
                break
            received += chunk
    except ConnectionResetError:
        pass
    return received


def read_until(client, ending):
    """What the server sends up to and including *ending* (bounded by the
    client's timeout)."""
    received = b""
    while not received.endswith(ending):
        chunk = client.recv(1)
        if not chunk:
            break
        received += chunk
    return received


def closed_by_server(client, timeout=TIMEOUT):
    """True once the server closes *client*'s connection within *timeout*."""
    ready, _, _ = select.select([client], [], [], timeout)
    if not ready:
        return False
    try:
        return client.recv(1) == b""
    except ConnectionResetError:
        return True


def greeted(address):
    """Connect to a ``hello`` server: the open client, or None if refused."""
    client = connect(address)
    first = client.recv(1024)
    if first.startswith(REFUSED) or first == b"":
        client.close()
        return None
    assert first == b"Welcome!\n"
    return client


def greeted_eventually(address, deadline_seconds=TIMEOUT):
    """Connect until a ``hello`` server greets us: a slot freed a moment ago
    may not have been noticed by the server yet."""
    deadline = time.monotonic() + deadline_seconds
    while time.monotonic() < deadline:
        client = greeted(address)
        if client is not None:
            return client
    raise AssertionError(f"{address} refused every connection for {deadline_seconds} s")


def reset(client):
    """Close with SO_LINGER 0: the server's side gets a reset, not a FIN."""
    client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    client.close()


# --- what a server process holds (Linux /proc) ---------------------------

def descriptors(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def threads(pid):
    return len(os.listdir(f"/proc/{pid}/task"))


def children(pid):
    """The pids of *pid*'s child processes, zombies included."""
    found = set()
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/children") as listing:
                found.update(int(child) for child in listing.read().split())
        except FileNotFoundError:
            pass  # the thread has just ended
    return found


def usage(pid):
    """``(descriptors, threads, children)`` of process *pid*."""
    return descriptors(pid), threads(pid), len(children(pid))


def settles_to(measure, expected, timeout=TIMEOUT):
    """Poll *measure()* until it returns *expected* or *timeout* passes;
    return its last value.  Threads and children end a moment after their
    client has gone, so a count is read until it stops being too high."""
    deadline = time.monotonic() + timeout
    while True:
        value = measure()
        if value == expected or time.monotonic() >= deadline:
            return value
        select.select([], [], [], 0.02)


def no_more_than(measure, limits, timeout=TIMEOUT):
    """True once every count of *measure()* is at most its *limits* entry.

    For counts of the test process itself: a thread that an earlier test
    left to finish may end meanwhile, so the counts may also go down."""
    return settles_to(lambda: all(now <= limit for now, limit
                                  in zip(measure(), limits)), True, timeout)


def process_exists(pid):
    try:
        with open(f"/proc/{pid}/stat") as stat:
            state = stat.read().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"

