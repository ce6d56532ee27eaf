"""``classicnet HANDLER ...``: serve a handler until Ctrl-C or SIGTERM.

Four named steps, each testable alone::

    args, options = parse_server_args(argv)    # the command line
    server = build(args, options)              # bind and listen (or fail)
    listen_to(server, args)                    # the log, --trace, --events
    serve(server, args)                        # the readiness line; serve; stop

Parsing takes two passes, because the flags a handler accepts (``--root
DIR``, ``--delay MS``) depend on which handler was named: the first pass
finds HANDLER, the second parses everything with that handler's options
added (``serve_flags.server_parser``).
"""

import logging

from .. import foreground, launcher, loading, registry
from ..endpoints import server_endpoint, unix_endpoint
from ..errors import UsageError
from ..events import JsonLines
from .arguments import check_tls_fits
from .logs import configure_logging, events_fd_listener
from .serve_flags import server_parser

__all__ = ["build", "listen_to", "parse_server_args", "run", "serve"]


def run(argv):
    """Build the server the command line asks for and serve until a signal."""
    args, options = parse_server_args(argv)
    configure_logging(args.verbose - args.quiet)
    server = build(args, options)
    listen_to(server, args)
    return serve(server, args)


def parse_server_args(argv):
    """Return the parsed arguments and the handler's own option values."""
    first_pass = server_parser(add_help=False)
    known, _ = first_pass.parse_known_args(argv)
    for path in known.load:
        loading.load_file(path)
    entry = None
    if known.handler is not None:
        entry = handler_entry(known.handler, first_pass)
    parser = server_parser(entry)
    args = parser.parse_args(argv)
    if args.handler is None:
        parser.error("name a handler (see 'classicnet list')")
    if loading.is_spec(args.handler):
        args.handler = entry.handlers[entry.default_kind]
    if args.pool_size is not None:
        args.model = "pool"
    if args.workers is not None:
        args.model = "prefork"
    options = {option.dest: getattr(args, option.dest) for option in entry.options}
    return args, options


def handler_entry(handler, parser):
    """The registry entry for HANDLER: a registered name, or a loaded class."""
    if loading.is_spec(handler):
        return loading.entry_for(loading.load_spec(handler))
    try:
        return registry.lookup(handler)
    except UsageError as error:
        parser.error(str(error))


# The server-level settings, by their attribute names on the parsed arguments.
SERVER_SETTINGS = ("idle_timeout", "max_connections", "max_per_client", "udp_rate",
                   "pool_size", "max_children", "workers", "max_requests")


def build(args, options):
    """Bind and listen where the arguments say; OSError names the endpoint."""
    endpoint = endpoint_of(args)
    settings = {name: getattr(args, name) for name in SERVER_SETTINGS
                if getattr(args, name) is not None}
    tls = None
    if args.tls:
        from ..tls import server_context
        tls = server_context(args.cert, args.key)
    try:
        return launcher.build_server(args.handler, model=args.model,
                                     endpoint=endpoint, tls=tls,
                                     unix_mode=args.unix_mode, **options, **settings)
    except OSError as error:
        error.classicnet_endpoint = endpoint
        raise


def endpoint_of(args):
    """Where to listen: --unix PATH, or --host and --port, over TLS with --tls."""
    kind = args.transport or launcher.resolve_handler(args.handler)[2]
    if (args.cert or args.key) and not args.tls:
        raise UsageError("--cert and --key are for --tls; add --tls")
    if args.unix_mode is not None and args.unix is None:
        raise UsageError("--unix-mode is for a Unix-domain socket; add --unix PATH")
    check_tls_fits(args, kind)
    if args.unix is not None:
        return unix_endpoint(args.unix, kind)
    return server_endpoint("tls" if args.tls else kind, args.host, args.port)


def listen_to(server, args):
    """Give the server's events their listeners: --trace, --events."""
    if args.trace:
        from .. import trace
        trace.trace_server(server)
        logging.getLogger("classicnet.trace").setLevel(logging.INFO)
    if args.events is not None:
        try:
            server.events.subscribe(JsonLines.to_file(args.events))
        except OSError as error:
            server.server_close()
            raise UsageError(f"--events {args.events!r}: cannot append to it "
                             f"({error.strerror or error})") from None
    if args.events_fd is not None:
        server.events.subscribe(events_fd_listener(
            args.events_fd, "the program that starts the server"))


def serve(server, args):
    """Serve until a stop signal; announce the server once it is serving.
    Return the exit status the signal calls for (``foreground.exit_status``)."""
    def announce():
        print(launcher.describe(server), flush=True)
        for name, value in vars(server.options).items():
            print(f"  {name.replace('_', '-')}: {value}", flush=True)

    stopped = foreground.serve_until_signalled(server, args.grace, ready=announce)
    return foreground.exit_status(stopped.signal)
