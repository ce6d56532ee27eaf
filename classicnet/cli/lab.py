"""``classicnet lab``: compare the concurrency models under load."""

import argparse
import sys

from .. import compat, servers
from ..errors import UsageError
from .arguments import comma_list, count, milliseconds, positive_seconds, workers
from .messages import PROG, fail

__all__ = ["run"]


DEFAULT_MODELS = ("plain", "threading", "forking", "pool", "prefork")

# The models that need os.fork().
FORKED_MODELS = ("forking", "prefork")


def lab_parser(lab):
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
                        metavar="N,N,...", help="numbers of clients at once, each 1 to 1000000 "
                        "(default: 1,10,100)")
    parser.add_argument("--models", type=comma_list(str, models),
                        metavar="M,M,...", help=f"models to compare, from: "
                        f"{', '.join(models)} (default: {','.join(DEFAULT_MODELS)}; "
                        "forking and prefork only where os.fork exists)")
    parser.add_argument("--duration", type=positive_seconds, default=2.0, metavar="S",
                        help="seconds of load per model and number of clients, up to 86400 "
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
                        help="skip measuring the load generator against the "
                             "asyncio reference")
    parser.add_argument("--svg", metavar="FILE", help="write the charts and timelines")
    parser.add_argument("--json", metavar="FILE", help="write every measurement")
    parser.add_argument("--csv", metavar="FILE", help="write the table")
    return parser


def run(argv):
    """Compare the concurrency models under load: a table, sentences, a timeline."""
    from .. import lab
    args = lab_parser(lab).parse_args(argv)
    if not compat.CAN_PASS_FDS:
        raise UsageError(f"the lab hands each server a pipe for its events "
                         f"(pass_fds), which {sys.platform} cannot do; run it on "
                         "Linux or macOS (on Windows: in WSL)")
    models, skipped = models_to_run(args.models)
    settings = lab.Settings(
        workload=lab.WORKLOADS[args.workload], models=models, skipped=skipped,
        client_counts=args.clients, duration=args.duration, delay=args.delay,
        cost=args.cost, requests_per_connection=args.requests,
        pool_size=args.pool, prefork_workers=args.prefork,
        max_children=args.max_children,
        processes=args.processes, ceiling=args.ceiling)
    try:
        lab.run_lab(settings, svg=args.svg, json_path=args.json, csv_path=args.csv)
    except lab.LabError as error:
        return fail(error, 1)
    except OSError as error:
        return fail(f"cannot write {error.filename}: {error.strerror}", 1)
    return 0


def models_to_run(asked):
    """The models to measure, and why any of the default ones is left out.

    A model asked for by name that cannot run here is a usage error; the
    default list keeps only what this system can run, and says so.
    """
    if asked is not None:
        forked = [model for model in asked if model in FORKED_MODELS]
        if forked and not compat.CAN_FORK:
            raise UsageError(f"the {forked[0]} model needs os.fork(), which "
                             f"{sys.platform} does not have; leave it out of --models")
        return asked, []
    if compat.CAN_FORK:
        return list(DEFAULT_MODELS), []
    return ([model for model in DEFAULT_MODELS if model not in FORKED_MODELS],
            [f"the {model} model: {sys.platform} has no os.fork()"
             for model in FORKED_MODELS])
