"""The command line: parse, call the launcher, turn errors into exit statuses.

    python -m classicnet HANDLER [--plain | --threading | --forking]
                                 [--tcp | --udp] [--host HOST] [--port PORT]
                                 [handler options] [-v | -q]
    python -m classicnet list
    python -m classicnet client HANDLER | --tcp | --udp [--host HOST] [--port PORT]
    python -m classicnet new NAME [--udp]
    python -m classicnet --help | --version

HANDLER is a registered name, a student's class as ``path/to/file.py:Class``
or ``package.module:Class``, or a name registered by a file given with
``--load FILE``.

Parsing a server's command line takes two passes, because the flags a
handler accepts (``--root DIR``, ``--delay MS``) depend on which handler was
named: the first pass finds HANDLER, the second parses everything with that
handler's options added.

Exit statuses: 0 after a clean stop (Ctrl-C and SIGTERM included), 2 for a
usage mistake (unknown handler, bad flag or port, a transport or model that
cannot be had), 1 for a runtime failure (port in use, permission denied).
Each error is one line on standard error, never a traceback.
"""

import argparse
import errno
import logging
import os
import socket
import sys

# Only what serving needs is imported here: a forking server copies this
# process for every client, and each module imported makes that copy dearer.
# The tools (client, fileclient, scaffold, trace, lab) are imported by the
# command that uses them.
from . import __version__, framing, launcher, loading, registry, servers
from .errors import UsageError
from .text import format_address, printable

__all__ = ["main"]

PROG = "classicnet"


def main(argv=None):
    """Run the command line; return the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        if argv and argv[0] in TOOLS:
            return TOOLS[argv[0]](argv[1:])
        return serve_command(argv)
    except UsageError as error:
        return fail(error, 2)
    except loading.StudentCodeError as error:
        sys.stderr.write(error.report)
        return 1
    except BrokenPipeError:
        # The reader went away (``classicnet list | head -1``): say nothing more.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except OSError as error:
        return fail(explain_os_error(error), 1)


def fail(message, status):
    print(f"{PROG}: {message}", file=sys.stderr)
    return status


# --- python -m classicnet HANDLER ... ------------------------------------

def serve_command(argv):
    """Build the server the command line asks for and serve until a signal."""
    args, handler_settings = parse_server_args(argv)
    configure_logging(args.verbose - args.quiet)
    server_settings = {name: getattr(args, name)
                       for name in (*servers.SETTINGS, *servers.MODEL_SETTINGS)
                       if getattr(args, name) is not None}
    try:
        server = launcher.build_server(
            args.handler, model=args.model, transport=args.transport,
            host=args.host, port=args.port, **handler_settings, **server_settings)
    except socket.gaierror as error:
        raise UsageError(f"cannot resolve host {args.host!r}: {error.strerror}")
    except OSError as error:
        error.classicnet_address = (args.host, args.port)
        raise
    if args.trace:
        from . import trace
        trace.trace_server(server)
        logging.getLogger("classicnet.trace").setLevel(logging.INFO)

    def announce():
        print(launcher.describe(server), flush=True)
        for dest in handler_settings:
            print(f"  {dest.replace('_', '-')}: {getattr(server, dest)}", flush=True)

    launcher.serve_until_signalled(server, args.grace, ready=announce)
    return 0


def parse_server_args(argv):
    """Return the parsed arguments and the handler's own settings."""
    first_pass = build_server_parser(add_help=False)
    known, _ = first_pass.parse_known_args(argv)
    for path in known.load:
        loading.load_file(path)
    entry = None
    if known.handler is not None:
        entry = handler_entry(known.handler, first_pass)
    parser = build_server_parser(entry)
    args = parser.parse_args(argv)
    if args.handler is None:
        parser.error("name a handler (see 'classicnet list')")
    if loading.is_spec(args.handler):
        args.handler = entry.handlers[entry.default_transport]
    if args.pool_size is not None:
        args.model = "pool"
    settings = {option.dest: getattr(args, option.dest) for option in entry.options}
    return args, settings


def handler_entry(handler, parser):
    """The registry entry for HANDLER: a registered name, or a loaded class."""
    if loading.is_spec(handler):
        return loading.entry_for(loading.load_spec(handler))
    try:
        return registry.lookup(handler)
    except UsageError as error:
        parser.error(str(error))


def build_server_parser(entry=None, add_help=True):
    """The parser for serving a handler; *entry* adds that handler's options."""
    parser = argparse.ArgumentParser(
        prog=PROG, add_help=add_help,
        usage="%(prog)s HANDLER [model] [--tcp | --udp] [--host HOST] "
              "[--port PORT] [handler options] [-v | -q]\n"
              "       %(prog)s list | client ... | new NAME | --help | --version",
        description="Serve a socketserver request handler, for learning "
                    "and teaching network programming.",
        epilog=handler_table(),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("handler", metavar="HANDLER", nargs="?",
                        help="a registered handler name (see 'classicnet list'), "
                             "or your own class: path/to/file.py:Class or "
                             "package.module:Class")
    parser.add_argument("--load", metavar="FILE", action="append", default=[],
                        help="import FILE first, so the handlers it registers "
                             "can be named (may be repeated)")
    parser.add_argument("--version", action="version",
                        version=f"{PROG} {__version__}")

    models = parser.add_argument_group("concurrency model (default: --plain)")
    exclusive = models.add_mutually_exclusive_group()
    for model, description in servers.MODELS.items():
        if model == "pool":     # the one model flag that takes a number
            exclusive.add_argument("--pool", dest="pool_size", type=count,
                                   metavar="N", help=description + ", N of them")
            continue
        exclusive.add_argument(f"--{model}", dest="model", action="store_const",
                               const=model, help=description)
    models.add_argument("--max-children", type=count, metavar="N",
                        help="with --forking: serve at most N clients at once "
                             "(default: socketserver's 40)")
    parser.set_defaults(model="plain")

    network = parser.add_argument_group("network")
    add_transport_flags(network, "serve over")
    network.add_argument("--host", default=launcher.DEFAULT_HOST,
                         help="address to listen on (default: %(default)s, this "
                              "machine only; 0.0.0.0 for every network)")
    network.add_argument("--port", type=port_number, default=launcher.DEFAULT_PORT,
                         help="port to listen on; 0 picks a free one "
                              "(default: %(default)s)")
    network.add_argument("--grace", type=seconds, default=launcher.DEFAULT_GRACE,
                         metavar="S", help="on Ctrl-C, give clients S seconds "
                         "to finish before cutting them (default: %(default)s)")

    limits = parser.add_argument_group("limits (0: no limit; see docs/security.md)")
    limits.add_argument("--timeout", dest="idle_timeout", type=seconds,
                        default=servers.DEFAULT_IDLE_TIMEOUT, metavar="S",
                        help="disconnect a client that sends nothing for S "
                             "seconds (default: %(default)s)")
    limits.add_argument("--max-connections", type=limit,
                        default=servers.DEFAULT_MAX_CONNECTIONS, metavar="N",
                        help="serve at most N connections at once; refuse more "
                             "with a one-line message (default: %(default)s)")
    limits.add_argument("--udp-rate", type=limit, default=servers.DEFAULT_UDP_RATE,
                        metavar="N", help="answer at most N datagrams a second "
                        "from one host (default: %(default)s)")

    if entry is not None and entry.options:
        own = parser.add_argument_group(f"options of {entry.name}")
        for option in entry.options:
            add_option(own, option)

    logs = parser.add_argument_group("logging (to standard error)")
    logs.add_argument("-v", "--verbose", action="count", default=0,
                      help="say more: -v one line per client, -vv everything")
    logs.add_argument("--trace", action="store_true",
                      help="show each socketserver step of every request, "
                           "with its thread and process")
    logs.add_argument("-q", "--quiet", action="count", default=0,
                      help="say only errors")
    return parser


def add_transport_flags(parser, verb):
    """``--tcp`` and ``--udp``, one at most; the choice lands in ``transport``."""
    transports = parser.add_mutually_exclusive_group()
    for transport in registry.TRANSPORTS:
        transports.add_argument(f"--{transport}", dest="transport",
                                action="store_const", const=transport,
                                help=f"{verb} {transport.upper()}")


def add_option(group, option):
    """Add a handler's ``Option`` to the parser as a flag."""
    if option.type is bool:
        group.add_argument(option.flag, dest=option.dest, action="store_true",
                           default=bool(option.default), help=option.help)
        return
    shown = "" if option.default is None else " (default: %(default)s)"
    group.add_argument(option.flag, dest=option.dest, type=option.type,
                       default=option.default, metavar=option.metavar,
                       help=option.help + shown)


def port_number(text):
    """argparse type: a port from 0 to 65535."""
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port must be a number from 0 to 65535, "
                                         f"not {text!r}")
    return port


def count(text):
    """argparse type: a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, "
                                         f"not {text!r}")
    return value


def seconds(text):
    """argparse type: a duration in seconds, zero or more."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected seconds (0 or more), not {text!r}")
    return value


def limit(text):
    """argparse type: a whole number, zero or more (0 turns a limit off)."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number (0 or more), "
                                         f"not {text!r}")
    return value


def handler_lines():
    """One line per handler: its name, its transports, its help."""
    entries = [registry.HANDLERS[name] for name in sorted(registry.HANDLERS)]
    width = max(len(entry.name) for entry in entries)
    return [f"{entry.name:<{width}}  {', '.join(entry.transports):<8}  {entry.help}"
            for entry in entries]


def handler_table():
    """The handler list as the end of --help."""
    return "handlers:\n" + "\n".join("  " + line for line in handler_lines())


def explain_os_error(error):
    """One line for an OSError raised while binding: what and what to do."""
    if not hasattr(error, "classicnet_address"):
        return error.strerror or str(error)
    host, port = error.classicnet_address
    where = f" on {host}:{port}"
    if error.errno == errno.EADDRINUSE:
        return (f"cannot listen{where}: the address is already in use "
                "(another server is running there; try another --port, or --port 0)")
    if error.errno in (errno.EACCES, errno.EPERM):
        return (f"cannot listen{where}: permission denied "
                "(ports below 1024 need administrator rights; use 1024 or above)")
    if error.errno == errno.EADDRNOTAVAIL:
        return (f"cannot listen{where}: {host} is not an address of this machine")
    return f"cannot listen{where}: {error.strerror or error}"


# --- logging -------------------------------------------------------------

class EscapingFormatter(logging.Formatter):
    """A log formatter that shows control characters as escapes.

    Client bytes can reach a log line (in an error message, say); a raw
    ``\\x1b`` would then drive the reader's terminal.
    """

    def format(self, record):
        return printable(super().format(record), limit=None, keep_newlines=True)


def configure_logging(loudness):
    """-q: errors only; default: warnings; -v: one line per client; -vv: debug."""
    level = {-1: logging.ERROR, 0: logging.WARNING, 1: logging.INFO}.get(
        max(-1, min(loudness, 2)), logging.DEBUG)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(EscapingFormatter(
        "%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S"))
    root = logging.getLogger("classicnet")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False


# --- python -m classicnet list -------------------------------------------

def list_command(argv):
    """Print one line per handler: name, transports, help."""
    parser = argparse.ArgumentParser(
        prog=f"{PROG} list", description="List the registered handlers.")
    parser.parse_args(argv)
    print("\n".join(handler_lines()))
    return 0


def help_command(argv):
    """``classicnet help [HANDLER]``: the same as ``--help``."""
    return main([*argv[:1], "--help"])


# --- python -m classicnet client ... ----------------------------------------

def client_command(argv):
    """``classicnet client files ...`` is the file client; anything else is
    the interactive client."""
    if argv[:1] == ["files"]:
        return files_client_command(argv[1:])
    return interactive_client_command(argv)


def interactive_client_command(argv):
    """Talk to a running server: a prompt on a terminal, like nc in a pipe."""
    from . import client
    parser = argparse.ArgumentParser(
        prog=f"{PROG} client",
        usage="%(prog)s HANDLER | --tcp | --udp [--host HOST] [--port PORT] [--wait S]",
        description="Talk to a running server.  On a terminal: type a line, "
                    "press Enter, see the answer; leave with ##, Ctrl-D or "
                    "Ctrl-C.  With standard input from a pipe or a file it "
                    "works like nc: input to the server, answers to standard "
                    "output.")
    parser.add_argument("handler", metavar="HANDLER", nargs="?",
                        help="the handler the server runs: it tells the transport "
                             "(a name, or path/to/file.py:Class)")
    add_transport_flags(parser, "talk")
    parser.add_argument("--host", default=launcher.DEFAULT_HOST,
                        help="the server's address (default: %(default)s)")
    parser.add_argument("--port", type=port_number, default=launcher.DEFAULT_PORT,
                        help="the server's port (default: %(default)s)")
    parser.add_argument("--wait", type=seconds, default=client.DEFAULT_WAIT,
                        metavar="S", help="with piped input: after its end, wait "
                        "at most S seconds for the server's answers "
                        "(default: %(default)s)")
    args = parser.parse_args(argv)
    if args.handler is None and args.transport is None:
        parser.error("name the server's handler, or say --tcp or --udp")
    transport = args.transport
    if args.handler is not None:
        _, _, transport = launcher.resolve_handler(
            loading.find_handler(args.handler), transport)
    try:
        return client.run_client(args.host, args.port, transport, wait=args.wait)
    except socket.gaierror as error:
        raise UsageError(f"cannot resolve host {args.host!r}: {error.strerror}")
    except OSError as error:
        reason = error.strerror or str(error)
        if isinstance(error, ConnectionRefusedError):
            reason += " (is the server running on that port?)"
        return fail(f"cannot talk to {args.host}:{args.port}: {reason}", 1)


# --- python -m classicnet client files ... --------------------------------

def build_files_client_parser():
    parser = argparse.ArgumentParser(
        prog=f"{PROG} client files",
        description="List, download and upload files on a classicnet files "
                    "server (CNFP/1, see docs/protocol.md).")
    parser.add_argument("--host", default=launcher.DEFAULT_HOST,
                        help="the server's address (default: %(default)s)")
    parser.add_argument("--port", type=port_number, default=launcher.DEFAULT_PORT,
                        help="the server's port (default: %(default)s)")
    words = parser.add_subparsers(dest="word", metavar="ls | get | put",
                                  required=True)
    words.add_parser("ls", help="list the server's files")
    get = words.add_parser("get", help="download a file (checked with sha256)")
    get.add_argument("name", metavar="NAME", help="the file's name on the server")
    get.add_argument("-o", "--output", metavar="PATH",
                     help="where to save it, a file or a directory (default: NAME)")
    start = get.add_mutually_exclusive_group()
    start.add_argument("--resume", action="store_true",
                       help="continue an interrupted download from PATH.part")
    start.add_argument("--offset", type=int, metavar="N",
                       help="continue from byte N of PATH.part")
    put = words.add_parser("put", help="upload a file (checked with sha256)")
    put.add_argument("path", metavar="PATH", help="the local file to upload")
    put.add_argument("--as", dest="name", metavar="NAME",
                     help="its name on the server (default: PATH's file name)")
    put.add_argument("--force", action="store_true",
                     help="replace a file of that name on the server")
    return parser


def files_client_command(argv):
    """Run one file-client operation; 0 on success, 1 when it failed."""
    from . import fileclient
    args = build_files_client_parser().parse_args(argv)
    address = (args.host, args.port)
    try:
        with fileclient.FileClient(address) as client:
            return run_files_word(client, args)
    except (fileclient.FileTransferError, framing.FramingError) as error:
        return fail(f"{error}{resume_hint(args)}", 1)
    except OSError as error:
        where = error.filename or format_address(address)
        return fail(f"{where}: {error.strerror or error}{resume_hint(args)}", 1)
    except KeyboardInterrupt:
        return fail(f"interrupted{resume_hint(args)}", 130)


def resume_hint(args):
    """After a failed download, say how to continue it, if anything was kept."""
    if args.word != "get":
        return ""
    from . import fileclient
    try:
        _, partial = fileclient.download_paths(args.name, args.output)
        kept = os.path.getsize(partial)
    except (framing.FramingError, OSError):
        return ""
    return f" ({kept} bytes kept in {partial}; add --resume to continue)" if kept else ""


def run_files_word(client, args):
    from . import fileclient
    if args.word == "ls":
        for file in client.list():
            print(f"{file['size']:>12}  {printable(file['name'], limit=None)}")
        return 0
    label = args.name if args.word == "get" else os.path.basename(args.path)
    bar = fileclient.ProgressBar.on(sys.stderr, label)
    try:
        if args.word == "get":
            client.get(args.name, args.output, args.resume, args.offset, bar)
        else:
            client.put(args.path, args.name, args.force, bar)
    finally:
        if bar:
            bar.close()
    return 0


# --- python -m classicnet new NAME ----------------------------------------

def new_command(argv):
    """Write a starting handler NAME.py and its test test_NAME.py."""
    parser = argparse.ArgumentParser(
        prog=f"{PROG} new",
        description="Write a starting handler NAME.py (it echoes) and its "
                    "test test_NAME.py, in the current folder.")
    parser.add_argument("name", metavar="NAME",
                        help="the handler's name, e.g. reverse")
    parser.add_argument("--udp", dest="transport", action="store_const",
                        const="udp", default="tcp",
                        help="a UDP handler (default: TCP)")
    parser.add_argument("--dir", default=".", metavar="FOLDER",
                        help="where to write the files (default: here)")
    args = parser.parse_args(argv)
    from . import scaffold
    handler_path, test_path = scaffold.write_starter(
        args.name, args.transport, args.dir)
    cls = scaffold.class_name(args.name)
    print(f"wrote {handler_path} and {test_path}")
    print(f"run it:   python -m classicnet {handler_path}:{cls}")
    print(f"test it:  python -m pytest {test_path}")
    return 0
# --- python -m classicnet lab ... -----------------------------------------

def lab_command(argv):
    """Compare the concurrency models under load: a table, sentences, a timeline."""
    from . import lab
    models = [*servers.MODELS]
    parser = argparse.ArgumentParser(
        prog=f"{PROG} lab",
        description="Run the same workload under several concurrency models, "
                    "measure them side by side, and say what the numbers show.",
        epilog="workloads:\n" + "\n".join(
            f"  {w.name:<6} {w.description}" for w in lab.WORKLOADS.values()),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workload", choices=lab.WORKLOADS, default="echo",
                        help="what every request costs the server (default: echo)")
    parser.add_argument("--clients", type=comma_list(count), default=[1, 10, 100],
                        metavar="N,N,...", help="numbers of clients at once "
                        "(default: 1,10,100)")
    parser.add_argument("--models", type=comma_list(str, models),
                        default=["plain", "threading", "forking", "pool"],
                        metavar="M,M,...", help=f"models to compare, from: "
                        f"{', '.join(models)} (default: plain,threading,forking,pool)")
    parser.add_argument("--duration", type=positive_seconds, default=2.0, metavar="S",
                        help="seconds of load per model and number of clients "
                             "(default: %(default)s)")
    parser.add_argument("--delay", type=float, metavar="MS",
                        help="slow: milliseconds each answer waits (default: 10)")
    parser.add_argument("--cost", type=float, metavar="MS",
                        help="work: milliseconds of CPU per answer (default: 5)")
    parser.add_argument("--requests", type=count, metavar="N",
                        help="requests per connection (default: the workload's)")
    parser.add_argument("--pool", type=count, default=4, metavar="N",
                        help="worker threads of the pool model (default: %(default)s)")
    parser.add_argument("--max-children", type=count, metavar="N",
                        help="processes at once for forking (default: socketserver's 40)")
    parser.add_argument("--processes", type=count, metavar="N",
                        help="load generator processes (default: one per core)")
    parser.add_argument("--no-ceiling", dest="ceiling", action="store_false",
                        help="skip measuring the load generator against the "
                             "asyncio reference")
    parser.add_argument("--svg", metavar="FILE", help="write the charts and timelines")
    parser.add_argument("--json", metavar="FILE", help="write every measurement")
    parser.add_argument("--csv", metavar="FILE", help="write the table")
    args = parser.parse_args(argv)
    if "forking" in args.models and not hasattr(os, "fork"):
        raise UsageError(f"the forking model needs os.fork(), which {sys.platform} "
                         "does not have; leave it out of --models")
    settings = lab.Settings(
        workload=lab.WORKLOADS[args.workload], models=args.models,
        client_counts=args.clients, duration=args.duration, delay=args.delay,
        cost=args.cost, requests_per_connection=args.requests,
        pool_size=args.pool, max_children=args.max_children,
        processes=args.processes, ceiling=args.ceiling)
    try:
        lab.run_lab(settings, svg=args.svg, json_path=args.json, csv_path=args.csv)
    except lab.LabError as error:
        return fail(error, 1)
    except OSError as error:
        return fail(f"cannot write {error.filename}: {error.strerror}", 1)
    return 0


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


def positive_seconds(text):
    """argparse type: a duration in seconds, more than zero."""
    value = seconds(text)
    if value == 0:
        raise argparse.ArgumentTypeError(f"expected seconds (more than 0), not {text!r}")
    return value


# The tool words; each takes the rest of the command line.
TOOLS = {
    "list": list_command,
    "help": help_command,
    "client": client_command,
    "new": new_command,
    "lab": lab_command,
}

assert set(TOOLS) <= registry.COMMAND_WORDS
