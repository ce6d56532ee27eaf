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
                others wait, accepted by a doorman thread     slow client blocks all
    threading   a new thread (socketserver.ThreadingMixIn)    a thread per client;
                                                              the GIL shares one core
    forking     a new process (socketserver.ForkingMixIn),    a fork per client;
                at most max_children at once, later ones      uses every core, shares
                wait, accepted                                no memory
    pool        one of pool_size threads started once         bounded threads; the
                (ThreadPoolMixIn); later ones wait.  UDP:     GIL shares one core
                each thread reads the socket itself
                (DatagramPoolMixIn)
    prefork     one of N processes forked once, each          N processes; every
                accepting on the shared socket                core, no fork per
                (PreforkMixIn, TCP); later ones wait          client

One module per concern, each read on its own:

    classroom.py   what every server adds: events, the handler's namespaces
    streams.py     TCP: connections, the idle timeout, max_connections
    datagrams.py   UDP: the rules no datagram handler can forget
    pool.py        the pool model (socketserver has none)
    datagram_pool.py   the pool model for UDP: threads that each read the socket
    forking.py     the forking model, stoppable (Unix only)
    waiting.py     clients accepted while every slot is taken (plain, forking)
    doorman.py     the plain model's second thread, accepting while it serves
    prefork.py     the prefork model: workers forked once (Unix only)
    scoreboard.py  the memory a prefork parent shares with its workers

Threads are daemon threads and ``block_on_close`` is off: a client that
never hangs up must not keep the server alive.  Stopping is the
launcher's: it waits for the clients being served for a grace period
(``wait_for_clients()``), then cuts those left (``cut_clients()``).
"""

import socketserver

from .. import quantities
from ..compat import CAN_FORK, fork_refusal
from ..errors import UsageError
from .datagram_pool import DatagramPoolMixIn
from .datagrams import UDPServer
from .doorman import DoormanMixIn
from .pool import ThreadPoolMixIn
from .streams import TCPServer

__all__ = [
    "MODEL_SETTINGS", "MODELS", "SERVER_CLASSES", "SETTINGS", "ThreadingMixIn",
    "configure_server", "is_server_setting", "server_class",
]


class ThreadingMixIn(socketserver.ThreadingMixIn):
    """socketserver's ThreadingMixIn with daemon threads.

    With ``block_on_close`` on, socketserver would also keep a list of every
    thread and walk it on each new connection; the server's own set of open
    connections does that job here.
    """

    model = "threading"
    one_at_a_time = False
    daemon_threads = True
    block_on_close = False

    def served_at_once(self):
        """A thread for every client: as many as max_connections lets in."""
        return self.max_connections


# The mix-in comes first, as in socketserver: its process_request()
# replaces the plain one of the transport class.
class PlainTCPServer(DoormanMixIn, TCPServer): pass
class ThreadingTCPServer(ThreadingMixIn, TCPServer): pass
class ThreadingUDPServer(ThreadingMixIn, UDPServer): pass
class ThreadPoolTCPServer(ThreadPoolMixIn, TCPServer): pass
class ThreadPoolUDPServer(DatagramPoolMixIn, UDPServer): pass


MODELS = {
    "plain": "one client at a time; the others wait their turn",
    "threading": "a new thread for each client (socketserver.ThreadingMixIn)",
    "forking": "a new process for each client (socketserver.ForkingMixIn)",
    "pool": "a fixed pool of threads that take turns (ThreadPoolMixIn)",
    "prefork": "a fixed set of processes, forked once, that take turns (PreforkMixIn)",
}

SERVER_CLASSES = {
    ("plain", "tcp"): PlainTCPServer,
    ("plain", "udp"): UDPServer,
    ("threading", "tcp"): ThreadingTCPServer,
    ("threading", "udp"): ThreadingUDPServer,
    ("pool", "tcp"): ThreadPoolTCPServer,
    ("pool", "udp"): ThreadPoolUDPServer,
}

if CAN_FORK:     # as socketserver gates its own ForkingMixIn
    from .forking import ForkingMixIn

    class ForkingTCPServer(ForkingMixIn, TCPServer): pass
    class ForkingUDPServer(ForkingMixIn, UDPServer): pass

    SERVER_CLASSES["forking", "tcp"] = ForkingTCPServer
    SERVER_CLASSES["forking", "udp"] = ForkingUDPServer

    from .prefork import PreforkMixIn

    # No UDP prefork: each process would count --udp-rate on its own, so
    # N workers would let a host send N times the limit.
    class PreforkTCPServer(PreforkMixIn, TCPServer): pass

    SERVER_CLASSES["prefork", "tcp"] = PreforkTCPServer


# The server-level settings: build_server() accepts them beside a handler's
# options and stores each as an attribute of the server.  Their defaults are
# the class attributes of the same names; 0 means "no limit".  Each is read
# by the quantity of classicnet.quantities that its flag uses, so Python
# callers meet the same ranges as the command line.
SETTINGS = {
    "idle_timeout": quantities.timeout,
    "max_connections": quantities.limit,
    "max_per_client": quantities.limit,
    "udp_rate": quantities.limit,
}

# Settings of a model rather than of every server: the attribute, and the
# model that has it.  The counts of workers are read as workers (1 to 1000).
MODEL_SETTINGS = {
    "pool_size": "pool",          # worker threads (ThreadPoolMixIn)
    "max_children": "forking",    # processes at once (socketserver.ForkingMixIn)
    "workers": "prefork",         # processes forked once (PreforkMixIn)
    "max_requests": "prefork",    # clients a worker serves before it is replaced
}
MODEL_SETTING_QUANTITIES = {"max_requests": quantities.count}


def server_class(model, transport):
    """The server class for *model* and *transport*, or a UsageError saying why not."""
    if model not in MODELS:
        raise UsageError(f"unknown model {model!r}; choose from: {', '.join(MODELS)}")
    try:
        return SERVER_CLASSES[model, transport]
    except KeyError:
        if model in ("forking", "prefork") and not CAN_FORK:
            raise UsageError(fork_refusal(f"--{model}")) from None
        raise UsageError(f"the {model} model has no {transport} server") from None


def is_server_setting(name):
    """True for a setting of the server (a limit, a model's own), not the handler."""
    return name in SETTINGS or name in MODEL_SETTINGS


def configure_server(server, settings):
    """Set server-level *settings* on *server*: the limits of ``SETTINGS``
    (``{"max_connections": 50}``), which every model has, and a model's own
    settings of ``MODEL_SETTINGS`` (``{"pool_size": 4}``).

    Raises UsageError for a setting of another model or a value out of range.
    """
    for name, value in settings.items():
        if name in MODEL_SETTINGS:
            owner = MODEL_SETTINGS[name]
            if owner != server.model:
                raise UsageError(f"{name} is a setting of the {owner} model, "
                                 f"not of {server.model}")
            read = MODEL_SETTING_QUANTITIES.get(name, quantities.workers)
        elif name in SETTINGS:
            read = SETTINGS[name]
        else:
            raise UsageError(f"{name} is not a server setting; choose from: "
                             f"{', '.join((*SETTINGS, *MODEL_SETTINGS))}")
        try:
            value = read(value)
        except ValueError as error:
            raise UsageError(f"{name} {error}") from None
        setattr(server, name, value)
