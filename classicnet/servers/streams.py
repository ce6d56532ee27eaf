"""Stream servers: connections, and the limits that keep a classroom server up.

A stream server (TCP) serves *connections*, and a connection can last for
ever.  So, beyond socketserver's ``TCPServer``, a classroom server needs:

* ``allow_reuse_address``: a server stopped a moment ago leaves connections
  in TIME_WAIT; SO_REUSEADDR lets a new one bind the same port at once
  (not on Windows, where it means something else: ``compat.reuses_address``).
* ``request_queue_size``: socketserver listens with a backlog of 5, so a
  class of students connecting together is partly refused.  classicnet asks
  for ``socket.SOMAXCONN`` (the kernel may cap it further).
* ``idle_timeout`` (``--timeout S``, default 30 s): every connection socket
  gets the kernel's receive and send timeouts (SO_RCVTIMEO, SO_SNDTIMEO),
  so a client that sends nothing, or a byte now and then more than S
  seconds apart, cannot hold a thread or a child for ever.  The handler's
  ``recv()`` or ``sendall()`` then raises ``BlockingIOError``, which ends
  the connection like any client that went away.  A handler class may set
  its own ``idle_timeout`` (``None``: no limit, as ``chat`` does).
  ``set_idle_timeout()`` says why not ``settimeout()``.
* ``max_connections`` (``--max-connections N``, default 500): a client
  arriving when N connections are being served is *refused*, not kept
  waiting: it reads one line, ``classicnet: too many connections ...``,
  and the connection is closed.  So the server stays responsive and the
  student knows why.  The clients counted are those being served and those
  waiting for a free thread, child or turn (``waiting``), under every model.
* ``max_per_client`` (``--max-per-client N``): one host may hold at most N
  of those connections, so that one machine cannot take every slot; the
  next is refused with the same kind of line.  By default (``None``) a host
  may hold half of what the model serves at once (threading:
  max_connections; forking: max_children; pool: pool_size).  The plain
  model has no such default: one client fills it whoever it is, and two
  terminals on one laptop must see the second wait its turn, which is
  plain's lesson.  A client on this machine (127.0.0.1, ::1) is not
  limited by the default either: the lab, the tests and a teacher's own
  clients all come from there, and whoever can connect from the machine
  itself can stop the server anyway.  An explicit N applies to every
  host, this machine included; 0 lifts the limit.
* the set of open connections, so that stopping can be graceful: the
  launcher waits for them (``wait_for_clients()``), then shuts down those
  still open (``cut_clients()``).  ``get_request()`` adds to the set and
  ``close_request()`` takes away, and both run in every model, so the set
  is always complete.
"""

import ipaddress
import socket
import socketserver
import threading
import time

from ..compat import idle_timeout_option, no_timeout_option, reuses_address
from ..contract import idle_timeout_of
from .classroom import ClassroomServer

__all__ = ["DEFAULT_IDLE_TIMEOUT", "DEFAULT_MAX_CONNECTIONS", "REFUSAL",
           "REFUSAL_PER_CLIENT", "TCPServer", "host_of", "is_loopback",
           "set_idle_timeout"]

DEFAULT_IDLE_TIMEOUT = 30.0
DEFAULT_MAX_CONNECTIONS = 500

# What a client refused by max_connections reads before the connection closes.
REFUSAL = "classicnet: too many connections (at most {}); try again later\n"
REFUSAL_PER_CLIENT = ("classicnet: too many connections from your address "
                      "(at most {}); try again later\n")


def host_of(client_address):
    """The host part of a client's address (a Unix socket's peer: itself)."""
    return client_address[0] if isinstance(client_address, tuple) else client_address


def is_loopback(host):
    """True for an address of this machine's loopback interface (an IPv4
    client of an IPv6 server too: ::ffff:127.0.0.1)."""
    try:
        address = ipaddress.ip_address(host.split("%")[0])
    except (AttributeError, ValueError):
        return not host             # a Unix socket: this machine too
    return address.is_loopback or bool(getattr(address, "ipv4_mapped", None)
                                       and address.ipv4_mapped.is_loopback)


def set_idle_timeout(connection, seconds):
    """Let the kernel end a recv() or send() that waits more than *seconds*.

    ``settimeout()`` would do it in Python, but then Python polls the socket
    before every call, which costs the tiniest round trips a tenth of their
    speed.  SO_RCVTIMEO and SO_SNDTIMEO cost nothing until they fire; then
    the call fails with EAGAIN (WSAETIMEDOUT on Windows), which Python
    raises as ``BlockingIOError`` (``TimeoutError``).  Each system takes
    the option in its own form: ``compat.idle_timeout_option()``.
    """
    value = idle_timeout_option(seconds)
    connection.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, value)
    connection.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, value)


def clear_idle_timeout(connection):
    """Take away the kernel's receive and send timeouts: wait for ever."""
    never = no_timeout_option()
    connection.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, never)
    connection.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, never)


class TCPServer(ClassroomServer, socketserver.TCPServer):
    """socketserver's TCPServer with the classroom settings and limits.

    ``verify_request()``, socketserver's hook for turning a client away,
    refuses one more than ``max_connections``.
    """

    transport = "tcp"
    arrival = "connection from"
    allow_reuse_address = reuses_address()
    request_queue_size = socket.SOMAXCONN
    idle_timeout = DEFAULT_IDLE_TIMEOUT
    max_connections = DEFAULT_MAX_CONNECTIONS
    max_per_client = None

    def __init__(self, server_address, RequestHandlerClass, bind_and_activate=True):
        self.open_connections = set()
        self.connection_hosts = {}
        self.connections_changed = threading.Condition()
        self.refusing = False
        super().__init__(server_address, RequestHandlerClass, bind_and_activate)

    def get_request(self):
        connection, client_address = super().get_request()
        seconds = idle_timeout_of(self.RequestHandlerClass, self.idle_timeout)
        if seconds:
            set_idle_timeout(connection, seconds)
        with self.connections_changed:
            self.open_connections.add(connection)
            self.connection_hosts[connection] = host_of(client_address)
        if self.events.routine:
            self.events.emit("accepted", client_address)
        return connection, client_address

    def verify_request(self, request, client_address):
        """Refuse the client, with one line saying why, when it would be one
        connection more than ``max_connections``, or than its host may hold."""
        if self.too_many_connections():
            self.refuse(request, client_address)
            return False
        host = host_of(client_address)
        if self.too_many_from(host):
            self.refuse(request, client_address, self.per_client_limit(host))
            return False
        self.refusing = False
        return super().verify_request(request, client_address)

    def served_at_once(self):
        """How many clients the model serves at once: one, for plain."""
        return 1

    def per_client_limit(self, host):
        """The most connections *host* may hold (0: no limit); see above."""
        if self.max_per_client is not None:
            return self.max_per_client
        if is_loopback(host):
            return 0
        return self.served_at_once() // 2      # 0 (no limit) for plain

    def too_many_from(self, host):
        """True when the client just accepted is one more than *host* may hold."""
        limit = self.per_client_limit(host)
        return bool(limit) and self.connections_from(host) > limit

    def connections_from(self, host):
        """How many open connections come from *host*, the new one included."""
        with self.connections_changed:
            return sum(1 for other in self.connection_hosts.values() if other == host)

    def too_many_connections(self):
        """True when the client just accepted is one more than ``max_connections``."""
        return bool(self.max_connections) and \
            self.connections_in_service() > self.max_connections

    def connections_in_service(self):
        """How many clients are being served, counting the one just accepted."""
        with self.connections_changed:
            return len(self.open_connections)

    def refuse(self, request, client_address, per_client=None):
        """Tell a client it was turned away; socketserver then closes it.
        *per_client* is the limit of its host, when that is what it passed."""
        limit, value = "max_connections", self.max_connections
        if per_client is not None:
            limit, value = "max_per_client", per_client
        if not self.refusing:
            self.events.emit("limit", limit=limit, value=value)
            self.refusing = True
        self.events.emit("refused", client_address, reason="too many connections")
        line = REFUSAL if per_client is None else REFUSAL_PER_CLIENT
        try:
            request.send(line.format(value).encode("ascii"))
        except OSError:
            pass  # the client has gone already; closing is all that is left

    def close_request(self, request):
        with self.connections_changed:
            self.open_connections.discard(request)
            self.connection_hosts.pop(request, None)
            if not self.open_connections:       # what wait_for_clients() waits for
                self.connections_changed.notify_all()
        super().close_request(request)

    def wait_for_clients(self, deadline):
        with self.connections_changed:
            self.connections_changed.wait_for(
                lambda: not self.open_connections,
                timeout=max(0.0, deadline - time.monotonic()))
            return len(self.open_connections)

    def cut_clients(self):
        """Shut down every open connection; a handler blocked in recv() then
        reads end-of-stream and returns."""
        with self.connections_changed:
            connections = list(self.open_connections)
        for connection in connections:
            try:
                peer = connection.getpeername()
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                continue  # its handler or the client closed it a moment ago
            self.events.emit("cut", peer)
        return len(connections)
