"""The handler contract: what a handler class may declare, and what it finds.

A classicnet handler is a plain ``socketserver`` request handler class, and
a class that declares nothing below is served exactly as it is.  Everything
here is optional; this module is the one place that reads it::

    the handler class may declare       what classicnet does with it
    ---------------------------------   ------------------------------------------
    options = (Option(...), ...)        adds one command-line flag per Option; the
                                        values reach the handler as
                                        self.server.options.<name>
    prepare_server(server)              called once, before the first client (a
      (a classmethod)                   classmethod): check the options, raise
                                        UsageError for a bad one, and build what
                                        every connection shares in server.shared
    idle_timeout = S or None            replaces --timeout for this handler: S
                                        seconds, or None for no limit (chat)
    reply_allowance = N                 (datagram handlers) N bytes more than the
                                        server's answer limit; see
                                        classicnet.servers.datagrams

What a handler finds on ``self.server``, beyond what socketserver gives
(``server_address``, ``socket``, ``RequestHandlerClass``)::

    self.server.options     its own settings, one attribute per Option
    self.server.shared      a namespace for state that connections share,
                            filled by prepare_server() (chat's room lives there)
    self.server.model       "plain", "threading", "forking" or "pool"
    self.server.endpoint    where the server listens (classicnet.endpoints)

The server's own attributes (its socket, its limits, its model settings)
stay the server's: an option lives in ``options`` and can never replace
them.  For the same reason an option may not be spelled like one of the
server's own flags (``--port``, ``--timeout``): ``check_options()`` refuses
such a handler when it is registered, with one line naming both.
"""

from collections import namedtuple
from types import SimpleNamespace

from .errors import UsageError

__all__ = [
    "Option", "Options", "SERVER_FLAGS", "check_options", "idle_timeout_of",
    "option_values", "options_of", "prepare", "reply_allowance_of",
]

# The flags of the server's own command line (``classicnet HANDLER --help``)
# and the names their values take.  No handler option may take one of
# either; the command line's tests check that this table and its parser agree.
SERVER_FLAGS = {
    "-h": "help", "--help": "help", "--version": "version", "--load": "load",
    "--plain": "model", "--threading": "model", "--forking": "model",
    "--pool": "pool_size", "--max-children": "max_children",
    "--prefork": "workers", "--max-requests": "max_requests",
    "--tcp": "transport", "--udp": "transport", "--host": "host", "--port": "port",
    "--grace": "grace", "--timeout": "idle_timeout",
    "--max-connections": "max_connections", "--max-per-client": "max_per_client",
    "--udp-rate": "udp_rate",
    "-v": "verbose", "--verbose": "verbose", "-q": "quiet", "--quiet": "quiet",
    "--trace": "trace", "--events": "events", "--events-fd": "events_fd",
}
SERVER_NAMES = {name: flag for flag, name in SERVER_FLAGS.items()}


class Option(namedtuple("Option", "flag help type default metavar",
                        defaults=(str, None, None))):
    """A setting of a handler, and its command-line flag.

    ``Option("--delay", "milliseconds to wait per message", float, 100.0, "MS")``
    becomes the flag ``--delay MS`` and ``self.server.options.delay``.
    With ``type=bool`` the flag takes no value and turns the setting on.
    """

    __slots__ = ()

    @property
    def dest(self):
        """The attribute name in ``server.options``: ``--max-size`` -> ``max_size``."""
        return self.flag.lstrip("-").replace("-", "_")


class Options(SimpleNamespace):
    """A handler's settings: ``options.delay``; printed, it lists them all."""


def options_of(handler):
    """The ``Option`` settings a handler class declares (none by default)."""
    return tuple(getattr(handler, "options", ()))


def check_options(options, owner):
    """Refuse options a command line could not offer; *owner* names their class.

    Each flag must look like ``--name``, and neither it nor its attribute
    name may be taken by a server flag or by another option
    (``--max_connections`` would set what ``--max-connections`` sets).
    """
    taken = {}
    for option in options:
        if not isinstance(option, Option):
            raise UsageError(f"{owner} declares {option!r} in options; "
                             "each must be classicnet.Option(flag, help, ...)")
        flag = option.flag
        if not (flag.startswith("--") and option.dest.isidentifier()):
            raise UsageError(f"{owner} declares the flag {flag!r}; an option's flag "
                             "is two dashes and a name, such as '--delay'")
        server_flag = flag if flag in SERVER_FLAGS else SERVER_NAMES.get(option.dest)
        if server_flag:
            raise UsageError(f"{owner} declares {flag}, which clashes with the "
                             f"server's own flag {server_flag}; give the option "
                             "another name")
        other = taken.get(option.dest)
        if other is not None and other != option:
            raise UsageError(f"{owner} declares {flag}, which clashes with its "
                             f"option {other.flag} (both set options.{option.dest})")
        taken[option.dest] = option


def option_values(options, given, owner):
    """The ``Options`` namespace: each option's value from *given* (a dict
    keyed by attribute name), read by the option's type, or its default.

    Raises UsageError for a key that is no option of *owner*, or a value
    its type refuses (``--delay must be 0 or more milliseconds, not -1``).
    """
    by_dest = {option.dest: option for option in options}
    unknown = sorted(set(given) - set(by_dest))
    if unknown:
        takes = ", ".join(sorted(by_dest)) or "no settings"
        raise UsageError(f"{owner} has no setting {unknown[0]!r} (it takes {takes})")
    return Options(**{dest: _value(option, given[dest]) if dest in given
                      else option.default for dest, option in by_dest.items()})


def _value(option, value):
    """*value* read by the option's type, as the command line reads its text."""
    if option.type is bool or value is None:
        return value
    try:
        return option.type(value)
    except (TypeError, ValueError) as error:
        raise UsageError(f"{option.flag} {error}") from None


def prepare(handler, server):
    """Call the handler's ``prepare_server(server)``, if it has one."""
    prepare_server = getattr(handler, "prepare_server", None)
    if prepare_server is not None:
        prepare_server(server)


def idle_timeout_of(handler, default):
    """The handler's own ``idle_timeout`` (None: no limit), or *default*."""
    return getattr(handler, "idle_timeout", default)


def reply_allowance_of(handler):
    """The bytes a datagram handler's answers may exceed the usual limit by."""
    return getattr(handler, "reply_allowance", 0)
