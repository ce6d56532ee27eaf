"""time: the time as a 32-bit binary number of seconds since 1900 (RFC 868).

Registered as ``time``; the module is called ``timeserver`` so that a
reader never confuses it with the standard library's ``time`` module,
which it uses.

Where daytime (RFC 867) sends text for people, RFC 868 sends four bytes
for programs: the number of seconds since 00:00 on 1 January 1900 (UTC),
as an unsigned 32-bit integer in network byte order, ``struct`` format
``!I``.  Unix counts from 1970, so the server adds the seventy years
between the two epochs, 2,208,988,800 seconds.

Four bytes run out: the count passes 2**32 - 1 on 7 February 2036 at
06:28:15 UTC.  The RFC defines no way past that, so the number simply
wraps around to 0, as every 32-bit RFC 868 server's must; a client that
knows roughly what year it is can still make sense of it.
"""

import socketserver
import struct
import time

from ..registry import register


# Seconds from 1900-01-01 to 1970-01-01: 70 years, 17 of them leap years.
SECONDS_1900_TO_1970 = (70 * 365 + 17) * 86400

TIME_FORMAT = struct.Struct("!I")


def time_bytes(seconds=None):
    """The RFC 868 answer for *seconds* since 1970 (default: now): four bytes."""
    if seconds is None:
        seconds = time.time()
    since_1900 = int(seconds) + SECONDS_1900_TO_1970
    return TIME_FORMAT.pack(since_1900 % 2**32)


def unix_seconds(answer):
    """Read an RFC 868 answer back as seconds since 1970 (before 2036)."""
    (since_1900,) = TIME_FORMAT.unpack(answer)
    return since_1900 - SECONDS_1900_TO_1970


@register("time", "tcp")
class TimeHandler(socketserver.BaseRequestHandler):
    """Sends the time as 4 bytes, seconds since 1900, then closes (RFC 868).

    RFC 868: "S: Send the time as a 32 bit binary number.  S: Close the
    connection."
    """

    def handle(self):
        self.request.sendall(time_bytes())


@register("time", "udp")
class TimeDatagramHandler(socketserver.BaseRequestHandler):
    """Answers each datagram with the time as 4 bytes, seconds since 1900 (RFC 868).

    RFC 868: "S: Send a datagram containing the time as a 32 bit binary
    number."  The RFC's client sends an *empty* datagram; classicnet answers
    only datagrams with at least one byte in them, the rule every classicnet
    UDP server keeps (``classicnet.servers.datagrams``), so send one byte,
    any byte.
    """

    def handle(self):
        _, sock = self.request
        sock.sendto(time_bytes(), self.client_address)
