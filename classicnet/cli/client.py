"""``classicnet client``: talk to a running server, by hand or like nc.

``classicnet client files ...`` is the file client (``cli.files``).
"""

import argparse

from .. import launcher, loading
from ..endpoints import Endpoint, check_host
from .arguments import add_address_flags, add_kind_flags, seconds
from .messages import PROG, fail

__all__ = ["run"]

EPILOG = """\
the file client:
  %(prog)s files ls                 list a files server's files
  %(prog)s files get NAME [-o PATH] download one (checked with sha256)
  %(prog)s files put PATH [--as N]  upload one (checked with sha256)
  (%(prog)s files --help for its options)"""


def run(argv):
    """The file client for ``files ...``; else the interactive client."""
    if argv[:1] == ["files"]:
        from . import files
        return files.run(argv[1:])
    from .. import client
    parser = client_parser(client.DEFAULT_WAIT)
    args = parser.parse_args(argv)
    if args.handler is None and args.transport is None:
        parser.error("name the server's handler, or say --tcp or --udp")
    endpoint = Endpoint(server_kind(args), (check_host(args.host), args.port))
    try:
        return client.run_client(endpoint, wait=args.wait)
    except OSError as error:
        reason = error.strerror or str(error)
        if isinstance(error, ConnectionRefusedError):
            reason += " (is the server running on that port?)"
        return fail(f"cannot talk to {endpoint}: {reason}", 1)


def client_parser(default_wait):
    parser = argparse.ArgumentParser(
        prog=f"{PROG} client",
        usage="%(prog)s HANDLER | --tcp | --udp [--host HOST] [--port PORT] [--wait S]"
              "\n       %(prog)s files ls | get NAME | put PATH [...]",
        description="Talk to a running server.  On a terminal: type a line, "
                    "press Enter, see the answer; leave with ##, Ctrl-D or "
                    "Ctrl-C.  With standard input from a pipe or a file it "
                    "works like nc: input to the server, answers to standard "
                    "output.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("handler", metavar="HANDLER", nargs="?",
                        help="the handler the server runs: it tells the transport "
                             "(a name, or path/to/file.py:Class)")
    add_kind_flags(parser, "talk")
    add_address_flags(parser, "the server's address", "the server's port")
    parser.add_argument("--wait", type=seconds, default=default_wait,
                        metavar="S", help="with piped input: after its end, wait "
                        "at most S seconds for the server's answers, "
                        "0 to 86400 (default: %(default)s)")
    return parser


def server_kind(args):
    """The transport to talk: --tcp/--udp, or the one HANDLER speaks."""
    if args.handler is None:
        return args.transport
    handler = loading.find_handler(args.handler)
    return launcher.resolve_handler(handler, args.transport)[2]
