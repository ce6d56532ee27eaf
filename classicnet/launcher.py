"""The launcher: build a server for a handler, run it, and stop it cleanly.

Three steps, each a function of its own so that tests can call any of them
without the others (and without mocks)::

    server = build_server("echo", model="threading", port=0)   # bind + listen
    thread = start(server)                                      # serve_forever
    stop(server, thread, grace=2.0)                             # graceful stop

``running(server)`` joins the last two into a ``with`` block, and
``serve_until_signalled(server)`` is what the command line does: serve
until Ctrl-C or SIGTERM, then stop.

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

The main thread never runs Python signal handlers: the stop signals are
blocked and collected with ``signal.sigwait()``.  An exception raised from a
signal handler could otherwise surface anywhere, even inside
``Thread.start()``, and be lost.  A second signal during the grace period
cuts the remaining clients at once.  Where signals cannot be held and
waited for (Windows, macOS: ``compat.CAN_WAIT_FOR_SIGNALS``), a handler
only notes each signal and the main thread looks for it in short steps.

The stop signals, and the exit status each ends the command with::

    signal    sent by                          exit status
    -------   ------------------------------   -----------------------------
    SIGINT    Ctrl-C                           0: a stop that was asked for
    SIGTERM   kill, a service manager          0
    SIGHUP    the terminal closing, kill -HUP  129 (128 + 1), as a shell says
    SIGQUIT   Ctrl-\\                           131 (128 + 3)

Each of them stops the server the same clean way (children ended, the
socket closed, temporary files removed); the status tells a script which
one it was.  Left to their defaults, SIGHUP would kill a forking server's
parent and leave its children serving, and SIGQUIT would dump core.  A
server started with ``nohup`` (SIGHUP ignored) keeps ignoring hangups.
"""

import logging
import signal
import socketserver
import threading
import time
from collections import namedtuple
from contextlib import contextmanager

from . import contract, loading, registry, servers
from .compat import CAN_WAIT_FOR_SIGNALS, INTERRUPT_SIGNALS
from .endpoints import server_endpoint
from .errors import UsageError

__all__ = [
    "DEFAULT_GRACE", "DEFAULT_HOST", "DEFAULT_PORT", "STOP_SIGNALS", "Stopped",
    "build_server", "describe", "exit_status", "resolve_handler", "running",
    "serve_until_signalled", "start", "stop",
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
                 port=DEFAULT_PORT, endpoint=None, **settings):
    """Create, bind and activate a server for *handler*; do not serve yet.

    Where it listens is *endpoint* (``classicnet.endpoints.Endpoint``), or
    else *transport* ("tcp", "udp"; by default the handler's), *host* and
    *port*.  *settings* are the handler's options (``delay=5``), which
    land in ``server.options``, the server-level settings of
    ``servers.SETTINGS`` (``max_connections=50``) and the model's settings
    of ``servers.MODEL_SETTINGS`` (``pool_size=4``, ``max_children=8``).
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
    server = server_class(endpoint.address, handler_class)
    try:
        server.handler_name, server.options = name, values
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


# The signals that stop a server (the table above); Windows has only SIGINT
# and SIGTERM.
STOP_SIGNALS = set(INTERRUPT_SIGNALS)     # SIGINT, SIGTERM, and Ctrl-Break on Windows
if hasattr(signal, "SIGHUP"):
    STOP_SIGNALS |= {signal.SIGHUP, signal.SIGQUIT}

# How a stop ended: clients that finished within the grace, clients cut
# off, and the signal that asked for it.
Stopped = namedtuple("Stopped", "finished cut signal")


def exit_status(signum):
    """The command's exit status after *signum* stopped it (the table above)."""
    return 0 if signum in (signal.SIGINT, signal.SIGTERM) else 128 + signum


def serve_until_signalled(server, grace=DEFAULT_GRACE, ready=None):
    """Serve until a stop signal (Ctrl-C, SIGTERM, SIGHUP, SIGQUIT), then
    stop gracefully.

    *ready*, if given, is called once the server is serving and a stop
    signal can no longer be missed: the moment to announce the server.
    Call it from the main thread.  Returns ``Stopped(finished, cut, signal)``.
    """
    signals = {signum for signum in STOP_SIGNALS
               if signal.getsignal(signum) is not signal.SIG_IGN
               or signum == signal.SIGINT}     # nohup: hangups stay ignored
    if not CAN_WAIT_FOR_SIGNALS:
        return _serve_until_interrupted(server, grace, ready, signals)
    with _signals_held(signals):
        thread = start(server)      # inherits the held signals
        if ready is not None:
            ready()
        signum = signal.sigwait(signals)
        log.info("%s received: stopping (grace %.1f s)",
                 signal.Signals(signum).name, grace)
        finished, cut = _stop_unless_hurried(server, thread, grace, signals)
    log.info("stopped: %d client(s) finished, %d cut off", finished, cut)
    return Stopped(finished, cut, signal.Signals(signum))


@contextmanager
def _signals_held(signals):
    """Hold *signals* back, to be collected with sigwait() rather than handled.

    A shell that starts a program in the background sets SIGINT to "ignore",
    and an ignored signal is thrown away even while it is blocked, so the
    default disposition is put back for as long as the signals are held.
    """
    signal.pthread_sigmask(signal.SIG_BLOCK, signals)
    previous = {signum: signal.signal(signum, signal.SIG_DFL) for signum in signals}
    try:
        yield
    finally:
        while signal.sigtimedwait(signals, 0):
            pass                    # one more Ctrl-C after the stop: nothing to do
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, signals)


def _stop_unless_hurried(server, thread, grace, signals):
    """Run stop() in a helper thread; a second signal meanwhile cuts every client."""
    outcome = []
    stopper = threading.Thread(target=lambda: outcome.append(stop(server, thread, grace)),
                               name="classicnet-graceful-stop")
    stopper.start()
    cut_early = 0
    while stopper.is_alive():
        if signal.sigtimedwait(signals, 0.1):
            log.info("second signal: cutting every client now")
            cut_early += server.cut_clients()
    finished, cut = outcome[0]
    return finished - cut_early, cut + cut_early


# --- where signals cannot be held and waited for (Windows, macOS) ----------

# How often the main thread looks up to see whether a signal came.  On
# Windows a Ctrl-C wakes a sleep at once; elsewhere the sleep goes on after
# the handler (PEP 475), so a stop begins at most this long after the signal.
INTERRUPT_POLL = 0.25


def _serve_until_interrupted(server, grace, ready, signals):
    """Serve until Ctrl-C, SIGTERM or Ctrl-Break, where signals cannot be
    held and waited for: Windows has no signal masks, macOS no
    ``sigtimedwait()``.

    socketserver's own answer is KeyboardInterrupt, but an exception raised
    from a signal handler can surface anywhere, even inside
    ``Thread.start()``, and leave a stopping thread running for ever.  So
    here the handler only notes the signal (``_signals_noted``) and the main
    thread looks for it every ``INTERRUPT_POLL`` seconds: the same steps as
    with sigwait(), a second signal during the grace period included.
    """
    with _signals_noted(signals) as received:
        thread = start(server)
        if ready is not None:
            ready()
        while not received and thread.is_alive():
            time.sleep(INTERRUPT_POLL)
        if received:
            log.info("%s received: stopping (grace %.1f s)",
                     signal.Signals(received[0]).name, grace)
        finished, cut = _stop_unless_signalled_again(server, thread, grace, received)
    log.info("stopped: %d client(s) finished, %d cut off", finished, cut)
    return Stopped(finished, cut, signal.Signals(received[0] if received else signal.SIGINT))


@contextmanager
def _signals_noted(signals):
    """For the block's length, each stop signal is appended to the list
    yielded, and does nothing else.  (A shell that starts a program in the
    background ignores SIGINT: the handler takes it back.)"""
    received = []
    previous = {signum: signal.signal(signum, lambda signum, _: received.append(signum))
                for signum in signals}
    try:
        yield received
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _stop_unless_signalled_again(server, thread, grace, received):
    """Run stop() in a helper thread; each signal noted meanwhile cuts every client."""
    outcome, done = [], threading.Event()

    def stop_and_say_so():
        try:
            outcome.append(stop(server, thread, grace))
        finally:
            done.set()

    threading.Thread(target=stop_and_say_so, name="classicnet-graceful-stop").start()
    seen, cut_early = min(len(received), 1), 0     # the first one began the stop
    while not done.wait(INTERRUPT_POLL):
        if len(received) > seen:
            seen = len(received)
            log.info("second signal: cutting every client now")
            cut_early += server.cut_clients()
    finished, cut = outcome[0]
    return finished - cut_early, cut + cut_early
