"""What every classicnet server adds to socketserver's, whatever its model.

``ClassroomServer`` is mixed into the stream and the datagram server
classes (``streams``, ``datagrams``).  It gives each server:

* an address family chosen from the address (``endpoints.family_of``), so
  ``--host ::1`` is an IPv6 server, as ``http.server`` does it;
* ``events``, the channel its events go to (``classicnet.events``): a
  client served, a handler that failed;
* ``options`` and ``shared``, the namespaces of the handler contract
  (``classicnet.contract``), empty until the launcher fills them;
* the two methods the launcher calls to stop gracefully,
  ``wait_for_clients()`` and ``cut_clients()``, which do nothing here:
  the stream servers have connections to wait for, and override them.

Errors raised by a handler become a ``failed`` event, which the log shows
with the client's address; the connection is closed and the server goes on
serving everyone else.  A client that vanishes (a reset, a broken pipe) or
times out is an ordinary event, shown at INFO without a traceback.
"""

import socket
import sys

from ..contract import Options
from ..endpoints import Endpoint, family_of
from ..events import Channel

__all__ = ["ClassroomServer"]


class ClassroomServer:
    """The settings every classicnet server shares; mixed into TCP and UDP.

    Methods for the caller (the launcher): ``wait_for_clients(deadline)``,
    ``cut_clients()``, ``connections_in_service()``.
    Methods that may be extended: ``finish_request()``, ``handle_error()``.
    Class variables that may be overridden: ``transport`` (a key of
    ``endpoints.TRANSPORTS``), ``model``, ``arrival`` (how the log names
    a new client), ``one_at_a_time``.
    """

    transport = None
    model = "plain"
    arrival = "client"
    # True while the server serves one request at a time, in the thread that
    # reads them: the plain model, and each forked child.  A model that runs
    # handlers at the same time in one process (threads) sets it to False.
    one_at_a_time = True

    def __init__(self, server_address, RequestHandlerClass, bind_and_activate=True):
        self.address_family = family_of(server_address)
        self.events = Channel()
        self.handler_name = RequestHandlerClass.__name__
        self.options = Options()
        self.shared = Options()
        super().__init__(server_address, RequestHandlerClass, bind_and_activate)

    @property
    def endpoint(self):
        """Where this server listens (its real address once bound)."""
        return Endpoint(self.transport, self.server_address)

    def finish_request(self, request, client_address):
        """Serve one client, and say who served it to whoever listens.

        The handler is built here, as in socketserver's own method; this runs
        for every request (every datagram), so it calls nothing more when
        nobody listens.
        """
        if not self.events.routine:
            self.RequestHandlerClass(request, client_address, self)
            return
        self.events.emit("served", client_address, arrival=self.arrival)
        try:
            self.RequestHandlerClass(request, client_address, self)
        finally:
            self.events.emit("closed", client_address)

    def handle_error(self, request, client_address):
        """Report the handler's exception once, with the client's address."""
        error = sys.exc_info()[1]
        if isinstance(error, (TimeoutError, socket.timeout, BlockingIOError)):
            reason = "timeout"
        elif isinstance(error, ConnectionError):
            reason = "gone"
        else:
            reason = "error"
        self.events.emit("failed", client_address, reason=reason, error=error,
                         handler=self.RequestHandlerClass.__name__)

    def wait_for_clients(self, deadline):
        """Wait until no client is being served, or until time.monotonic()
        reaches *deadline*; return how many are still being served."""
        return 0

    def cut_clients(self):
        """End the service of every client still being served; return how many."""
        return 0

    def connections_in_service(self):
        """How many connections are being served (none: UDP has no connections)."""
        return 0
