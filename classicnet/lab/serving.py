"""Serve the lesson page over HTTP while the lab runs: ``lab --serve``.

    python -m classicnet lab --workload slow,work --serve --port 8000
    (then open http://127.0.0.1:8000/ on the classroom's projector)

The page is a file in a folder of its own, rewritten whole as each model
finishes (``page.write_page``); this module only serves that folder.  It
uses the standard library's ``http.server.SimpleHTTPRequestHandler``, a
``socketserver`` request handler like any other, under one of classicnet's
own server classes (``launcher.build_server``, the threading model), so the
page is served exactly as a student's handler would be.

``serve_folder()`` is the one place that picks the handler: a project
``http`` handler can take its place there without the lab changing.
"""

import http.server
import logging

from .. import launcher
from ..contract import Option

__all__ = ["PageHandler", "serve_folder"]

log = logging.getLogger(__name__)


class PageHandler(http.server.SimpleHTTPRequestHandler):
    """GET and HEAD of the files in ``--root``; nothing outside it."""

    options = (Option("--root", "the folder whose files are served", str, ".", "DIR"),)

    def __init__(self, request, client_address, server):
        super().__init__(request, client_address, server,
                         directory=server.options.root)

    def end_headers(self):
        self.send_header("Cache-Control", "no-store")     # always the newest page
        super().end_headers()

    def log_message(self, format, *args):
        log.debug("%s %s", self.address_string(), format % args)


def serve_folder(folder, host="127.0.0.1", port=0, listeners=()):
    """Start serving *folder* in a thread; returns ``(server, thread)``.

    Each of *listeners* hears the server's events (``classicnet.events``).
    Stop it with ``launcher.stop(server, thread)``.  Raises OSError when the
    address cannot be bound.
    """
    server = launcher.build_server(PageHandler, model="threading", host=host,
                                   port=port, root=folder)
    for listener in listeners:
        server.events.subscribe(listener)
    return server, launcher.start(server)
