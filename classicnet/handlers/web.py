"""http: the files under --root, over HTTP/1.1, by the standard library's http.server.

``http.server.SimpleHTTPRequestHandler`` is a socketserver request handler
like every other here (``BaseRequestHandler`` -> ``StreamRequestHandler``
-> ``BaseHTTPRequestHandler``), so classicnet serves it under every model
and transport, TLS included, and a browser is one more client.

HTTP is a framing of its own, an answer to the same sticky-packet problem
(粘包) as the course's ``struct`` prefix and JSON header::

    CNFP/1 (docs/protocol.md)           HTTP/1.1
    ---------------------------------   -------------------------------------
    4 bytes: the header's length        header lines, ended by an empty line
    a JSON object: the header           "Name: value" lines: the header
    "size": the body's length           Content-Length: the body's length

Each answer names the thread and the process that served it, in a header
of its own (``X-Served-By: Thread-3 (pid 4121)``): a browser's developer
tools, or ``curl -i``, show the concurrency model at work.

http.server already keeps a request inside the directory it serves: it
drops ``..`` and absolute parts of the path, after ``%2e%2e`` is decoded.
What it does not check is a symbolic link inside the root that points
out of it; ``send_head`` refuses those here, as the files server does.
"""

import http.server
import logging
import os
import threading
from http import HTTPStatus

from ..contract import Option
from ..endpoints import format_address
from ..errors import UsageError
from ..registry import register

__all__ = ["HTTPFilesHandler"]

log = logging.getLogger("classicnet.http")


@register("http", "tcp")
class HTTPFilesHandler(http.server.SimpleHTTPRequestHandler):
    """Serves the files in --root over HTTP/1.1: GET, HEAD, directory listings."""

    protocol_version = "HTTP/1.1"       # keep-alive: many requests, one connection
    server_version = "classicnet-http"

    options = (
        Option("--root", "directory whose files are served", str, ".", "DIR"),
    )

    @classmethod
    def prepare_server(cls, server):
        """Make the root absolute and real (its links resolved), once."""
        root = os.path.realpath(os.fspath(server.options.root))
        if not os.path.isdir(root):
            what = "does not exist" if not os.path.exists(root) else "is not a directory"
            raise UsageError(f"--root {os.fspath(server.options.root)!r} {what}; "
                             "give a directory to serve")
        server.options.root = root

    def __init__(self, request, client_address, server):
        super().__init__(request, client_address, server,
                         directory=server.options.root)

    def send_head(self):
        """Refuse a path whose real place is outside the root (a symbolic
        link pointing out); serve the rest as http.server does."""
        if not self.inside_root(self.translate_path(self.path)):
            self.send_error(HTTPStatus.NOT_FOUND, "File not found")
            return None
        return super().send_head()

    def inside_root(self, path):
        real = os.path.realpath(path)
        return real == self.directory or real.startswith(self.directory + os.sep)

    def end_headers(self):
        thread = threading.current_thread().name.split(" (")[0]  # "Thread-3 (target)"
        self.send_header("X-Served-By", f"{thread} (pid {os.getpid()})")
        super().end_headers()

    def address_string(self):
        """The client as every classicnet log names it (a Unix peer too)."""
        return format_address(self.client_address)

    def log_message(self, format, *args):
        """To the server's log (-v), not straight to standard error."""
        log.info("%s %s", self.address_string(), format % args)
