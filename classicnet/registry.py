"""The handler registry: a name, the handler classes behind it, one line of help.

A *handler* is a plain ``socketserver`` request handler class.  The same
service usually needs two of them, because TCP and UDP hand a handler
different things::

    transport   self.request                 a handler typically calls
    ---------   --------------------------   ---------------------------
    tcp         the connected socket         recv(), sendall()
    udp         (datagram bytes, socket)     sendto(reply, client_address)

So the registry maps a name to one class per transport::

    HANDLERS = {
        "echo":  Entry("echo", {"tcp": EchoHandler, "udp": EchoDatagramHandler}),
        "hello": Entry("hello", {"tcp": HelloHandler}),
        ...
    }

Built-in handlers and a student's handlers join it the same way, with a
decorator that adds to that visible dict and returns the class unchanged::

    @register("reverse", "tcp")
    class ReverseHandler(socketserver.BaseRequestHandler):
        '''Sends every chunk back reversed.'''      # <- the line of help
        def handle(self):
            ...

A handler that needs settings (a delay, a root directory) declares them as
``Option`` objects in its class attribute ``options``.  The command line
turns each into a flag, and the launcher stores each value on the server,
where the handler reads it as ``self.server.<name>``.  A handler may also
define a class method ``prepare_server(server)``, called once before the
first client, to check those settings or build shared state.
"""

import difflib
import socketserver
from collections import namedtuple

from .errors import UsageError

__all__ = [
    "COMMAND_WORDS", "HANDLERS", "TRANSPORTS", "Entry", "Option",
    "lookup", "options_of", "register", "transport_of",
]

TRANSPORTS = ("tcp", "udp")

# Words the command line uses for its own tools; no handler may take them.
COMMAND_WORDS = frozenset({"list", "client", "lab", "new", "help"})


class Option(namedtuple("Option", "flag help type default metavar",
                        defaults=(str, None, None))):
    """A setting a handler reads from ``self.server``, and its command-line flag.

    ``Option("--delay", "milliseconds to wait per message", float, 100.0)``
    becomes the flag ``--delay MS`` and the attribute ``server.delay``.
    """

    __slots__ = ()

    @property
    def dest(self):
        """The attribute name on the server: ``--max-size`` -> ``max_size``."""
        return self.flag.lstrip("-").replace("-", "_")


class Entry:
    """One registered name: its handler class per transport, and its help."""

    def __init__(self, name, handlers=None, help=""):
        self.name = name
        self.handlers = dict(handlers or {})
        self.help = help

    @property
    def transports(self):
        """The transports this name serves, in the order of ``TRANSPORTS``."""
        return tuple(t for t in TRANSPORTS if t in self.handlers)

    @property
    def default_transport(self):
        """TCP, unless the handler only speaks UDP."""
        return self.transports[0]

    def handler_for(self, transport):
        """The handler class for *transport*, or a UsageError naming the choices."""
        try:
            return self.handlers[transport]
        except KeyError:
            raise UsageError(
                f"handler {self.name!r} does not speak {transport}; "
                f"it speaks {', '.join(self.transports)}") from None

    @property
    def options(self):
        """The settings of all this entry's classes, each flag once."""
        merged = {}
        for handler in self.handlers.values():
            for option in options_of(handler):
                merged.setdefault(option.flag, option)
        return tuple(merged.values())


HANDLERS = {}


def register(name, transport, *, help=None, registry=HANDLERS):
    """Class decorator: serve *handler* under *name* on *transport*.

    The line of help defaults to the first line of the class docstring.
    """
    if transport not in TRANSPORTS:
        raise ValueError(f"transport must be one of {TRANSPORTS}, not {transport!r}")
    _check_name(name)

    def decorate(handler):
        if not (isinstance(handler, type)
                and issubclass(handler, socketserver.BaseRequestHandler)):
            raise TypeError(f"{handler!r} is not a socketserver request handler class")
        entry = registry.setdefault(name, Entry(name))
        if entry.handlers.get(transport, handler) is not handler:
            raise ValueError(f"handler {name!r} already has a {transport} class")
        entry.handlers[transport] = handler
        entry.help = entry.help or help or first_line(handler.__doc__)
        return handler

    return decorate


def lookup(name, registry=HANDLERS):
    """The entry registered as *name*, or a UsageError naming the valid choices."""
    try:
        return registry[name]
    except KeyError:
        pass
    choices = sorted(registry)
    message = f"unknown handler {name!r}; choose from: {', '.join(choices)}"
    close = difflib.get_close_matches(name, choices, n=1)
    if close:
        message += f" (did you mean {close[0]!r}?)"
    raise UsageError(message)


def transport_of(handler, registry=HANDLERS):
    """The transport a handler class is built for, or None if it could serve both.

    ``StreamRequestHandler`` subclasses are TCP and ``DatagramRequestHandler``
    subclasses are UDP; a bare ``BaseRequestHandler`` says so only by the
    transport it was registered for.
    """
    if issubclass(handler, socketserver.StreamRequestHandler):
        return "tcp"
    if issubclass(handler, socketserver.DatagramRequestHandler):
        return "udp"
    for entry in registry.values():
        for transport, registered in entry.handlers.items():
            if registered is handler:
                return transport
    return None


def options_of(handler):
    """The ``Option`` settings a handler class declares (none by default)."""
    return tuple(getattr(handler, "options", ()))


def first_line(text):
    """The first non-blank line of a docstring, or an empty string."""
    for line in (text or "").splitlines():
        if line.strip():
            return line.strip()
    return ""


def _check_name(name):
    if not name or not name.replace("-", "").replace("_", "").isalnum():
        raise ValueError(f"handler names are letters, digits, '-' and '_', not {name!r}")
    if name in COMMAND_WORDS:
        raise ValueError(
            f"{name!r} is a classicnet command word and cannot name a handler "
            f"(reserved: {', '.join(sorted(COMMAND_WORDS))})")
