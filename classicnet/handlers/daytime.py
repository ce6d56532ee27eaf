"""daytime: one line with the date and time, then goodbye (RFC 867), TCP and UDP.

The oldest way to ask a machine what time it thinks it is.  RFC 867 fixes
no format, only that the answer is ASCII text a person can read; classicnet
sends what Unix inetd always sent, the C library's ``ctime()`` line ended
by CR LF::

    Sat Nov 21 23:59:50 2026\\r\\n

Using inetd's format is what lets tools nobody here wrote, such as
``nmap -sV``, recognise the service.  The time is the server's local time,
as inetd's was; the line says nothing about the zone, which is one reason
machines later moved to the binary ``time`` service (RFC 868) and then NTP.
"""

import socketserver
import time

from ..registry import register



def daytime_line(seconds=None):
    """The RFC 867 answer for *seconds* since the epoch (default: now), as bytes."""
    return time.ctime(seconds).encode("ascii") + b"\r\n"


@register("daytime", "tcp")
class DaytimeHandler(socketserver.BaseRequestHandler):
    """Sends one line with the date and time, then closes (RFC 867).

    RFC 867: "Once a connection is established the current date and time
    is sent out the connection as a ascii character string (and any data
    received is thrown away).  The service closes the connection after
    sending the quote."
    """

    def handle(self):
        self.request.sendall(daytime_line())


@register("daytime", "udp")
class DaytimeDatagramHandler(socketserver.BaseRequestHandler):
    """Answers each datagram with one datagram: the date and time (RFC 867).

    RFC 867: "An answering datagram is sent containing the current date and
    time as a ASCII character string (and any data received is thrown
    away)."  An empty datagram gets no answer: the server drops it
    before any handler runs (``classicnet.servers.datagrams``).
    """

    def handle(self):
        _, sock = self.request
        sock.sendto(daytime_line(), self.client_address)
