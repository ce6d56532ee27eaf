"""TLS servers: a TCP server whose connections speak TLS.

Theory of operation.  A TLS connection starts with a *handshake*, a few
round trips before the first byte of data.  Where it runs matters:

* ``get_request()`` runs in the accepting loop, so it only *wraps* the
  accepted socket (``do_handshake_on_connect=False``): no byte is read
  there, and a client that connects and never says hello holds up nobody.
* ``finish_request()`` runs where the client is served (its thread, its
  child, or under ``--plain`` the serving loop itself), and does the
  handshake there, bounded by the idle timeout (``--timeout``).  A failed
  handshake (a plain-text client, an old TLS version, a client that
  refuses the certificate) is one line of log at INFO, a ``refused``
  event, and the end of that connection.

(This module does not import ``ssl``: every server imports it, and a
forking server copies all it imported for each client.  ``ssl.SSLError``
is an ``OSError``.)

Why ``settimeout()`` here when plain TCP uses the kernel's SO_RCVTIMEO
(``streams.set_idle_timeout``): when a read of a *blocking* socket fails
with EAGAIN, the ``ssl`` module tries again at once, for ever, spinning a
core.  Only a socket with a Python timeout makes it wait, and give up.

The class is stacked so that the wrapping happens *below* the stream
server's bookkeeping: ``TCPServer.get_request()`` calls ``super()``, which
is ``TLSAccepting.get_request()``, so the set of open connections holds the
TLS sockets the handlers use, and ``cut_clients()`` reaches them::

    TLSServer -> TCPServer (limits, connections) -> ClassroomServer
              -> TLSAccepting (wrap) -> socketserver.TCPServer (accept)
"""

import socket
import socketserver
import sys

from ..contract import idle_timeout_of
from .streams import TCPServer

__all__ = ["TLSAccepting", "TLSServer"]


class TLSAccepting(socketserver.TCPServer):
    """socketserver's TCPServer whose accepted sockets are wrapped in TLS,
    the handshake left for later."""

    tls_context = None

    def get_request(self):
        connection, client_address = super().get_request()
        try:
            wrapped = self.tls_context.wrap_socket(
                connection, server_side=True, do_handshake_on_connect=False)
        except BaseException:
            connection.close()
            raise
        return wrapped, client_address


class TLSServer(TCPServer, TLSAccepting):
    """A classroom TCP server speaking TLS with ``tls_context``, which the
    launcher sets (``classicnet.tls.server_context()``) before serving."""

    transport = "tls"

    def finish_request(self, request, client_address):
        """Shake hands, within the idle timeout; then serve as over TCP."""
        handler_timeout = idle_timeout_of(self.RequestHandlerClass,
                                          self.idle_timeout) or None
        request.settimeout(self.idle_timeout or handler_timeout)
        try:
            request.do_handshake()
        except OSError as error:            # ssl.SSLError is an OSError
            self.events.emit("refused", client_address,
                             reason=f"TLS handshake failed: {handshake_problem(error)}")
            return
        request.settimeout(handler_timeout)
        super().finish_request(request, client_address)

    def send_refusal(self, request, line, value):
        """Refuse a client over the limit without a word: plain text is not
        TLS, and a line in TLS would need the handshake, which must never
        run in the accepting loop, where refusals happen."""

    def handle_error(self, request, client_address):
        """A TLS error while serving (the client closed without saying
        goodbye in TLS, or sent a record that does not decrypt) is the
        client's doing: it went away, as a reset would say over TCP."""
        import ssl      # loaded already: it made this server's context
        error = sys.exc_info()[1]
        if not isinstance(error, ssl.SSLError):
            super().handle_error(request, client_address)
            return
        self.events.emit("failed", client_address, reason="gone", error=error,
                         handler=self.RequestHandlerClass.__name__)


def handshake_problem(error):
    """Why a handshake failed, in a few words: ``wrong version number``."""
    if isinstance(error, (TimeoutError, socket.timeout)):
        return "no hello within --timeout"
    reason = getattr(error, "reason", None)     # ssl.SSLError's, such as
    if reason and reason != "EOF":              # "WRONG_VERSION_NUMBER"
        return reason.lower().replace("_", " ")
    if reason or isinstance(error, ConnectionError) or not str(error):
        return "the client closed the connection"
    return error.strerror or str(error)
