"""The server classes: one per (concurrency model, transport), from socketserver.

socketserver builds its servers by mixing a *model* into a *transport*::

        +-----------+         +------------------+
        | TCPServer | ------> | ThreadingMixIn + | --> ThreadingTCPServer
        +-----------+    |    +------------------+
              |          +--> | ForkingMixIn  +  | --> ForkingTCPServer
              v               +------------------+
        +-----------+
        | UDPServer |  (and the same two mixes for UDP)
        +-----------+

classicnet keeps exactly that family and adds only what a classroom needs,
so every class here *is* a socketserver class.  The table a student reads
is ``SERVER_CLASSES``::

    model       what happens to each new client               cost
    ---------   -------------------------------------------   ------------------
    plain       served in the server's own thread; the        nothing, but one
                others wait in the listen backlog             slow client blocks all
    threading   a new thread (socketserver.ThreadingMixIn)    a thread per client;
                                                              the GIL shares one core
    forking     a new process (socketserver.ForkingMixIn),    a fork per client;
                at most max_children at once, later ones      uses every core, shares
                wait                                          no memory
    pool        one of pool_size threads started once         bounded threads; the
                (ThreadPoolMixIn, below); later ones wait     GIL shares one core

The settings classicnet chooses, and why:

* ``allow_reuse_address``: a server stopped a moment ago leaves connections
  in TIME_WAIT; SO_REUSEADDR lets a new one bind the same port at once.
* ``request_queue_size``: socketserver listens with a backlog of 5, so a
  class of students connecting together is partly refused.  classicnet asks
  for ``socket.SOMAXCONN`` (the kernel may cap it further).
* ``address_family``: chosen from the host, as ``http.server`` does, so
  ``--host ::1`` gives an IPv6 server.
* ``max_packet_size``: socketserver reads datagrams into 8192 bytes and
  silently cuts longer ones; classicnet reads up to 65535, the most one UDP
  datagram can carry.
* ``idle_timeout`` (``--timeout S``, default 30 s): every connection
  socket gets the kernel's receive and send timeouts (SO_RCVTIMEO,
  SO_SNDTIMEO), so a client that sends nothing, or a byte now and then more
  than S seconds apart, cannot hold a thread or a child for ever.  The
  handler's ``recv()`` or ``sendall()`` then raises ``BlockingIOError``,
  which ends the connection like any client that went away.  A handler
  class may set its own ``idle_timeout`` (``None``: no limit, as ``chat``
  does).  ``set_idle_timeout()`` says why not ``settimeout()``.
* ``max_connections`` (``--max-connections N``, default 500): a client
  arriving when N connections are being served is *refused*, not kept
  waiting: it reads one line, ``classicnet: too many connections ...``,
  and the connection is closed.  So the server stays responsive and the
  student knows why.  (The forking model also has socketserver's
  ``max_children``: beyond it, clients wait in the backlog.)
* Datagram safety.  A UDP server answers whatever source address a
  datagram claims, and that address can be forged, so a careless server
  can be made to bombard a victim (a *reflector*).  The UDP servers here
  ignore empty datagrams and datagrams from port 0 or from the server's own
  address, answer at most ``udp_rate`` datagrams a second from one host
  (``--udp-rate N``, default 1000), and give each handler a socket that
  sends no more bytes in answer than the datagram brought, or 64 if that
  is more, plus the handler's declared ``reply_allowance``.  This guards against mistakes; it is no sandbox, since a handler
  can always reach ``self.server.socket``.
* Threads are daemon threads and ``block_on_close`` is off: a client that
  never hangs up must not keep the server alive.  Instead, each server
  keeps the set of connections it is serving, so stopping can be graceful:
  ``wait_for_clients()`` gives them a grace period, then ``cut_clients()``
  shuts their sockets down (threads, plain) or ends their processes
  (forking).  The launcher calls both; nothing here runs a loop of its own.

Errors raised by a handler are logged with the client's address; the
connection is closed and the server goes on serving everyone else.  A client
that vanishes (a reset, a broken pipe) is an ordinary event, logged at INFO
without a traceback.
"""

import logging
import os
import queue
import signal
import socket
import socketserver
import struct
import sys
import threading
import time

from .errors import UsageError
from .text import format_address

__all__ = [
    "MODEL_SETTINGS", "MODELS", "SERVER_CLASSES", "SETTINGS", "ReplyTooLarge",
    "ThreadPoolMixIn", "address_family", "configure_server", "is_server_setting",
    "server_class",
]

log = logging.getLogger("classicnet.server")

# How long the forking model waits between looks at its children while
# stopping: os.waitpid() cannot wait with a timeout.
CHILD_POLL_INTERVAL = 0.05

DEFAULT_IDLE_TIMEOUT = 30.0
DEFAULT_MAX_CONNECTIONS = 500
DEFAULT_UDP_RATE = 1000

# The server-level settings: build_server() accepts them beside a handler's
# options and stores each as an attribute of the server.  Their defaults are
# the class attributes of the same names below; 0 means "no limit".
SETTINGS = ("idle_timeout", "max_connections", "udp_rate")

# Any datagram may be answered with this many bytes, however short it was:
# a line such as a time of day.  Beyond it, an answer may not be longer than
# the question unless the handler declares a reply_allowance.
SHORT_ANSWER = 64

# What a client refused by max_connections reads before the connection closes.
REFUSAL = "classicnet: too many connections (at most {}); try again later\n"


def address_family(host):
    """AF_INET6 for an IPv6 host (``::1``), AF_INET for anything else."""
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM,
                                   flags=socket.AI_PASSIVE)
    except socket.gaierror:
        return socket.AF_INET6 if ":" in host else socket.AF_INET
    return infos[0][0]


class ClassroomSettings:
    """The settings every classicnet server shares; mixed into TCP and UDP.

    Methods for the caller (the launcher): ``wait_for_clients(deadline)``,
    ``cut_clients()``.
    Methods that may be extended: ``finish_request()``, ``handle_error()``.
    """

    allow_reuse_address = True
    request_queue_size = socket.SOMAXCONN

    def __init__(self, server_address, RequestHandlerClass, bind_and_activate=True):
        self.address_family = address_family(server_address[0])
        super().__init__(server_address, RequestHandlerClass, bind_and_activate)

    def finish_request(self, request, client_address):
        """Serve one client; with ``-v``, say who serves it."""
        if log.isEnabledFor(logging.INFO):
            log.info("%s %s served by %s in process %d", self.arrival,
                     format_address(client_address),
                     threading.current_thread().name, os.getpid())
        super().finish_request(request, client_address)

    def handle_error(self, request, client_address):
        """Log the handler's exception once, with the client's address."""
        error = sys.exc_info()[1]
        who = format_address(client_address)
        if isinstance(error, (TimeoutError, socket.timeout, BlockingIOError)):
            log.info("client %s timed out (--timeout): disconnected", who)
        elif isinstance(error, ConnectionError):
            log.info("client %s went away: %s", who, error)
        else:
            log.exception("%s failed while serving %s",
                          self.RequestHandlerClass.__name__, who)

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


class TCPServer(ClassroomSettings, socketserver.TCPServer):
    """socketserver's TCPServer with the classroom settings.

    It keeps the set of connections it has accepted and not yet closed:
    ``get_request()`` adds to it and ``close_request()`` takes away, and both
    run in every model, so the set is always complete.  ``verify_request()``,
    socketserver's hook for turning a client away, refuses one more than
    ``max_connections``.
    """

    arrival = "connection from"
    idle_timeout = DEFAULT_IDLE_TIMEOUT
    max_connections = DEFAULT_MAX_CONNECTIONS

    def __init__(self, server_address, RequestHandlerClass, bind_and_activate=True):
        self.open_connections = set()
        self.connections_changed = threading.Condition()
        self.refusing = False
        super().__init__(server_address, RequestHandlerClass, bind_and_activate)

    def get_request(self):
        connection, client_address = super().get_request()
        seconds = getattr(self.RequestHandlerClass, "idle_timeout", self.idle_timeout)
        if seconds:
            set_idle_timeout(connection, seconds)
        with self.connections_changed:
            self.open_connections.add(connection)
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
            log.warning("refusing clients: %d connections at once (--max-connections)",
                        self.max_connections)
            self.refusing = True
        log.info("refused %s", format_address(client_address))
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
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # its handler or the client closed it a moment ago
        return len(connections)


class UDPServer(ClassroomSettings, socketserver.UDPServer):
    """socketserver's UDPServer, reading whole datagrams of any size.

    UDP has no connections to wait for: each datagram is served at once.
    ``verify_request()`` drops the datagrams that must not be answered, and
    the handler's ``self.request`` is ``(data, socket)`` with a socket that
    answers no more bytes than *data* holds, or a short line (see
    ``LimitedReplies``).
    """

    arrival = "datagram from"
    max_packet_size = 65535
    udp_rate = DEFAULT_UDP_RATE

    def __init__(self, server_address, RequestHandlerClass, bind_and_activate=True):
        self.rate_second, self.datagrams_this_second = None, {}
        super().__init__(server_address, RequestHandlerClass, bind_and_activate)

    def get_request(self):
        data, client_address = self.socket.recvfrom(self.max_packet_size)
        allowance = getattr(self.RequestHandlerClass, "reply_allowance", 0)
        budget = max(len(data), SHORT_ANSWER) + allowance
        replies = LimitedReplies(self.socket, budget, len(data))
        return (data, replies), client_address

    def verify_request(self, request, client_address):
        """Drop a datagram that is empty, comes from port 0 or from this
        server itself, or exceeds its sender's rate."""
        data = request[0]
        if not data or client_address[1] == 0 or self.is_own_address(client_address):
            return False
        if not self.within_rate(client_address[0]):
            return False
        return super().verify_request(request, client_address)

    def is_own_address(self, address):
        """True for the server's own address (a datagram it would answer itself)."""
        own_host, own_port = self.server_address[:2]
        host, port = address[:2]
        return port == own_port and (host == own_host or own_host in ("0.0.0.0", "::"))

    def within_rate(self, host):
        """Count a datagram from *host*; False once it sends more than
        ``udp_rate`` in the current second."""
        second = int(time.monotonic())
        if second != self.rate_second:
            self.rate_second, self.datagrams_this_second = second, {}
        count = self.datagrams_this_second.get(host, 0) + 1
        self.datagrams_this_second[host] = count
        if not self.udp_rate or count <= self.udp_rate:
            return True
        if count == self.udp_rate + 1:
            log.warning("dropping datagrams from %s: more than %d a second (--udp-rate)",
                        host, self.udp_rate)
        return False


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
    Everything else is passed to the real socket.
    """

    def __init__(self, sock, budget, received):
        self._socket = sock
        self.budget = budget
        self.received = received

    def sendto(self, data, *flags_and_address):
        size = memoryview(data).nbytes
        if size > self.budget:
            raise ReplyTooLarge(
                f"answer of {size} bytes not sent: a datagram of {self.received} "
                f"bytes may get at most {self.budget} more bytes in answer (its "
                f"own size or {SHORT_ANSWER} bytes, whichever is more; a larger "
                "answer would amplify floods; a handler class that must answer "
                "N bytes more declares reply_allowance = N)")
        self.budget -= size
        return self._socket.sendto(data, *flags_and_address)

    def __getattr__(self, name):
        return getattr(self._socket, name)


class ThreadingMixIn(socketserver.ThreadingMixIn):
    """socketserver's ThreadingMixIn with daemon threads.

    With ``block_on_close`` on, socketserver would also keep a list of every
    thread and walk it on each new connection; the server's own set of open
    connections does that job here.
    """

    daemon_threads = True
    block_on_close = False


class ThreadingTCPServer(ThreadingMixIn, TCPServer): pass
class ThreadingUDPServer(ThreadingMixIn, UDPServer): pass


class ThreadPoolMixIn:
    """Mix-in class to handle each request in one of ``pool_size`` worker threads.

    socketserver has no such mix-in.  ThreadingMixIn starts a thread per
    client, without limit; a pool starts ``pool_size`` threads once and
    reuses them.  Requests wait in a queue until a worker is free, so at
    most ``pool_size`` clients are served at once and the others wait their
    turn, already connected (a limit on threads, memory and load).

    Class variables that may be overridden: ``pool_size``,
    ``daemon_threads``, ``block_on_close``.
    """

    # How many requests are served at once; the launcher may set it per
    # server (build_server(..., pool_size=8), or --pool 8).
    pool_size = 8
    # As in ThreadingMixIn: daemon workers never keep the program alive, and
    # server_close() waits for them only if block_on_close is true.
    daemon_threads = True
    block_on_close = False

    _workers = ()

    def process_request(self, request, client_address):
        """Queue the request for the next free worker; start the workers first."""
        if not self._workers:
            self._start_workers()
        self._waiting_requests.put((request, client_address))

    def _start_workers(self):
        # Started with the first request rather than in __init__, so that
        # pool_size may still be changed after the server was built.
        self._waiting_requests = queue.SimpleQueue()
        self._workers = [
            threading.Thread(target=self._work, daemon=self.daemon_threads,
                             name=f"classicnet-pool-{number}")
            for number in range(1, self.pool_size + 1)]
        for worker in self._workers:
            worker.start()

    def _work(self):
        """A worker's life: serve queued requests until a None says stop."""
        while True:
            item = self._waiting_requests.get()
            if item is None:
                return
            self.process_request_thread(*item)

    def process_request_thread(self, request, client_address):
        """Serve one request in a worker thread; the same as in ThreadingMixIn."""
        try:
            self.finish_request(request, client_address)
        except Exception:
            self.handle_error(request, client_address)
        finally:
            self.shutdown_request(request)

    def server_close(self):
        """Close the socket, and let each worker end after the requests queued
        before it."""
        super().server_close()
        for _ in self._workers:
            self._waiting_requests.put(None)
        if self.block_on_close:
            for worker in self._workers:
                worker.join()


class ThreadPoolTCPServer(ThreadPoolMixIn, TCPServer): pass
class ThreadPoolUDPServer(ThreadPoolMixIn, UDPServer): pass


MODELS = {
    "plain": "one client at a time; the others wait in the listen backlog",
    "threading": "a new thread for each client (socketserver.ThreadingMixIn)",
    "forking": "a new process for each client (socketserver.ForkingMixIn)",
    "pool": "a fixed pool of threads that take turns (ThreadPoolMixIn)",
}

# Settings of a model rather than of a handler: the server attribute each
# one sets, and the model that has it.  Both are counts of at least 1.
MODEL_SETTINGS = {
    "pool_size": "pool",          # worker threads (ThreadPoolMixIn)
    "max_children": "forking",    # processes at once (socketserver.ForkingMixIn)
}

SERVER_CLASSES = {
    ("plain", "tcp"): TCPServer,
    ("plain", "udp"): UDPServer,
    ("threading", "tcp"): ThreadingTCPServer,
    ("threading", "udp"): ThreadingUDPServer,
    ("pool", "tcp"): ThreadPoolTCPServer,
    ("pool", "udp"): ThreadPoolUDPServer,
}


if hasattr(os, "fork"):
    class ForkingMixIn(socketserver.ForkingMixIn):
        """socketserver's ForkingMixIn, whose children can be waited for and ended.

        The mix-in comes first in each class below, as in socketserver,
        so that its ``process_request`` replaces the plain one.

        A client is cut by sending its child SIGTERM, which the child turns
        into ``SystemExit``: the handler's ``finally`` blocks run, so a
        half-received upload is removed as it would be under threading.  A
        child still alive at ``server_close()`` has ignored that (a bare
        ``except:`` swallows ``SystemExit``) and is killed.
        """

        def finish_request(self, request, client_address):
            """In the child: let SIGTERM unwind the handler, then serve."""
            signal.signal(signal.SIGTERM, _raise_system_exit)
            super().finish_request(request, client_address)

        def wait_for_clients(self, deadline):
            """Reap children until none is left or *deadline* passes.

            socketserver's own collect_children() may block forever when
            max_children are busy, so this reaps without ever blocking.
            """
            while True:
                self.reap_finished_children()
                waiting = self.connections_in_service()
                if not waiting or time.monotonic() >= deadline:
                    return waiting
                time.sleep(CHILD_POLL_INTERVAL)

        def reap_finished_children(self):
            """Collect every child that has exited; never wait for one."""
            for pid in list(self.active_children or ()):
                try:
                    finished, _ = os.waitpid(pid, os.WNOHANG)
                except ChildProcessError:
                    finished = pid          # reaped by the serving thread
                if finished:
                    self.active_children.discard(pid)

        def connections_in_service(self):
            """Children serving clients, and connections accepted but not
            handed to a child yet (the parent notes a child's pid only once
            fork() has returned, and the child may have served a while).

            Children that have finished count until they are reaped.
            """
            return len(self.active_children or ()) + super().connections_in_service()

        def too_many_connections(self):
            """Reap finished children first, but only if the count says the
            client is one too many: socketserver's ``collect_children()``
            reaps after every request already, so a waitpid() per child for
            every new client would only repeat it."""
            if not super().too_many_connections():
                return False
            self.reap_finished_children()
            return super().too_many_connections()

        def cut_clients(self):
            """End every child still serving a client, and shut down the
            connections not handed to a child yet; return how many."""
            children = list(self.active_children or ())
            for pid in children:
                try:
                    os.kill(pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass  # it has just finished on its own
            return len(children) + super().cut_clients()

        def server_close(self):
            """Close the listening socket; kill the children that outlived
            a cut, then reap every child."""
            for pid in list(self.active_children or ()):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass  # it has ended since the last look
            super().server_close()

    def _raise_system_exit(signum, frame):
        raise SystemExit(128 + signum)

    class ForkingTCPServer(ForkingMixIn, TCPServer): pass
    class ForkingUDPServer(ForkingMixIn, UDPServer): pass

    SERVER_CLASSES[("forking", "tcp")] = ForkingTCPServer
    SERVER_CLASSES[("forking", "udp")] = ForkingUDPServer


def configure_server(server, model, settings):
    """Set server-level *settings* on *server*: the limits of ``SETTINGS``
    (``{"max_connections": 50}``), which every model has, and a model's own
    settings of ``MODEL_SETTINGS`` (``{"pool_size": 4}``).

    Raises UsageError for a setting of another model or a count below 1.
    """
    for name, value in settings.items():
        if name in MODEL_SETTINGS:
            owner = MODEL_SETTINGS[name]
            if owner != model:
                raise UsageError(f"{name} is a setting of the {owner} model, not of {model}")
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise UsageError(f"{name} must be a whole number of at least 1, "
                                 f"not {value!r}")
        setattr(server, name, value)


def is_server_setting(name):
    """True for a setting of the server (a limit, a model's own), not the handler."""
    return name in SETTINGS or name in MODEL_SETTINGS


def server_class(model, transport):
    """The server class for *model* and *transport*, or a UsageError saying why not."""
    if model not in MODELS:
        raise UsageError(f"unknown model {model!r}; choose from: {', '.join(MODELS)}")
    try:
        return SERVER_CLASSES[model, transport]
    except KeyError:
        if model == "forking" and not hasattr(os, "fork"):
            raise UsageError(f"--forking needs os.fork(), which {sys.platform} "
                             "does not have; use --threading") from None
        raise UsageError(f"the {model} model has no {transport} server") from None
