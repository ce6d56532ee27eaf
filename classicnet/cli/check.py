"""``classicnet check PROTOCOL``: probe a running server against its protocol.

    python -m classicnet check echo --port 9000
    python -m classicnet check files --port 9000 --json      # for a grading script

Prints one line per check and a summary; exit status 0 when every check
passed, 1 when one failed, 2 for a usage mistake.  The checks themselves
are ``classicnet.check``.
"""

import argparse

from ..endpoints import Endpoint, check_host
from .arguments import add_address_flags, positive_seconds
from .messages import PROG

__all__ = ["run"]

DEFAULT_TIMEOUT = 5.0

DESCRIPTION = """\
Check a running server, whoever wrote it, against what PROTOCOL promises:
one line per check (PASS or FAIL, what was sent, what came back, and for
a failure the lesson that explains it), then a summary."""

EPILOG = """\
Every wait is bounded by --timeout: a server that does not answer fails
that check ("no answer within 5 s") and the run goes on.  Traffic goes
only to the address given.  A teacher's guide: docs/grading.md."""


def run(argv):
    """Check the server at --host/--port; return 0 if every check passed, else 1."""
    from .. import check
    args = check_parser(check.PROTOCOLS).parse_args(argv)
    endpoint = Endpoint("tcp", (check_host(args.host), args.port))
    report = check.check_server(args.protocol, endpoint, args.timeout,
                                needs_concurrency=args.concurrent)
    if args.json:
        print(report.as_json(args.protocol))
    else:
        for line in report.lines():
            print(line, flush=True)
    return 0 if report.all_passed else 1


def check_parser(protocols):
    parser = argparse.ArgumentParser(
        prog=f"{PROG} check",
        description=DESCRIPTION,
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("protocol", metavar="PROTOCOL", choices=list(protocols),
                        help=f"what the server speaks: {', '.join(protocols)}")
    add_address_flags(parser, "the server's address", "the server's port")
    parser.add_argument("--timeout", type=positive_seconds, default=DEFAULT_TIMEOUT,
                        metavar="S", help="the longest wait for any answer "
                        "(more than 0, at most 86400; default: %(default)s)")
    parser.add_argument("--concurrent", action="store_true",
                        help="fail a server that serves one client at a time "
                             "(for the homework 'a server for several clients')")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object instead of lines, for a script")
    return parser
