"""The launcher: build a server for a handler, run it, and stop it cleanly.

Three steps, each a function of its own so that tests can call any of them
without the others (and without mocks)::

    server = build_server("echo", model="threading", port=0)   # bind + listen
    thread = start(server)                                      # serve_forever
    stop(server, thread, grace=2.0)                             # graceful stop

``running(server)`` joins the last two into a ``with`` block.

Theory of operation for stopping.  socketserver's ``shutdown()`` only asks
``serve_forever()`` to return and waits until it has; it must never be
called from the serving thread itself (it would wait for itself forever).
So the server always runs in a thread of its own, and the main thread, the
one that receives signals, does the stopping:

1. ``shutdown()`` (in a helper thread): stop accepting new clients;
2. ``wait_for_clients()``: let clients being served finish, for up to
   *grace* seconds;
3. ``cut_clients()``: end those still connected (an idle client must not
   keep a server alive);
4. ``server_close()``: close the listening socket.

Serving in the foreground until a stop signal, as the command line does,
is ``classicnet.foreground``.
"""

import logging
import socketserver
import threading
import time
from contextlib import contextmanager

from . import contract, loading, registry, servers
from .endpoints import server_endpoint
from .errors import UsageError

__all__ = [
    "DEFAULT_GRACE", "DEFAULT_HOST", "DEFAULT_PORT", "build_server",
    "describe", "resolve_handler", "running", "start", "stop",
]

log = logging.getLogger("classicnet")

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 9000
DEFAULT_GRACE = 2.0

# How often serve_forever() looks for a shutdown request.  socketserver's
# default of 0.5 s would make every stop wait up to half a second.
POLL_INTERVAL = 0.05

# How long, in all, to wait for handlers to return after their connections
# were cut.  A handler blocked on something else than its socket never does;
# its thread is a daemon and its process has been sent SIGTERM.
CUT_TIMEOUT = 2.0


def resolve_handler(handler, kind=None):
    """Return ``(name, handler_class, kind)`` for a registered name or a class.

    *kind* is "tcp" or "udp", the kind of socket to serve; by default the
    handler's own (TCP, unless it only speaks UDP).
    """
    if isinstance(handler, str):
        entry = registry.lookup(handler)
        kind = kind or entry.default_kind
        return handler, entry.handler_for(kind), kind
    if not (isinstance(handler, type)
            and issubclass(handler, socketserver.BaseRequestHandler)):
        raise UsageError(f"{handler!r} is not a socketserver request handler class")
    declared = registry.kind_of(handler)
    kind = kind or declared or "tcp"
    if declared and kind != declared:
        raise UsageError(f"{handler.__name__} is a {declared} handler "
                         f"and cannot serve {kind}")
    return handler.__name__, handler, kind


def build_server(handler, model="plain", transport=None, host=DEFAULT_HOST,
                 port=DEFAULT_PORT, endpoint=None, tls=None, unix_mode=None,
                 **settings):
    """Create, bind and activate a server for *handler*; do not serve yet.

    Where it listens is *endpoint* (``classicnet.endpoints.Endpoint``), or
    else *transport* ("tcp", "udp"; by default the handler's), *host* and
    *port*.  *settings* are the handler's options (``delay=5``), which
    land in ``server.options``, the server-level settings of
    ``servers.SETTINGS`` (``max_connections=50``) and the model's settings
    of ``servers.MODEL_SETTINGS`` (``pool_size=4``, ``max_children=8``).
    A "tls" endpoint needs *tls*, the ``ssl.SSLContext`` of
    ``classicnet.tls.server_context()``; a Unix-domain socket file takes
    the mode *unix_mode* (default 0o600).
    Raises ``UsageError`` for a wrong name, model, transport or setting,
    and ``OSError`` when the address cannot be bound.
    """
    if endpoint is None:
        if transport is None:
            transport = resolve_handler(handler)[2]
        endpoint = server_endpoint(transport, host, port)
    name, handler_class, _ = resolve_handler(handler, endpoint.kind)
    server_class = servers.server_class(model, endpoint.transport)
    server_settings = {key: settings.pop(key) for key in list(settings)
                       if servers.is_server_setting(key)}
    options = contract.options_of(handler_class)
    contract.check_options(options, handler_class.__name__)
    values = contract.option_values(options, settings, name)
    check_transport_settings(endpoint.transport, tls, unix_mode)
    server = server_class(endpoint.address, handler_class)
    try:
        server.handler_name, server.options = name, values
        if tls is not None:
            server.tls_context = tls
        if unix_mode is not None:
            server.set_socket_mode(unix_mode)
        servers.configure_server(server, server_settings)
        _prepare(handler_class, server)
    except BaseException:
        server.server_close()
        raise
    return server


def _prepare(handler_class, server):
    """Run the handler's ``prepare_server``; a student's code that fails
    there is shown as a loading failure is, with the student's frames only."""
    try:
        contract.prepare(handler_class, server)
    except (UsageError, OSError):
        raise
    except (Exception, KeyboardInterrupt) as error:
        raise loading.students_error(error) from None


def check_transport_settings(transport, tls, unix_mode):
    """A TLS context for a "tls" server, and only there; a socket mode only
    for a Unix-domain one."""
    if (transport == "tls") != (tls is not None):
        raise UsageError("a tls server needs an ssl.SSLContext (--tls --cert "
                         "FILE --key FILE)" if tls is None else
                         f"a {transport} server takes no TLS context; use --tls")
    if unix_mode is not None and not transport.startswith("unix"):
        raise UsageError(f"--unix-mode is for a Unix-domain socket, not {transport}; "
                         "add --unix PATH")


def describe(server):
    """The readiness line: what is served, how, and on which address."""
    return (f"classicnet: serving {server.handler_name} "
            f"({server.model}, {server.transport}) on {server.endpoint}")


def start(server):
    """Run ``serve_forever()`` in a new thread and return the thread.

    The ``listening`` event comes once that thread runs, so whoever waits
    for it finds the server with all its threads.
    """
    server.events.refresh()
    thread = threading.Thread(target=server.serve_forever,
                              kwargs={"poll_interval": POLL_INTERVAL},
                              name="classicnet-server", daemon=True)
    thread.start()
    server.events.emit("listening", transport=server.transport,
                       address=str(server.endpoint), handler=server.handler_name,
                       model=server.model)
    return thread


def stop(server, thread, grace=DEFAULT_GRACE):
    """Stop *server*: no new clients, *grace* seconds for the others, then cut.

    Returns ``(finished, cut)``: how many clients finished within the grace
    period and how many were cut off.
    """
    deadline = time.monotonic() + grace
    waiting = server.wait_for_clients(time.monotonic())
    log.info("stopping: %d client(s) being served, %.1f s to finish",
             waiting, grace)
    stopper = threading.Thread(target=server.shutdown, name="classicnet-stop",
                               daemon=True)
    stopper.start()
    remaining = server.wait_for_clients(deadline)
    cut = server.cut_clients() if remaining else 0
    cut_deadline = time.monotonic() + CUT_TIMEOUT
    stopper.join(max(0.0, cut_deadline - time.monotonic()))
    thread.join(max(0.0, cut_deadline - time.monotonic()))
    server.wait_for_clients(cut_deadline)
    server.server_close()
    finished = max(0, waiting - cut)    # cut may count a client that came late
    server.events.emit("stopped", finished=finished, cut=cut)
    return finished, cut


@contextmanager
def running(server, grace=0.0):
    """Serve *server* in a thread for the length of a ``with`` block."""
    thread = start(server)
    try:
        yield server
    finally:
        stop(server, thread, grace)
