"""The handler registry: a name, the handler classes behind it, one line of help.

A *handler* is a plain ``socketserver`` request handler class.  The same
service usually needs two of them, because a stream socket (TCP) and a
datagram socket (UDP) hand a handler different things::

    kind   self.request                 a handler typically calls
    ----   --------------------------   ---------------------------
    tcp    the connected socket         recv(), sendall()
    udp    (datagram bytes, socket)     sendto(reply, client_address)

So the registry maps a name to one class per kind::

    HANDLERS = {
        "echo":  Entry("echo", {"tcp": EchoHandler, "udp": EchoDatagramHandler}),
        "hello": Entry("hello", {"tcp": HelloHandler}),
        ...
    }

(A "tcp" class serves any stream socket, a Unix-domain one too; a "udp"
class any datagram socket.  Where the socket listens is the business of
``classicnet.endpoints``, not of the handler.)

Built-in handlers and a student's handlers join it the same way, with a
decorator that adds to that visible dict and returns the class unchanged::

    @register("reverse", "tcp")
    class ReverseHandler(socketserver.BaseRequestHandler):
        '''Sends every chunk back reversed.'''      # <- the line of help
        def handle(self):
            ...

What else a handler class may declare (options, ``prepare_server``, ...)
is the handler contract, in ``classicnet.contract``.

The built-in handlers are imported only when their name is asked for: the
table ``BUILTINS`` says which module registers which name.  Serving
``echo`` imports ``echo`` alone, which keeps the serving process small (the
forking model copies it for every client); ``list`` imports them all.
"""

import importlib
import socketserver

from .contract import check_options, options_of
from .errors import UsageError

__all__ = [
    "BUILTINS", "COMMAND_WORDS", "HANDLERS", "KINDS", "Entry", "all_entries",
    "lookup", "names", "register", "kind_of",
]

KINDS = ("tcp", "udp")

# Words the command line uses for its own tools; no handler may take them.
COMMAND_WORDS = frozenset({"list", "client", "lab", "new", "help", "check", "cert"})

# The built-in handlers: name -> the module of classicnet.handlers that
# registers it (``time`` is in ``timeserver``, away from the standard
# library's ``time``).
BUILTINS = {
    "chargen": "chargen", "chat": "chat", "daytime": "daytime",
    "discard": "discard", "echo": "echo", "files": "files", "hello": "hello",
    "http": "web",
    "reply": "reply", "slow": "slow", "time": "timeserver", "upper": "upper",
    "who": "who", "work": "work",
}


class Entry:
    """One registered name: its handler class per kind, and its help."""

    def __init__(self, name, handlers=None, help=""):
        self.name = name
        self.handlers = dict(handlers or {})
        self.help = help

    @property
    def kinds(self):
        """The kinds this name serves, in the order of ``KINDS``."""
        return tuple(kind for kind in KINDS if kind in self.handlers)

    @property
    def default_kind(self):
        """TCP, unless the handler only speaks UDP."""
        return self.kinds[0]

    def handler_for(self, kind):
        """The handler class for *kind*, or a UsageError naming the choices."""
        try:
            return self.handlers[kind]
        except KeyError:
            raise UsageError(
                f"handler {self.name!r} does not speak {kind}; "
                f"it speaks {', '.join(self.kinds)}") from None

    @property
    def options(self):
        """The settings of all this entry's classes, each flag once."""
        merged = {}
        for handler in self.handlers.values():
            for option in options_of(handler):
                merged.setdefault(option.flag, option)
        return tuple(merged.values())

    def add(self, kind, handler):
        """Serve *handler* for *kind*; its options must agree with the others'."""
        if self.handlers.get(kind, handler) is not handler:
            raise ValueError(f"handler {self.name!r} already has a {kind} class")
        check_options((*self.options, *options_of(handler)),
                      f"handler {self.name!r} ({handler.__name__})")
        self.handlers[kind] = handler


HANDLERS = {}


def register(name, kind, *, help=None, registry=HANDLERS):
    """Class decorator: serve the class under *name* for *kind* ("tcp" or "udp").

    The line of help defaults to the first line of the class docstring.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
    check_handler_name(name)

    def decorate(handler):
        if not (isinstance(handler, type)
                and issubclass(handler, socketserver.BaseRequestHandler)):
            raise TypeError(f"{handler!r} is not a socketserver request handler class")
        if registry is HANDLERS and name in BUILTINS \
                and handler.__module__ != f"{__package__}.handlers.{BUILTINS[name]}":
            raise ValueError(f"{name!r} is the name of a built-in handler; "
                             f"pick another, such as 'my_{name}'")
        entry = registry.setdefault(name, Entry(name))
        entry.add(kind, handler)
        entry.help = entry.help or help or first_line(handler.__doc__)
        return handler

    return decorate


def lookup(name, registry=HANDLERS):
    """The entry registered as *name*, or a UsageError naming the valid choices.

    A built-in name is imported the first time it is asked for.
    """
    if name not in registry and registry is HANDLERS and name in BUILTINS:
        importlib.import_module(f"{__package__}.handlers.{BUILTINS[name]}")
    try:
        return registry[name]
    except KeyError:
        pass
    import difflib          # here: only a mistyped name needs it
    choices = names(registry)
    message = f"unknown handler {name!r}; choose from: {', '.join(choices)}"
    close = difflib.get_close_matches(name, choices, n=1)
    if close:
        message += f" (did you mean {close[0]!r}?)"
    raise UsageError(message)


def names(registry=HANDLERS):
    """Every name that can be served, built-in or registered, sorted."""
    builtins = BUILTINS if registry is HANDLERS else ()
    return sorted({*registry, *builtins})


def all_entries(registry=HANDLERS):
    """Every entry, sorted by name; imports every built-in handler."""
    return [lookup(name, registry) for name in names(registry)]


def kind_of(handler, registry=HANDLERS):
    """The kind a handler class is built for ("tcp" or "udp"), or None if it
    could serve both.

    ``StreamRequestHandler`` subclasses are TCP and ``DatagramRequestHandler``
    subclasses are UDP; a bare ``BaseRequestHandler`` says so only by the
    kind it was registered for.
    """
    if issubclass(handler, socketserver.StreamRequestHandler):
        return "tcp"
    if issubclass(handler, socketserver.DatagramRequestHandler):
        return "udp"
    for entry in registry.values():
        for kind, registered in entry.handlers.items():
            if registered is handler:
                return kind
    return None


def first_line(text):
    """The first non-blank line of a docstring, or an empty string."""
    for line in (text or "").splitlines():
        if line.strip():
            return line.strip()
    return ""


def check_handler_name(name):
    """A handler name is letters, digits, '-' and '_', and no command word."""
    if not name or not name.replace("-", "").replace("_", "").isalnum():
        raise ValueError(f"handler names are letters, digits, '-' and '_', not {name!r}")
    if name in COMMAND_WORDS:
        raise ValueError(
            f"{name!r} is a classicnet command word and cannot name a handler "
            f"(reserved: {', '.join(sorted(COMMAND_WORDS))})")
