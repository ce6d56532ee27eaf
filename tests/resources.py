"""Helpers for the hardening tests: clients that misbehave on purpose, and
counts of what a server process holds (descriptors, threads, children)."""

import os
import queue
import select
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

import pytest

from conftest import ROOT, TIMEOUT

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


# --- the command line in a subprocess ------------------------------------

class ServerProcess:
    """``python -m classicnet ...`` in its own session, with its log lines
    collected as they come."""

    def __init__(self, *args):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "classicnet", *args, "--port", "0", "-v"],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, start_new_session=True)
        self.lines = queue.Queue()
        self.log = []
        threading.Thread(target=self._collect, daemon=True).start()
        ready = self.process.stdout.readline()
        assert " on " in ready, ready + self.rest_of_log()
        host, port = ready.rsplit(" on ", 1)[1].strip().rsplit(":", 1)
        self.address = (host, int(port))
        self.pid = self.process.pid

    def _collect(self):
        for line in self.process.stderr:
            self.lines.put(line)
        self.lines.put(None)

    def wait_for_log(self, text):
        """Return the first log line containing *text*, reading at most TIMEOUT s."""
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if line is None:
                break
            self.log.append(line)
            if text in line:
                return line
        raise AssertionError(f"no log line with {text!r} in:\n{''.join(self.log)}")

    def rest_of_log(self):
        return "".join(self.log)

    def ctrl_c(self):
        """What a terminal does on Ctrl-C: SIGINT to every process of the group."""
        os.killpg(self.pid, signal.SIGINT)

    def terminate(self):
        self.process.send_signal(signal.SIGTERM)

    def exit_status(self):
        return self.process.wait(TIMEOUT)

    def close(self):
        if self.process.poll() is None:
            os.killpg(self.pid, signal.SIGKILL)
            self.process.wait(TIMEOUT)
        self.process.stdout.close()


@pytest.fixture
def serve():
    started = []

    def serve(*args):
        server = ServerProcess(*args)
        started.append(server)
        return server

    yield serve
    for server in started:
        server.close()
