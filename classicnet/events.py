"""Events: what happened to a connection, as data.

A server says what happens to its clients by *emitting events*, small
records that any number of listeners receive::

    event       when                                      where it is emitted
    ---------   ---------------------------------------   ---------------------
    listening   the socket is bound and listening          the main thread
    accepted    a connection was accepted                  the serving loop
    refused     a client was turned away (detail: why)     the serving loop
    dropped     a datagram was not answered (why)          the serving loop
    limit       a limit was reached (which, its value)     the serving loop
    served      a handler starts on a client               the thread or process
                                                           that serves it
    closed      the handler has returned                   the same
    failed      the handler raised (timeout, client        the same
                gone, or an error in the handler)
    cut         a client was cut off at stop               the main thread
    worker      a prefork worker ended and was replaced    the serving loop
                (the pid it replaced, the new worker, why)
    step        one socketserver step (with --trace)       wherever it runs
    stopped     the server has stopped (finished, cut)     the main thread

Every event carries the thread name and process id that emitted it, so a
``served`` event tells which model did what: a new thread per client, a
new process, or always the same thread.

The human text is made from the data at the edge, never parsed back:
``log_event`` writes the ``-v`` log and the ``--trace`` lines, and
``JsonLines`` writes one JSON object per line to a file or a pipe
(``--events FILE``), which is how the concurrency lab learns who served
whom.  A program reads that channel; nobody reads the log.

Routine events cost a little on every connection, so a server emits them
only while someone listens (``Channel.routine``); refusals, limits and
failures are always emitted, since the log always shows them.
"""

import logging
import os
import threading
import time
from collections import namedtuple

from .endpoints import format_address

__all__ = ["Channel", "Event", "JsonLines", "log_event"]

log = logging.getLogger("classicnet.server")
trace_log = logging.getLogger("classicnet.trace")


class Event(namedtuple("Event", "kind client detail thread pid time")):
    """One thing that happened: its kind, the client's address (or None),
    a dict of details, and who emitted it, when (``time.time()``)."""

    __slots__ = ()

    def as_dict(self):
        """The event as plain JSON data."""
        data = {"event": self.kind, "time": round(self.time, 6),
                "thread": self.thread, "pid": self.pid}
        if self.client is not None:
            data["client"] = _json_address(self.client)
        for key, value in self.detail.items():
            data[key] = value if _is_plain(value) else str(value)
        return data


def _json_address(address):
    if isinstance(address, (str, bytes)):
        return address if isinstance(address, str) else address.decode("utf-8", "replace")
    return format_address(address)


def _is_plain(value):
    return value is None or isinstance(value, (str, int, float, bool))


class Channel:
    """Where a server's events go: a list of listeners, each a callable
    that takes an ``Event``.

    The log is always a listener; ``subscribe()`` adds more.
    """

    def __init__(self):
        self.listeners = [log_event]
        self.routine = False
        self.refresh()

    def subscribe(self, listener):
        self.listeners.append(listener)
        self.refresh()

    def refresh(self):
        """Decide whether routine events would reach anyone: a listener
        besides the log, or a log that shows them (``-v``).  The answer is
        kept in ``routine``, which the server reads for every client; the
        launcher refreshes it when the server starts, once the log is set."""
        self.routine = len(self.listeners) > 1 or log.isEnabledFor(logging.INFO)

    def emit(self, kind, client=None, **detail):
        """Make the event and hand it to every listener."""
        event = Event(kind, client, detail, threading.current_thread().name,
                      os.getpid(), time.time())
        for listener in self.listeners:
            listener(event)


def log_event(event):
    """The server's log, made from its events (``-v`` shows the routine ones)."""
    kind, detail = event.kind, event.detail
    who = "" if event.client is None else _json_address(event.client)
    if kind == "step":
        trace_log.info("%-16s [%s]%s", detail["step"], f"{event.thread} pid {event.pid}",
                       f"  {who}" if who else "")
    elif kind == "served" and log.isEnabledFor(logging.INFO):
        log.info("%s %s served by %s in process %d", detail["arrival"], who,
                 event.thread, event.pid)
    elif kind == "refused":
        log.info("refused %s: %s", who, detail["reason"])
    elif kind == "dropped":
        log.debug("dropped a datagram from %s: %s", who, detail["reason"])
    elif kind == "limit":
        _log_limit(detail)
    elif kind == "failed":
        _log_failure(who, detail)
    elif kind == "cut":
        log.info("cut off %s at stop", who or f"process {detail.get('child')}")
    elif kind == "worker" and detail["worker"] is None:
        log.error("worker %d %s: not replaced yet, trying again", detail["replaced"],
                  detail["reason"])
    elif kind == "worker":
        log.log(logging.INFO if detail["recycled"] else logging.WARNING,
                "worker %d %s: replaced by worker %d", detail["replaced"],
                detail["reason"], detail["worker"])


def _log_limit(detail):
    if detail["limit"] == "max_connections":
        log.warning("refusing clients: %d connections at once (--max-connections)",
                    detail["value"])
    elif detail["limit"] == "max_per_client":
        log.warning("refusing clients: %d connections at once from one host "
                    "(--max-per-client)", detail["value"])
    else:
        log.warning("dropping datagrams from %s: more than %d a second (--udp-rate)",
                    detail["host"], detail["value"])


def _log_failure(who, detail):
    error = detail["error"]
    if detail["reason"] == "timeout":
        log.info("client %s timed out (--timeout): disconnected", who)
    elif detail["reason"] == "gone":
        log.info("client %s went away: %s", who, error)
    else:
        log.error("%s failed while serving %s", detail["handler"], who,
                  exc_info=(type(error), error, error.__traceback__))


class JsonLines:
    """A listener that writes each event as one line of JSON to a file
    descriptor (a file opened for appending, or a pipe).

    Each line is written with one ``os.write``, so lines from the threads
    and the forked children of one server never interleave (a pipe keeps
    writes of up to ``PIPE_BUF`` bytes whole; an ``O_APPEND`` file, every
    write).
    """

    def __init__(self, fd):
        import json     # here, not at the top: most servers never write events,
        self.fd = fd    # and every module a forking server holds makes a fork dearer
        self.dumps = json.dumps

    @classmethod
    def to_file(cls, path):
        return cls(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644))

    def __call__(self, event):
        line = self.dumps(event.as_dict(), ensure_ascii=True) + "\n"
        try:
            os.write(self.fd, line.encode("ascii"))
        except OSError:
            pass        # the reader has gone; the server goes on serving

    def close(self):
        os.close(self.fd)
