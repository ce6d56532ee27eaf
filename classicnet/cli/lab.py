"""``classicnet lab``: compare the concurrency models under load.

Its steps, each a function: parse the options (``lab_parser``), make one
``Settings`` per workload (``lab_settings``), watch the runs (the progress
line, the lesson page and, with ``--serve``, the server that shows it),
run the lab for each workload (``run_workloads``), and with ``--serve`` keep
the page on until Ctrl-C (``wait_until_stopped``).
"""

import argparse
import contextlib
import os
import signal
import sys
import tempfile
import threading

from .. import launcher
from ..errors import UsageError
from ..launcher import DEFAULT_HOST
from .arguments import comma_list, count, port_number, positive_seconds
from .messages import PROG, explain_os_error, fail

__all__ = ["run"]

# Seconds a run takes besides its --duration (starting and stopping a
# server, the drain): the progress line's first guess.
RUN_OVERHEAD = 1.5


def lab_parser(lab):
    models = lab.LAB_MODELS
    parser = argparse.ArgumentParser(
        prog=f"{PROG} lab",
        description="Run the same workload under several concurrency models, "
                    "measure them side by side, and say what the numbers show.",
        epilog="workloads:\n" + "\n".join(
            f"  {w.name:<6} {w.description}" for w in lab.WORKLOADS.values()),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workload", type=comma_list(str, lab.WORKLOADS),
                        default=["echo"], metavar="W,W,...",
                        help="what every request costs the server, one or several "
                             "(default: echo)")
    parser.add_argument("--clients", type=comma_list(count), default=[1, 10, 100],
                        metavar="N,N,...", help="numbers of clients at once "
                        "(default: 1,10,100)")
    parser.add_argument("--models", type=comma_list(str, models),
                        default=list(models), metavar="M,M,...",
                        help=f"models to compare, from: {', '.join(models)} (default: "
                             f"all; asyncio is an event loop, not socketserver)")
    parser.add_argument("--duration", type=positive_seconds, default=2.0, metavar="S",
                        help="seconds of load per model and number of clients; "
                             "idle: seconds the connections are held "
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
                        help="skip measuring the instrument: the load generator's "
                             "own ceiling, against a server that does no work")
    files = parser.add_argument_group(
        "files", "with several workloads, each file name gets the workload's "
                 "before its extension (lab.svg: lab-slow.svg, lab-work.svg)")
    files.add_argument("--svg", metavar="FILE", help="write the charts and timelines")
    files.add_argument("--json", metavar="FILE", help="write every measurement")
    files.add_argument("--csv", metavar="FILE", help="write the table")
    page = parser.add_argument_group("the lesson page")
    page.add_argument("--html", metavar="FILE",
                      help="write the whole lesson as one self-contained HTML page")
    page.add_argument("--lang", choices=["en", "zh"], default="en",
                      help="the page's language: en or zh (Chinese) (default: en)")
    page.add_argument("--serve", action="store_true",
                      help="serve the page over HTTP while the runs go on, and "
                           "after them until Ctrl-C")
    page.add_argument("--host", default=DEFAULT_HOST,
                      help="--serve: the address to serve on (default: %(default)s)")
    page.add_argument("--port", type=port_number, default=8000,
                      help="--serve: the port, 0 for any free one (default: %(default)s)")
    page.add_argument("--events-fd", type=int, metavar="N",
                      help="--serve: write the page server's events as JSON lines to "
                           "file descriptor N (for a program that starts the lab)")
    return parser


def lab_settings(lab, args):
    """One ``Settings`` per workload asked for."""
    if "forking" in args.models and not hasattr(os, "fork"):
        raise UsageError(f"the forking model needs os.fork(), which {sys.platform} "
                         "does not have; leave it out of --models")
    return [lab.Settings(
        workload=lab.WORKLOADS[name], models=args.models, client_counts=args.clients,
        duration=args.duration, delay=args.delay, cost=args.cost,
        requests_per_connection=args.requests, pool_size=args.pool,
        max_children=args.max_children, processes=args.processes,
        ceiling=args.ceiling) for name in dict.fromkeys(args.workload)]


def file_for(path, workload, several):
    """*path* itself, or with several workloads ``lab.svg`` -> ``lab-slow.svg``."""
    if not path or not several:
        return path
    stem, extension = os.path.splitext(path)
    return f"{stem}-{workload}{extension}"


def run_workloads(lab, args, all_settings, observers):
    """Run the lab for each workload in turn, its files named for it."""
    several = len(all_settings) > 1
    for number, settings in enumerate(all_settings):
        if number:
            print(flush=True)
        name = settings.workload.name
        lab.run_lab(settings, svg=file_for(args.svg, name, several),
                    json_path=file_for(args.json, name, several),
                    csv_path=file_for(args.csv, name, several), observers=observers)


def start_page_server(lab, folder, args, stack):
    """Serve *folder* as ``--host`` and ``--port`` say, until *stack* closes;
    returns the server.  LabError when the address cannot be bound."""
    from ..events import JsonLines
    from ..lab.serving import serve_folder
    listeners = []
    if args.events_fd is not None:
        try:
            os.fstat(args.events_fd)
        except OSError:
            raise UsageError(f"--events-fd {args.events_fd} is not an open file "
                             "descriptor (the program that starts the lab passes it)"
                             ) from None
        listeners.append(JsonLines(args.events_fd))
    try:
        server, thread = serve_folder(folder, args.host, args.port, listeners)
    except OSError as error:
        raise lab.LabError(explain_os_error(error, f"{args.host}:{args.port}")) from None
    stack.callback(launcher.stop, server, thread)
    print(f"{PROG} lab: the lesson page is at http://{server.endpoint}/, "
          f"serving on {server.endpoint}", flush=True)
    return server


def live_page(lab, args, all_settings, stack):
    """The lesson page as the runs go (``--html``, ``--serve``), or None;
    with ``--serve``, the server that shows it too."""
    from ..lab.watching import LivePage
    pages, server = [args.html] if args.html else [], None
    if args.serve:
        folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="classicnet-lab-"))
        pages.append(os.path.join(folder, "index.html"))
    if not pages:
        return None, None
    page = LivePage(pages, all_settings, args.lang, lab.machine_line(),
                    lab.timeline_clients)
    if args.serve:
        server = start_page_server(lab, folder, args, stack)
    return page, server


def wait_until_stopped(server):
    """Keep the finished page on until Ctrl-C or SIGTERM."""
    stopped = threading.Event()
    previous = {signum: signal.signal(signum, lambda *_: stopped.set())
                for signum in (signal.SIGINT, signal.SIGTERM)}
    print(f"the page stays on http://{server.endpoint}/ until Ctrl-C", flush=True)
    try:
        while not stopped.wait(0.5):
            pass
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def run(argv):
    """Compare the concurrency models under load: a table, sentences, pictures."""
    from .. import lab
    from ..lab.watching import ProgressLine
    args = lab_parser(lab).parse_args(argv)
    all_settings = lab_settings(lab, args)
    progress = ProgressLine.on(sys.stderr, sum(map(lab.runs_of, all_settings)),
                               args.duration + RUN_OVERHEAD)
    try:
        with contextlib.ExitStack() as stack:
            page, server = live_page(lab, args, all_settings, stack)
            run_workloads(lab, args, all_settings, [o for o in (page, progress) if o])
            if page:
                page.finish()
            if args.html:
                print(f"wrote {args.html}", flush=True)
            if server:
                wait_until_stopped(server)
    except lab.LabError as error:
        return fail(error, 1)
    except OSError as error:
        return fail(f"cannot write {error.filename}: {error.strerror}", 1)
    return 0
