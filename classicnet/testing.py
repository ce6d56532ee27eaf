"""Helpers for testing handlers: a real server, a small client, a socket pair.

A test for a new handler is about five lines::

    from classicnet.testing import connect, running_server

    def test_reverse():
        with running_server(ReverseHandler) as address, connect(address) as client:
            client.send(b"hello")
            assert client.recv_exactly(5) == b"olleh"

The three tools, from the most real to the most direct:

``running_server(handler, model=..., transport=...)``
    serves the handler on 127.0.0.1 with a port the operating system picks,
    in a background thread, and always stops it when the block ends, even
    if the test fails: clients still connected are cut off at once.

``connect(address, transport="tcp")``
    a ``Client`` with a timeout on every wait, so a handler that forgets to
    answer fails the test instead of hanging it: ``send``, ``recv_exactly``,
    ``recv_until``, ``recv_all`` and, for UDP, ``request``.

``socketpair_client(handler)``
    runs a TCP handler on one end of ``socket.socketpair()`` and gives the
    test a ``Client`` on the other: no server, no port, and an exception
    raised by ``handle()`` fails the test with its own traceback.

With pytest, the plugin in ``classicnet.pytest_plugin`` offers the same as
fixtures (``classicnet_server``, ``classicnet_client``).

The forking and prefork models need one more step.  A forked child inherits every file
descriptor of its parent, and inside a test the parent is the test itself,
client sockets included: the child serving a client would hold a copy of
that client's own socket, and would never see it close.  So under
``model="forking"`` or ``"prefork"`` the server runs in a process of its own, forked before
the test opens any connection, exactly as it would from the command line.
"""

import os
import signal
import socket
import threading
from contextlib import contextmanager

from . import contract
from .endpoints import Endpoint
from .launcher import build_server, resolve_handler, running, serve_until_signalled

__all__ = ["Client", "TIMEOUT", "connect", "running_server", "socketpair_client"]

# Seconds any single wait of the helpers may take before the test fails.
TIMEOUT = 5.0

RECV_SIZE = 65536


@contextmanager
def running_server(handler, model="threading", transport=None,
                   host="127.0.0.1", port=0, **settings):
    """Serve *handler* (a registered name or a handler class) for a ``with``
    block; yield the server's ``(host, port)``.

    *settings* are the handler's options, as on the command line
    (``running_server("slow", delay=5)``).
    """
    server = build_server(handler, model=model, transport=transport,
                          host=host, port=port, **settings)
    address = server.server_address[:2]
    if model in ("forking", "prefork"):
        with _serving_in_own_process(server):
            yield address
    else:
        with running(server):
            yield address


@contextmanager
def _serving_in_own_process(server):
    pid = os.fork()
    if pid == 0:
        status = 1
        try:
            serve_until_signalled(server, grace=0)
            status = 0
        finally:
            os._exit(status)
    server.socket.close()          # the child process listens now
    try:
        yield
    finally:
        os.kill(pid, signal.SIGTERM)
        os.waitpid(pid, 0)


class Client:
    """One end of a conversation with a handler, every wait bounded by *timeout*.

    Methods raise ``TimeoutError`` when the handler is silent too long (its
    message says what was awaited and what had arrived: ``timed out after
    5 s waiting for b'\\n'; received b'olleh' so far``) and ``EOFError``
    when it closes before saying what was expected.
    """

    def __init__(self, sock, address=None, timeout=TIMEOUT):
        self.sock = sock
        self.address = address
        self.sock.settimeout(timeout)
        self.buffered = b""

    def send(self, data):
        """Send all of *data* (to the server's address, for UDP)."""
        if self.sock.type == socket.SOCK_DGRAM:
            self.sock.sendto(data, self.address)
        else:
            self.sock.sendall(data)

    def recv_exactly(self, size):
        """Exactly *size* bytes, however many ``recv`` calls they take."""
        while len(self.buffered) < size:
            self._fill(f"{size} bytes")
        return self._take(size)

    def recv_until(self, marker=b"\n"):
        """Everything up to and including *marker* (a newline by default)."""
        while marker not in self.buffered:
            self._fill(repr(marker))
        return self._take(self.buffered.index(marker) + len(marker))

    def recv_all(self):
        """Everything until the handler closes the connection."""
        while True:
            chunk = self._recv("the handler to close the connection")
            if not chunk:
                return self._take(len(self.buffered))
            self.buffered += chunk

    def request(self, data):
        """UDP: send one datagram and return the one that answers it."""
        self.send(data)
        with self._timing(f"an answer to {data!r}"):
            answer, _ = self.sock.recvfrom(65535)
        return answer

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def _recv(self, expected):
        with self._timing(expected):
            return self.sock.recv(RECV_SIZE)

    @contextmanager
    def _timing(self, expected):
        """Turn a timeout into one that says what was awaited and what came."""
        try:
            yield
        except socket.timeout:
            raise TimeoutError(
                f"timed out after {self.sock.gettimeout():g} s waiting for "
                f"{expected}; received {self.buffered!r} so far") from None

    def _fill(self, expected):
        chunk = self._recv(expected)
        if not chunk:
            raise EOFError(f"the connection closed after {len(self.buffered)} "
                           f"bytes while waiting for {expected}: {self.buffered!r}")
        self.buffered += chunk

    def _take(self, size):
        taken, self.buffered = self.buffered[:size], self.buffered[size:]
        return taken


def connect(address, transport="tcp", timeout=TIMEOUT):
    """A ``Client`` talking to *address* over TCP or UDP; use it in ``with``."""
    if transport not in ("tcp", "udp"):
        raise ValueError(f"transport must be 'tcp' or 'udp', not {transport!r}")
    sock, peer = Endpoint(transport, tuple(address)).connect(timeout)
    return Client(sock, peer, timeout)


class PairServer:
    """What a handler finds in ``self.server`` when no server runs it.

    It carries the handler's settings in ``options`` (their defaults, or
    the values given) and a ``shared`` namespace, and ``prepare_server()``
    is called on it, as the launcher would.
    """

    model = "socketpair"
    transport = "tcp"

    def __init__(self, handler, settings):
        self.RequestHandlerClass = handler
        self.server_address = ("socketpair", 0)
        self.handler_name = handler.__name__
        options = contract.options_of(handler)
        contract.check_options(options, handler.__name__)
        self.options = contract.option_values(options, settings, handler.__name__)
        self.shared = contract.Options()
        contract.prepare(handler, self)


@contextmanager
def socketpair_client(handler, timeout=TIMEOUT, **settings):
    """Run a TCP *handler* on one end of a socket pair; yield a ``Client`` on
    the other.

    When the block ends the client's end is closed (the handler reads
    end-of-stream), the handler is given *timeout* seconds to return, and
    anything it raised is raised again here.
    """
    _, handler_class, _ = resolve_handler(handler, "tcp")
    server = PairServer(handler_class, settings)
    ours, theirs = socket.socketpair()
    raised = []

    def serve():
        try:
            handler_class(theirs, ("socketpair", 0), server)
        except BaseException as error:   # handed to the test below
            raised.append(error)
        finally:
            theirs.close()

    thread = threading.Thread(target=serve, name=f"socketpair-{handler_class.__name__}",
                              daemon=True)
    thread.start()
    try:
        with Client(ours, timeout=timeout) as client:
            yield client
    finally:
        thread.join(timeout)
    if thread.is_alive():
        raise TimeoutError(f"{handler_class.__name__}.handle() did not return within "
                           f"{timeout} s of the client closing")
    if raised:
        raise raised[0]
