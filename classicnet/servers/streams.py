"""Stream servers: connections, and the limits that keep a classroom server up.

A stream server (TCP) serves *connections*, and a connection can last for
ever.  So, beyond socketserver's ``TCPServer``, a classroom server needs:

* ``allow_reuse_address``: a server stopped a moment ago leaves connections
  in TIME_WAIT; SO_REUSEADDR lets a new one bind the same port at once.
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
  student knows why.
* the set of open connections, so that stopping can be graceful: the
  launcher waits for them (``wait_for_clients()``), then shuts down those
  still open (``cut_clients()``).  ``get_request()`` adds to the set and
  ``close_request()`` takes away, and both run in every model, so the set
  is always complete.
"""

import socket
import socketserver
import struct
import sys
import threading
import time

from ..contract import idle_timeout_of
from .classroom import ClassroomServer

__all__ = ["DEFAULT_IDLE_TIMEOUT", "DEFAULT_MAX_CONNECTIONS", "REFUSAL",
           "TCPServer", "set_idle_timeout"]

DEFAULT_IDLE_TIMEOUT = 30.0
DEFAULT_MAX_CONNECTIONS = 500

# What a client refused by max_connections reads before the connection closes.
REFUSAL = "classicnet: too many connections (at most {}); try again later\n"


def set_idle_timeout(connection, seconds):
    """Let the kernel end a recv() or send() that waits more than *seconds*.

    ``settimeout()`` would do it in Python, but then Python polls the socket
    before every call, which costs the tiniest round trips a tenth of their
    speed.  SO_RCVTIMEO and SO_SNDTIMEO cost nothing until they fire; then
    the call fails with EAGAIN, which Python raises as ``BlockingIOError``.
    (Windows takes the option in another form, so it gets ``settimeout``.)
    """
    if sys.platform == "win32":
        connection.settimeout(seconds)
        return
    whole = int(seconds)
    timeval = struct.pack("@ll", whole, int((seconds - whole) * 1_000_000))
    connection.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, timeval)
    connection.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, timeval)


class TCPServer(ClassroomServer, socketserver.TCPServer):
    """socketserver's TCPServer with the classroom settings and limits.

    ``verify_request()``, socketserver's hook for turning a client away,
    refuses one more than ``max_connections``.
    """

    transport = "tcp"
    arrival = "connection from"
    allow_reuse_address = True
    request_queue_size = socket.SOMAXCONN
    idle_timeout = DEFAULT_IDLE_TIMEOUT
    max_connections = DEFAULT_MAX_CONNECTIONS

    def __init__(self, server_address, RequestHandlerClass, bind_and_activate=True):
        self.open_connections = set()
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
        if self.events.routine:
            self.events.emit("accepted", client_address)
        return connection, client_address

    def verify_request(self, request, client_address):
        """Refuse the client, with one line saying why, when it would be one
        connection more than ``max_connections``."""
        if self.too_many_connections():
            self.refuse(request, client_address)
            return False
        self.refusing = False
        return super().verify_request(request, client_address)

    def too_many_connections(self):
        """True when the client just accepted is one more than ``max_connections``."""
        return bool(self.max_connections) and \
            self.connections_in_service() > self.max_connections

    def connections_in_service(self):
        """How many clients are being served, counting the one just accepted."""
        with self.connections_changed:
            return len(self.open_connections)

    def refuse(self, request, client_address):
        """Tell a client it was turned away; socketserver then closes it."""
        if not self.refusing:
            self.events.emit("limit", limit="max_connections",
                             value=self.max_connections)
            self.refusing = True
        self.events.emit("refused", client_address, reason="too many connections")
        self.send_refusal(request)

    def send_refusal(self, request):
        """The line a refused client reads.  May be overridden."""
        try:
            request.send(REFUSAL.format(self.max_connections).encode("ascii"))
        except OSError:
            pass  # the client has gone already; closing is all that is left

    def close_request(self, request):
        with self.connections_changed:
            self.open_connections.discard(request)
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
