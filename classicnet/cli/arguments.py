"""The pieces that several commands' parsers share: argument types and flags.

The numbers themselves are checked by ``classicnet.quantities``; here they
become argparse types, whose messages argparse prints after the flag
(``argument --port: must be a port number from 0 to 65535, not 'http'``).
"""

import argparse

from .. import quantities
from ..endpoints import Endpoint, check_host, unix_endpoint
from ..errors import UsageError
from ..launcher import DEFAULT_HOST, DEFAULT_PORT
from ..registry import KINDS

__all__ = [
    "add_address_flags", "add_client_transport_flags", "add_kind_flags",
    "argument_type", "check_tls_fits", "client_endpoint", "comma_list", "count",
    "descriptor", "file_mode", "limit", "milliseconds", "port_number",
    "positive_seconds", "seconds", "timeout", "workers",
]


def argument_type(read):
    """An argparse type from a function that raises ValueError with a message
    worth showing (argparse shows only ArgumentTypeError's own)."""
    def parse(text):
        try:
            return read(text)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None
    parse.__name__ = getattr(read, "__name__", "value")
    return parse


port_number = argument_type(quantities.port_number)
count = argument_type(quantities.count)
limit = argument_type(quantities.limit)
seconds = argument_type(quantities.seconds)
positive_seconds = argument_type(quantities.positive_seconds)
timeout = argument_type(quantities.timeout)
milliseconds = argument_type(quantities.milliseconds)
workers = argument_type(quantities.workers)
descriptor = argument_type(quantities.descriptor)


def file_mode(text):
    """argparse type: ``660`` or ``0o660`` -> 0o660, the permission bits of a file."""
    digits = text[2:] if text.lower().startswith("0o") else text
    if not digits or any(char not in "01234567" for char in digits) \
            or int(digits, 8) > 0o777:
        raise argparse.ArgumentTypeError(
            f"must be permissions in octal, such as 600 or 660, not {text!r}")
    return int(digits, 8)


def comma_list(item_type, choices=None):
    """argparse type: ``1,10,100`` -> ``[1, 10, 100]``, each item checked."""
    def parse(text):
        items = [item_type(part.strip()) for part in text.split(",") if part.strip()]
        if not items:
            raise argparse.ArgumentTypeError(
                f"expected a comma-separated list, not {text!r}")
        for item in items:
            if choices is not None and item not in choices:
                raise argparse.ArgumentTypeError(
                    f"{item!r} is not one of: {', '.join(choices)}")
        return items
    return parse


def add_kind_flags(parser, verb):
    """``--tcp`` and ``--udp``, one at most; the choice lands in ``transport``."""
    group = parser.add_mutually_exclusive_group()
    for kind in KINDS:
        group.add_argument(f"--{kind}", dest="transport", action="store_const",
                           const=kind, help=f"{verb} {kind.upper()}")


def add_address_flags(parser, host_help, port_help):
    """``--host`` and ``--port``, with their defaults and the help given."""
    parser.add_argument("--host", default=DEFAULT_HOST,
                        help=host_help + " (default: %(default)s)")
    parser.add_argument("--port", type=port_number, default=DEFAULT_PORT,
                        help=port_help + " (default: %(default)s)")


def add_client_transport_flags(parser):
    """``--tls [--cafile FILE | --insecure]`` and ``--unix PATH``, for a client."""
    parser.add_argument("--tls", action="store_true",
                        help="speak TLS, checking the server's certificate")
    check = parser.add_mutually_exclusive_group()
    check.add_argument("--cafile", metavar="FILE",
                       help="with --tls: trust the certificate in FILE (a "
                            "self-made one, such as 'classicnet cert' writes)")
    check.add_argument("--insecure", action="store_true",
                       help="with --tls: check no certificate at all (anyone "
                            "in between could read and change every byte)")
    parser.add_argument("--unix", metavar="PATH",
                        help="the server's Unix-domain socket, instead of "
                             "--host and --port")


def check_tls_fits(args, kind):
    """--tls is TLS over TCP: a UsageError with --unix, or for UDP."""
    if not args.tls:
        return
    if args.unix is not None:
        raise UsageError("--tls is TLS over TCP; it cannot go with --unix")
    if kind != "tcp":
        raise UsageError("--tls is TLS over TCP; it cannot go with --udp"
                         if getattr(args, "transport", None) == "udp" else
                         f"--tls is TLS over TCP, and {args.handler} serves only UDP")


INSECURE_WARNING = ("warning: --insecure: the server's certificate is not "
                    "checked; anyone in between could read and change every byte")


def client_endpoint(args, kind, warn):
    """The ``Endpoint`` a client's flags name, for a *kind* ("tcp", "udp")
    handler; *warn* is called with one line for --insecure."""
    if (args.cafile or args.insecure) and not args.tls:
        raise UsageError("--cafile and --insecure are for --tls; add --tls")
    check_tls_fits(args, kind)
    if args.unix is not None:
        return unix_endpoint(args.unix, kind)
    address = (check_host(args.host), args.port)
    if not args.tls:
        return Endpoint(kind, address)
    from ..tls import client_context
    if args.insecure:
        warn(INSECURE_WARNING)
    return Endpoint("tls", address, client_context(args.cafile, args.insecure))
