"""The flags of ``classicnet HANDLER``: one parser, built in sections.

Every flag here is one of ``contract.SERVER_FLAGS``, the flags a handler's
own options may not take; the tests check that the two agree.  The
handler's own options (``--root DIR``) join as a section of their own once
the handler is known.
"""

import argparse

from .. import __version__, registry, servers
from ..contract import SERVER_FLAGS
from ..launcher import DEFAULT_GRACE
from ..servers.datagrams import DEFAULT_UDP_RATE
from ..servers.streams import DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_CONNECTIONS
from .arguments import (add_address_flags, add_kind_flags, argument_type, count,
                        descriptor, limit, seconds, timeout, workers)
from .commands import command_lines
from .messages import PROG

__all__ = ["handler_lines", "server_parser"]

USAGE = ("%(prog)s HANDLER [model] [--tcp | --udp] [--host HOST] [--port PORT] "
         "[handler options] [-v | -q]\n"
         "       %(prog)s COMMAND ...   (list, client, new, lab, help; see below)\n"
         "       %(prog)s --help | --version")


class ServerParser(argparse.ArgumentParser):
    """An ArgumentParser whose help ends with the commands and the handlers.

    The list of handlers is made only when help is shown, since making it
    imports every built-in handler, and serving one needs only its own.
    """

    def format_help(self):
        self.epilog = epilog()
        return super().format_help()


def server_parser(entry=None, add_help=True):
    """The parser for serving a handler; *entry* adds that handler's options."""
    parser = ServerParser(
        prog=PROG, add_help=add_help, usage=USAGE,
        description="Serve a socketserver request handler, for learning "
                    "and teaching network programming.",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("handler", metavar="HANDLER", nargs="?",
                        help="a registered handler name (see 'classicnet list'), "
                             "or your own class: path/to/file.py:Class or "
                             "package.module:Class")
    parser.add_argument("--load", metavar="FILE", action="append", default=[],
                        help="import FILE first, so the handlers it registers "
                             "can be named (may be repeated)")
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    add_model_flags(parser)
    add_network_flags(parser)
    add_limit_flags(parser)
    if entry is not None and entry.options:
        group = parser.add_argument_group(f"options of {entry.name}")
        for option in entry.options:
            add_option(group, option)
    add_log_flags(parser)
    return parser


def epilog():
    """The end of --help: the commands, then the handlers."""
    handlers = [f"  {line}" for line in handler_lines()]
    return "\n".join(["commands:", *command_lines(), "", "handlers:", *handlers])


def handler_lines():
    """One line per handler: its name, its kinds, its help."""
    entries = registry.all_entries()
    width = max(len(entry.name) for entry in entries)
    return [f"{entry.name:<{width}}  {', '.join(entry.kinds):<8}  {entry.help}"
            for entry in entries]


# The models whose flag takes a number, and the setting the number lands in.
COUNTED_MODELS = {"pool": "pool_size", "prefork": "workers"}


def add_model_flags(parser):
    models = parser.add_argument_group("concurrency model (default: --plain)")
    exclusive = models.add_mutually_exclusive_group()
    for model, description in servers.MODELS.items():
        if model in COUNTED_MODELS:     # the model flags that take a number
            exclusive.add_argument(f"--{model}", dest=COUNTED_MODELS[model],
                                   type=workers, metavar="N",
                                   help=description + ", N of them (1 to 1000)")
        else:
            exclusive.add_argument(f"--{model}", dest="model", action="store_const",
                                   const=model, help=description)
    models.add_argument("--max-children", type=workers, metavar="N",
                        help="with --forking: serve at most N clients at once, "
                             "1 to 1000 (default: socketserver's 40)")
    models.add_argument("--max-requests", type=count, metavar="M",
                        help="with --prefork: replace a worker once it has "
                             "served M clients, 1 to 1000000 (default: never)")
    parser.set_defaults(model="plain")


def add_network_flags(parser):
    network = parser.add_argument_group("network")
    add_kind_flags(network, "serve over")
    add_address_flags(network, "address to listen on: 127.0.0.1 is this machine "
                      "only, 0.0.0.0 every network",
                      "port to listen on; 0 picks a free one")
    network.add_argument("--grace", type=seconds, default=DEFAULT_GRACE,
                         metavar="S", help="on Ctrl-C, give clients S seconds "
                         "to finish before cutting them, 0 to 86400 "
                         "(default: %(default)s)")


# The limits, one row each: what the flag reads, its default, its
# placeholder and its help.  Each value lands under the name that
# contract.SERVER_FLAGS gives the flag (--timeout -> idle_timeout).
LIMITS = {
    "--timeout": (timeout, DEFAULT_IDLE_TIMEOUT, "S",
                  "disconnect a client that sends nothing for S seconds, "
                  "0.001 to 86400"),
    "--max-connections": (limit, DEFAULT_MAX_CONNECTIONS, "N",
                          "serve at most N connections at once; refuse more "
                          "with a one-line message; 0 to 1000000"),
    "--max-per-client": (limit, None, "N",
                         "let one host hold at most N of those connections; "
                         "0 to 1000000 (default: half of what the model serves "
                         "at once; no limit for 127.0.0.1, ::1 and --plain)"),
    "--udp-rate": (limit, DEFAULT_UDP_RATE, "N",
                   "answer at most N datagrams a second from one host, "
                   "0 to 1000000"),
}


def add_limit_flags(parser):
    limits = parser.add_argument_group("limits (0: no limit; see docs/security.md)")
    for flag, (read, default, metavar, description) in LIMITS.items():
        shown = "" if default is None else " (default: %(default)s)"
        limits.add_argument(flag, dest=SERVER_FLAGS[flag], type=read, default=default,
                            metavar=metavar, help=description + shown)


def add_log_flags(parser):
    logs = parser.add_argument_group("logging and events")
    logs.add_argument("-v", "--verbose", action="count", default=0,
                      help="say more on standard error: -v one line per client, "
                           "-vv everything")
    logs.add_argument("-q", "--quiet", action="count", default=0,
                      help="say only errors")
    logs.add_argument("--trace", action="store_true",
                      help="show each socketserver step of every request, "
                           "with its thread and process")
    logs.add_argument("--events", metavar="FILE",
                      help="append every event (accepted, served, closed, ...) "
                           "to FILE, one JSON object per line")
    logs.add_argument("--events-fd", type=descriptor, metavar="N",
                      help="the same, to the open file descriptor N (for a "
                           "program that starts the server, as the lab does)")


def add_option(group, option):
    """Add a handler's ``Option`` to the parser as a flag."""
    if option.type is bool:
        group.add_argument(option.flag, dest=option.dest, action="store_true",
                           default=bool(option.default), help=option.help)
        return
    shown = "" if option.default is None else " (default: %(default)s)"
    group.add_argument(option.flag, dest=option.dest, type=argument_type(option.type),
                       default=option.default, metavar=option.metavar,
                       help=option.help + shown)
