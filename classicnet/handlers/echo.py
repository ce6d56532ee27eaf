"""echo: send back exactly the bytes received (RFC 862), on TCP and UDP.

The smallest useful server, and the one every other handler grows from.
On TCP a message has no edges (the sticky-packet problem, 粘包): ``recv``
returns whatever has arrived, one byte or many messages at once, so echo
answers each chunk as it comes and never waits for a newline.
"""

import socketserver

from ..registry import register

# The most bytes taken from the socket at once.  Larger chunks mean fewer
# system calls for bulk data; small messages are returned as soon as they come.
RECV_SIZE = 65536


@register("echo", "tcp")
class EchoHandler(socketserver.BaseRequestHandler):
    """Sends back exactly the bytes received, until the client closes (RFC 862)."""

    def handle(self):
        while True:
            data = self.request.recv(RECV_SIZE)
            if not data:            # b"" means the client closed its side
                return
            self.request.sendall(self.transform(data))

    def transform(self, data):
        """The answer to one chunk: the chunk itself.  May be overridden."""
        return data


@register("echo", "udp")
class EchoDatagramHandler(socketserver.BaseRequestHandler):
    """Sends each datagram back to its sender (RFC 862)."""

    def handle(self):
        data, sock = self.request
        if data:
            sock.sendto(self.transform(data), self.client_address)

    def transform(self, data):
        """The answer to one datagram: the datagram itself.  May be overridden."""
        return data
