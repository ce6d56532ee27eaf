"""Helpers for testing handlers: run a real server inside a test.

    from classicnet.testing import running_server

    def test_reverse():
        with running_server(ReverseHandler, model="threading") as address:
            with socket.create_connection(address, timeout=5) as client:
                client.sendall(b"abc")
                assert client.recv(3) == b"cba"

The server listens on 127.0.0.1 with a port the operating system picks,
serves in the background, and is always stopped when the block ends, even
if the test fails: clients still connected are cut off at once.

The forking model needs one more step.  A forked child inherits every file
descriptor of its parent, and inside a test the parent is the test itself,
client sockets included: the child serving a client would hold a copy of
that client's own socket, and would never see it close.  So under
``model="forking"`` the server runs in a process of its own, forked before
the test opens any connection, exactly as it would from the command line.
"""

import os
import signal
from contextlib import contextmanager

from .launcher import build_server, running, serve_until_signalled

__all__ = ["running_server"]


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
    if model == "forking":
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
