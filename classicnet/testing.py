"""Helpers for testing handlers: run a real server inside a test.

    from classicnet.testing import running_server

    def test_reverse():
        with running_server(ReverseHandler, model="threading") as address:
            with socket.create_connection(address, timeout=5) as client:
                client.sendall(b"abc")
                assert client.recv(3) == b"cba"

The server listens on 127.0.0.1 with a port the operating system picks,
serves in a background thread, and is always stopped when the block ends,
even if the test fails: clients still connected are cut off at once.
"""

from contextlib import contextmanager

from .launcher import build_server, running

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
    with running(server):
        yield server.server_address[:2]
