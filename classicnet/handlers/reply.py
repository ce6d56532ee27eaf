"""reply: tell a UDP client what the server saw, in one short line.

UDP has no connection, so every datagram carries its sender's address and
the server answers with ``sendto(reply, client_address)``.  ``reply`` makes
that visible: it answers each datagram with ``from HOST:PORT: N bytes``.
The line is a few dozen bytes at most, whatever the datagram's size.  Any
datagram may get 64 bytes back; for the longest lines (an IPv6 address) the
handler declares a ``reply_allowance`` (see ``classicnet.servers.LimitedReplies``).
"""

import socketserver

from ..endpoints import format_address
from ..registry import register


@register("reply", "udp")
class ReplyHandler(socketserver.BaseRequestHandler):
    """Answers each datagram with one line: its sender and its size."""

    # The longest line, for an IPv6 address with a scope, port 65535 and
    # 65535 bytes, is 82 bytes: 18 more than any datagram may get.
    reply_allowance = 36

    def handle(self):
        data, sock = self.request
        if data:
            line = f"from {format_address(self.client_address)}: {len(data)} bytes\n"
            sock.sendto(line.encode("ascii"), self.client_address)
