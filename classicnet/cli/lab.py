"""``classicnet lab``: compare the concurrency models under load.

Its steps, each a function: parse the options (``lab_parser``), make one
``Settings`` per workload (``lab_settings``) for the models this system can
run (``models_to_run``: forking and prefork need os.fork), watch the runs
(the progress line, the lesson page and, with ``--serve``, the server that
shows it: ``lab_page``), run the lab for each workload (``run_workloads``),
and with ``--serve`` keep the page on until Ctrl-C (``wait_until_stopped``).
"""

import argparse
import contextlib
import os
import sys

from .. import compat
from ..errors import UsageError
from ..launcher import DEFAULT_HOST
from .arguments import (comma_list, count, descriptor, milliseconds, port_number,
                        positive_seconds, workers)
from .lab_page import live_page, wait_until_stopped
from .messages import PROG, fail

__all__ = ["run"]

# Seconds a run takes besides its --duration (starting and stopping a
# server, the drain): the progress line's first guess.
RUN_OVERHEAD = 1.5

# The models that need os.fork(): left out of the default list where it is
# missing (and said so), refused by name.
FORKED_MODELS = ("forking", "prefork")


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
                        metavar="N,N,...", help="numbers of clients at once, each 1 to 1000000 "
                        "(default: 1,10,100)")
    parser.add_argument("--models", type=comma_list(str, models), metavar="M,M,...",
                        help=f"models to compare, from: {', '.join(models)} (default: "
                             f"all; forking and prefork only where os.fork exists; "
                             f"asyncio is an event loop, not socketserver)")
    parser.add_argument("--duration", type=positive_seconds, default=2.0, metavar="S",
                        help="seconds of load per model and number of clients, up to "
                             "86400; idle: seconds the connections are held "
                             "(default: %(default)s)")
    parser.add_argument("--delay", type=milliseconds, metavar="MS",
                        help="slow: milliseconds each answer waits, 0 to 60000 (default: 10)")
    parser.add_argument("--cost", type=milliseconds, metavar="MS",
                        help="work: milliseconds of CPU per answer, 0 to 60000 (default: 5)")
    parser.add_argument("--requests", type=count, metavar="N",
                        help="requests per connection, 1 to 1000000 (default: the workload's)")
    parser.add_argument("--pool", type=workers, default=4, metavar="N",
                        help="worker threads of the pool model, 1 to 1000 (default: %(default)s)")
    parser.add_argument("--prefork", type=workers, default=4, metavar="N",
                        help="worker processes of the prefork model, 1 to 1000 "
                             "(default: %(default)s)")
    parser.add_argument("--max-children", type=workers, metavar="N",
                        help="processes at once for forking, 1 to 1000 (default: socketserver's 40)")
    parser.add_argument("--processes", type=workers, metavar="N",
                        help="load generator processes, 1 to 1000 (default: one per core)")
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
    page.add_argument("--events-fd", type=descriptor, metavar="N",
                      help="--serve: write the page server's events as JSON lines to "
                           "file descriptor N (for a program that starts the lab)")
    return parser


def lab_settings(lab, args):
    """One ``Settings`` per workload asked for."""
    models, skipped = models_to_run(args.models, lab.LAB_MODELS)
    return [lab.Settings(
        workload=lab.WORKLOADS[name], models=models, skipped=skipped,
        client_counts=args.clients, duration=args.duration, delay=args.delay,
        cost=args.cost, requests_per_connection=args.requests, pool_size=args.pool,
        prefork_workers=args.prefork, max_children=args.max_children,
        processes=args.processes, ceiling=args.ceiling)
        for name in dict.fromkeys(args.workload)]


def models_to_run(asked, available):
    """The models to measure, and why any of the default ones is left out.

    A model asked for by name that cannot run here is a usage error; the
    default list (every model in *available*) keeps only what this system
    can run, and says so.
    """
    if asked is not None:
        forked = [model for model in asked if model in FORKED_MODELS]
        if forked and not compat.CAN_FORK:
            raise UsageError(f"the {forked[0]} model needs os.fork(), which "
                             f"{sys.platform} does not have; leave it out of --models")
        return asked, []
    if compat.CAN_FORK:
        return list(available), []
    return ([model for model in available if model not in FORKED_MODELS],
            [f"the {model} model: {sys.platform} has no os.fork()"
             for model in available if model in FORKED_MODELS])


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


def run(argv):
    """Compare the concurrency models under load: a table, sentences, pictures."""
    from .. import lab
    from ..lab.watching import ProgressLine
    args = lab_parser(lab).parse_args(argv)
    if not compat.CAN_PASS_FDS:
        raise UsageError(f"the lab hands each server a pipe for its events "
                         f"(pass_fds), which {sys.platform} cannot do; run it on "
                         "Linux or macOS (on Windows: in WSL)")
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
