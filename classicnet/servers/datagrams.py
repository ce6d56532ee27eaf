"""Datagram servers, and the rules that keep a UDP service from being a weapon.

UDP has no handshake, so the sender's address in a datagram is whatever
the sender wrote there.  An attacker can send a small request "from" a
victim's address and let the server send its answer to the victim: a
*reflection* attack.  If the answer is larger than the request, the server
also *amplifies* the attack.  ``docs/classics.md`` has the history.

So a classicnet datagram server applies these rules to every datagram,
*before* any handler runs, whichever handler it serves.  A handler cannot
forget them, and a student's handler gets them too::

    rule                                       why
    ----------------------------------------   -------------------------------
    an empty datagram gets no answer           nothing was asked
    nor one from port 0                        no real program sends from it
    nor one from the server's own address      it would answer itself for ever
    nor one from a classic service's port      two services that answer every
      (echo 7, discard 9, daytime 13,          datagram (echo and chargen, say)
      qotd 17, chargen 19, time 37)            would answer each other for ever
                                               after one forged datagram: the
                                               "UDP port loop" of CERT advisory
                                               CA-1996-01 (BSD's inetd refuses
                                               them too)
    at most udp_rate datagrams a second        a forged flood cannot turn the
      from one host (--udp-rate N)             server into a fire hose
    an answer no larger than the question,     no amplification
      or 64 bytes, plus the handler's
      declared reply_allowance

The last rule is kept by ``LimitedReplies``, the socket a handler finds in
``self.request``.  This guards against mistakes; it is no sandbox, since a
handler can always reach ``self.server.socket``.

A datagram server does *not* set SO_REUSEADDR, as stream servers do: UDP
has no TIME_WAIT to skip, and on some systems the option would let another
program bind the same address and take the datagrams meant for this one.

socketserver reads datagrams into 8192 bytes and silently cuts longer
ones; ``max_packet_size`` here is 65535, the most one UDP datagram carries.
"""

import socketserver
import time

from ..contract import reply_allowance_of
from .classroom import ClassroomServer

__all__ = ["CLASSIC_PORTS", "DEFAULT_UDP_RATE", "LimitedReplies", "ReplyTooLarge",
           "SHORT_ANSWER", "UDPServer"]

DEFAULT_UDP_RATE = 1000

# The well-known ports of the services that answer any datagram:
# echo, discard, daytime, qotd, chargen, time.
CLASSIC_PORTS = frozenset({7, 9, 13, 17, 19, 37})

# Source ports whose datagrams are never answered: port 0, and the classics.
UNANSWERED_PORTS = CLASSIC_PORTS | {0}

# Any datagram may be answered with this many bytes, however short it was:
# a line such as a time of day.  Beyond it, an answer may not be longer than
# the question unless the handler declares a reply_allowance.
SHORT_ANSWER = 64

WILDCARD_HOSTS = ("0.0.0.0", "::", "")


class UDPServer(ClassroomServer, socketserver.UDPServer):
    """socketserver's UDPServer, reading whole datagrams of any size.

    UDP has no connections to wait for: each datagram is served at once.
    ``verify_request()`` drops the datagrams that must not be answered, and
    the handler's ``self.request`` is ``(data, socket)`` with a socket that
    answers no more bytes than the rules allow (see ``LimitedReplies``).
    """

    transport = "udp"
    arrival = "datagram from"
    allow_reuse_address = False
    max_packet_size = 65535
    udp_rate = DEFAULT_UDP_RATE

    def __init__(self, server_address, RequestHandlerClass, bind_and_activate=True):
        self.rate_second, self.datagrams_this_second = None, {}
        self.reply_allowance = reply_allowance_of(RequestHandlerClass)
        super().__init__(server_address, RequestHandlerClass, bind_and_activate)
        self.replies = LimitedReplies(self.socket, 0, 0)

    def server_bind(self):
        super().server_bind()
        self.own_port = self.server_address[1]

    def get_request(self):
        """Read one datagram; give it the socket its handler answers with.

        A server that serves one datagram at a time reuses one such socket,
        its budget set anew for each datagram; with threads, each datagram
        gets its own.
        """
        data, client_address = self.socket.recvfrom(self.max_packet_size)
        received = len(data)
        budget = (received if received > SHORT_ANSWER else SHORT_ANSWER) \
            + self.reply_allowance
        if not self.one_at_a_time:
            return (data, LimitedReplies(self.socket, budget, received)), client_address
        replies = self.replies
        replies.budget, replies.received = budget, received
        return (data, replies), client_address

    def shutdown_request(self, request):
        """Nothing to shut down or close: a datagram has no connection."""

    # verify_request() runs for every datagram, so it is written for speed:
    # the common case (a datagram to answer) is a few comparisons and one
    # dictionary update, with no call of its own.

    def verify_request(self, request, client_address):
        """Drop a datagram that the rules above say must not be answered."""
        port = client_address[1]
        if not request[0] or port in UNANSWERED_PORTS \
                or port == self.own_port and self.is_own_host(client_address[0]):
            return self.drop(request[0], client_address)
        if not self.udp_rate:
            return True
        second = int(time.monotonic())          # the rate: datagrams per host
        if second != self.rate_second:          # in the current second
            self.rate_second, self.datagrams_this_second = second, {}
        counts, host = self.datagrams_this_second, client_address[0]
        counts[host] = count = counts.get(host, 0) + 1
        if count <= self.udp_rate:
            return True
        if count == self.udp_rate + 1:
            self.events.emit("limit", limit="udp_rate", value=self.udp_rate, host=host)
        return self.drop(request[0], client_address)

    def is_own_host(self, host):
        """True for the server's own host (sent to its own port, a datagram
        it would answer itself)."""
        own_host = self.server_address[0]
        return host == own_host or own_host in WILDCARD_HOSTS

    def drop(self, data, client_address):
        """Tell whoever listens that a datagram was dropped, and why."""
        if self.events.routine:
            self.events.emit("dropped", client_address,
                             reason=drop_reason(data, client_address[1], self.udp_rate))
        return False


def drop_reason(data, port, rate):
    """Why a datagram was dropped, in words for the log."""
    if not data:
        return "empty datagram"
    if port == 0:
        return "sent from port 0"
    if port in CLASSIC_PORTS:
        return f"sent from port {port}, a classic service's: answering could start a loop"
    return f"its host sent more than {rate} a second (--udp-rate)"


class ReplyTooLarge(ValueError):
    """A datagram handler tried to answer more bytes than it may."""


class LimitedReplies:
    """The server's datagram socket as a handler sees it: ``sendto()`` sends
    at most *budget* bytes in all, answering one datagram of *received* bytes.

    A server that answers a small datagram with a big one is an amplifier:
    whoever forges the sender's address makes the server flood that victim
    with more than the forger sent.  So the answer may be no larger than
    the question, or than ``SHORT_ANSWER`` bytes (a time of day, say: on the
    wire that is at most about three times the smallest datagram), unless
    the handler class declares ``reply_allowance``, the bytes it may add.
    """

    __slots__ = ("_socket", "budget", "received")

    def __init__(self, sock, budget, received):
        self._socket = sock
        self.budget = budget
        self.received = received

    def sendto(self, data, flags_or_address, address=None):
        """``sendto(data, address)`` or ``sendto(data, flags, address)``, as a
        socket's (two signatures written out: this runs for every answer)."""
        size = len(data) if type(data) is bytes else memoryview(data).nbytes
        if size > self.budget:
            raise ReplyTooLarge(
                f"answer of {size} bytes not sent: a datagram of {self.received} "
                f"bytes may get at most {self.budget} more bytes in answer (its "
                f"own size or {SHORT_ANSWER} bytes, whichever is more; a larger "
                "answer would amplify floods; a handler class that must answer "
                "N bytes more declares reply_allowance = N)")
        self.budget -= size
        if address is None:
            return self._socket.sendto(data, flags_or_address)
        return self._socket.sendto(data, flags_or_address, address)

    # What else a handler may ask of the socket.  The other ways to send
    # (send, sendall, sendmsg) are left out on purpose: they would go around
    # the budget.  (A __getattr__ that passed everything on would let them
    # through, and would slow every attribute of this object down.)

    def getsockname(self):
        return self._socket.getsockname()

    def fileno(self):
        return self._socket.fileno()

    @property
    def family(self):
        return self._socket.family
