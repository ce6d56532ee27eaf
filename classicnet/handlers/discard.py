"""discard: read everything, answer nothing (RFC 863), on TCP and UDP.

The simplest possible server, and a useful one: a place to send bytes to
when you want to measure how fast a client can send, or to check that a
connection opens at all.  It is a sink, like ``/dev/null`` on a network.

On TCP the handler still has to *read*: a server that ignored its socket
would let the client's bytes pile up in the kernel's buffers until the
client could send no more.  Reading and dropping keeps the data flowing.
"""

import socketserver

from ..registry import register

RECV_SIZE = 65536


@register("discard", "tcp")
class DiscardHandler(socketserver.BaseRequestHandler):
    """Reads and throws away every byte until the client closes (RFC 863).

    RFC 863: "Once a connection is established any data received is
    thrown away.  No response is sent."
    """

    def handle(self):
        while self.request.recv(RECV_SIZE):
            pass


@register("discard", "udp")
class DiscardDatagramHandler(socketserver.BaseRequestHandler):
    """Throws away every datagram and answers nothing (RFC 863).

    RFC 863: "When a datagram is received, it is thrown away.  No response
    is sent."  A service that never answers cannot be used to reflect or
    amplify anything.
    """

    def handle(self):
        pass
