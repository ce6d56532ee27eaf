"""hello: a greeting server with a tiny protocol of its own, on TCP.

It is the course notes' threaded hello server as a socketserver handler:
say ``Welcome!`` on connect, answer each name with ``Hello, NAME!``, and
stop when the client says ``exit``.

A message is a line; but the course's client sends names *without* a
newline, one ``send`` at a time, and waits for the answer.  So hello takes
every complete line in a chunk as a message, and whatever is left over at
the end of the chunk as one more: it never waits for a newline that may
never come.
"""

import logging
import socketserver

from ..endpoints import format_address
from ..registry import register
from ..text import printable

log = logging.getLogger("classicnet.hello")

RECV_SIZE = 4096


@register("hello", "tcp")
class HelloHandler(socketserver.BaseRequestHandler):
    """Says Welcome!, answers each NAME with Hello, NAME!, and stops at exit."""

    def handle(self):
        self.request.sendall(b"Welcome!\n")
        while True:
            chunk = self.request.recv(RECV_SIZE)
            if not chunk:
                return
            for message in chunk.splitlines():
                name = message.strip()
                if name == b"exit":
                    return
                if name:
                    log.debug("%s is %s", format_address(self.client_address),
                              printable(name))
                    self.request.sendall(b"Hello, " + name + b"!\n")
