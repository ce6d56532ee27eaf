"""classicnet: a classic threaded/forking server framework on socketserver.

Handlers are plain ``socketserver`` request handler classes, registered by
name; the launcher serves any of them with the plain, threading or forking
model, over TCP or UDP::

    from classicnet import build_server, running

    with running(build_server("echo", model="threading", port=0)) as server:
        print(server.server_address)

From the shell: ``python -m classicnet echo --threading``.
"""

__version__ = "0.1.0"

from .contract import Option
from .errors import UsageError
from .foreground import serve_until_signalled
from .launcher import build_server, running
from .registry import register

__all__ = [
    "Option", "UsageError", "__version__", "build_server", "register",
    "running", "serve_until_signalled",
]
