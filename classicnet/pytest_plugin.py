"""pytest fixtures for testing handlers; pytest loads this module by itself.

Installing classicnet registers this module under pytest's ``pytest11``
entry point, so its fixtures are there in every test, with no import::

    def test_reverse(classicnet_server, classicnet_client):
        client = classicnet_client(classicnet_server(ReverseHandler))
        client.send(b"hello")
        assert client.recv_exactly(5) == b"olleh"

Without installing, load it by hand: ``python -m pytest -p
classicnet.pytest_plugin`` or, in a ``conftest.py``,
``pytest_plugins = ["classicnet.pytest_plugin"]``.

Only this module imports pytest, and nothing in classicnet imports this
module: pytest stays a tool for tests, never a requirement for serving.
"""

from contextlib import ExitStack

import pytest

from .testing import connect, running_server

__all__ = ["classicnet_client", "classicnet_server"]


@pytest.fixture
def classicnet_server():
    """Start servers in a test: ``address = classicnet_server(handler, ...)``.

    Takes what ``running_server`` takes (``model=``, ``transport=``, the
    handler's settings); every server started is stopped after the test.
    """
    with ExitStack() as servers:
        def start(handler, **kwargs):
            return servers.enter_context(running_server(handler, **kwargs))
        yield start


@pytest.fixture
def classicnet_client():
    """Open clients in a test: ``client = classicnet_client(address, "udp")``.

    Takes what ``connect`` takes; every client is closed after the test.
    """
    with ExitStack() as clients:
        def open_client(address, transport="tcp", **kwargs):
            return clients.enter_context(connect(address, transport, **kwargs))
        yield open_client
