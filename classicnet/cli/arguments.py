"""The pieces that several commands' parsers share: argument types and flags.

The numbers themselves are checked by ``classicnet.quantities``; here they
become argparse types, whose messages argparse prints after the flag
(``argument --port: must be a port number from 0 to 65535, not 'http'``).
"""

import argparse

from .. import quantities
from ..launcher import DEFAULT_HOST, DEFAULT_PORT
from ..registry import KINDS

__all__ = [
    "add_address_flags", "add_kind_flags", "argument_type", "comma_list",
    "count", "descriptor", "limit", "milliseconds", "port_number",
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
