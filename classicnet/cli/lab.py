"""``classicnet lab``: compare the concurrency models under load."""

import argparse
import os
import sys

from ..errors import UsageError
from .arguments import comma_list, count, positive_seconds
from .messages import PROG, fail

__all__ = ["run"]


def lab_parser(lab):
    models = lab.LAB_MODELS
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
                        default=list(models), metavar="M,M,...",
                        help=f"models to compare, from: {', '.join(models)} (default: "
                             f"all; asyncio is an event loop, not socketserver)")
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
                        help="skip measuring the instrument: the load generator's "
                             "own ceiling, against a server that does no work")
    parser.add_argument("--svg", metavar="FILE", help="write the charts and timelines")
    parser.add_argument("--json", metavar="FILE", help="write every measurement")
    parser.add_argument("--csv", metavar="FILE", help="write the table")
    return parser


def run(argv):
    """Compare the concurrency models under load: a table, sentences, a timeline."""
    from .. import lab
    args = lab_parser(lab).parse_args(argv)
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
