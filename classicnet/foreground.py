"""Serving in the foreground until a stop signal, as the command line does.

``serve_until_signalled(server)`` starts the server (``launcher.start``),
waits for Ctrl-C or another stop signal, and stops it gracefully
(``launcher.stop``).

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
import threading
import time
from collections import namedtuple
from contextlib import contextmanager

from .compat import CAN_WAIT_FOR_SIGNALS, INTERRUPT_SIGNALS
from .launcher import DEFAULT_GRACE, start, stop

__all__ = ["STOP_SIGNALS", "Stopped", "exit_status", "serve_until_signalled"]

log = logging.getLogger("classicnet")


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
