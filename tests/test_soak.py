"""Soak and fault tests: many clients, many of them rude, and handlers that
go wrong; afterwards every server holds what it held before and still answers.

The servers run as ``python -m classicnet`` subprocesses (without coverage,
whose forked children would each write a data file), and what each holds is
read from /proc: descriptors, threads, child processes.
"""

import os
import socket
import socketserver
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from classicnet.testing import running_server
from conftest import MODELS, TIMEOUT, without_coverage
from resources import (closed_by_server, connect, no_more_than, read_until_closed,
                       reset, settles_to, usage)

pytestmark = pytest.mark.skipif(not os.path.isdir("/proc/self/fd"),
                                reason="reads /proc to count descriptors")

CONNECTIONS = {"plain": 1000, "threading": 1000, "forking": 400}
CLIENT_THREADS = 8


def polite(address, number):
    with connect(address) as client:
        message = b"message %d" % number
        client.sendall(message)
        assert read_exactly(client, len(message)) == message


def resetting(address, number):
    client = connect(address)
    client.sendall(b"then a reset")
    assert read_exactly(client, 12) == b"then a reset"
    reset(client)


def half_closing(address, number):
    with connect(address) as client:
        client.sendall(b"half closed")
        client.shutdown(socket.SHUT_WR)
        assert read_until_closed(client) == b"half closed"


def vanishing_mid_message(address, number):
    client = connect(address)
    client.sendall(b"x" * (number % 5000))
    reset(client)


def silent(address, number):
    connect(address).close()


BEHAVIOURS = [polite, resetting, half_closing, vanishing_mid_message, silent]


def read_exactly(client, size):
    data = b""
    while len(data) < size:
        chunk = client.recv(size - len(data))
        if not chunk:
            break
        data += chunk
    return data


@pytest.fixture
def server(cli):
    """Start ``python -m classicnet ARGS -q`` without coverage, whose forked
    children would each write a data file."""
    return lambda *args: cli(*args, "-q", env=without_coverage())


@pytest.mark.parametrize("model", MODELS)
def test_thousands_of_rude_clients_leave_nothing_behind(server, model):
    echo = server("echo", f"--{model}", "--timeout", "5")
    before = usage(echo.pid)
    assert before[2] == 0

    def client(number):
        BEHAVIOURS[number % len(BEHAVIOURS)](echo.address, number)

    with ThreadPoolExecutor(CLIENT_THREADS) as pool:
        list(pool.map(client, range(CONNECTIONS[model]), timeout=60))

    assert settles_to(lambda: usage(echo.pid), before) == before
    polite(echo.address, 0)
    assert echo.stop() == 0


@pytest.mark.parametrize("model", MODELS)
def test_slow_and_idle_clients_do_not_stop_the_others(server, model):
    echo = server("echo", f"--{model}", "--timeout", "0.5")
    idle = connect(echo.address)
    slow = connect(echo.address)
    slow.sendall(b"a")                    # a byte, and then nothing
    if model != "plain":                  # plain serves them one after another
        polite(echo.address, 1)
    assert closed_by_server(idle)
    assert slow.recv(1) == b"a"
    assert closed_by_server(slow)
    polite(echo.address, 2)
    idle.close()
    slow.close()
    assert echo.stop() == 0


@pytest.mark.parametrize("model", [m for m in MODELS if m != "plain"])
def test_a_flood_past_max_connections(server, model):
    hello = server("hello", f"--{model}", "--max-connections", "20")
    before = usage(hello.pid)
    flood = [connect(hello.address) for _ in range(200)]
    answers = [client.recv(100) for client in flood]
    assert answers.count(b"Welcome!\n") == 20
    assert sum(a.startswith(b"classicnet: too many") for a in answers) == 180
    for client in flood:
        client.close()
    assert settles_to(lambda: usage(hello.pid), before) == before
    assert hello.stop() == 0


# --- handlers that go wrong ----------------------------------------------

class Raiser(socketserver.BaseRequestHandler):
    """Fails on every message after answering the first byte of it."""

    def handle(self):
        data = self.request.recv(100)
        self.request.sendall(data[:1])
        raise RuntimeError("a student's bug")


class Hoarder(socketserver.BaseRequestHandler):
    """Keeps a reference to every connection it served, as buggy code does."""

    kept = []

    def handle(self):
        self.kept.append(self.request)
        self.request.sendall(self.request.recv(100))


class Sleeper(socketserver.BaseRequestHandler):
    """Blocks on something that is not its socket, until released."""

    release = threading.Event()

    def handle(self):
        if self.request.recv(100) == b"block":
            self.release.wait(TIMEOUT)
        self.request.sendall(b"done")


@pytest.mark.parametrize("model", MODELS)
def test_a_handler_that_raises_is_logged_and_the_server_goes_on(model, caplog):
    with running_server(Raiser, model=model) as address:
        for number in range(20):
            with connect(address) as client:
                client.sendall(b"xy")
                assert read_until_closed(client) == b"x"
    if model != "forking":
        assert caplog.text.count("RuntimeError: a student's bug") == 20
        assert caplog.text.count("Raiser failed while serving 127.0.0.1:") == 20


@pytest.mark.parametrize("model", MODELS)
def test_a_handler_that_keeps_its_connections_does_not_keep_them_open(model):
    before = usage(os.getpid())
    with running_server(Hoarder, model=model) as address:
        for number in range(20):
            with connect(address) as client:
                client.sendall(b"hi")
                assert client.recv(100) == b"hi"
                assert closed_by_server(client)
    assert no_more_than(lambda: usage(os.getpid()), before)
    assert all(sock.fileno() == -1 for sock in Hoarder.kept)
    Hoarder.kept.clear()


@pytest.mark.parametrize("model", ["threading", "forking"] if "forking" in MODELS
                         else ["threading"])
def test_a_blocked_handler_blocks_only_its_own_client(model):
    Sleeper.release.clear()
    try:
        with running_server(Sleeper, model=model) as address:
            with connect(address) as blocked:
                blocked.sendall(b"block")
                for number in range(5):
                    with connect(address) as other:
                        other.sendall(b"go")
                        assert other.recv(100) == b"done"
                Sleeper.release.set()       # a forked child is ended instead
    finally:
        Sleeper.release.set()
