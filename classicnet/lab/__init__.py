"""The concurrency lab: the same service under every model, measured side by side.

    python -m classicnet lab --workload slow --clients 1,10 --duration 2

For each model and each number of clients, the lab

1. starts the server with its real command line (``experiment``),
2. drives it from a load generator in other processes (``load``), or, for
   the ``idle`` workload, holds connections open and reads the server's
   memory (``idle``, ``memory``),
3. stops it and keeps the numbers (``experiment.Measurement``);

then it prints one table (``report``), the sentences that the numbers
support (``conclusions``), and a timeline of every connection
(``intervals``, ``timeline``), and writes the files asked for (``svg``;
``--json``, ``--csv``; the lesson page, ``page``, ``watching``,
``serving``).

Before the models, for each number of clients, it measures its own
ceiling against an asyncio echo server that is *not* socketserver and does
no work (``reference``): the load generator is an instrument, and its
range is printed apart from the results.  The same asyncio server doing
the workload is a model beside the others (``LAB_MODELS``).

The lab is the one part of classicnet that prints: it is a teaching tool
whose output is the lesson.
"""

import functools
import os
import platform

from .conclusions import conclusions
from .experiment import (INSTRUMENT, LAB_MODELS, REFERENCE, LabError, Measurement,
                         Settings, measure)
from .report import (CPU_UNMEASURED, cpu_unmeasured, format_table, instrument_lines,
                     servers_only, table, write_csv, write_json)
from .svg import write_svg
from .timeline import LEGEND, draw_timeline, resolution_note
from .workloads import WORKLOADS

__all__ = ["INSTRUMENT", "LAB_MODELS", "LabError", "Measurement", "REFERENCE", "Settings",
           "WORKLOADS", "machine_line", "run_lab", "runs_of", "timeline_clients"]


def run_lab(settings, svg=None, json_path=None, csv_path=None, out=None,
            timeline_width=60, timeline_rows=20, observers=()):
    """Run every experiment *settings* asks for, print the report, write files.

    *out* prints one line (``print`` by default).  Each of *observers* is
    told as each run starts and ends: ``measuring(settings, model, clients)``
    and ``measured(settings, measurements so far)`` (the lesson page, the
    progress line).  Returns the list of ``Measurement`` objects.
    """
    out = out or functools.partial(print, flush=True)
    measurements = measure_all(settings, out, observers)
    sentences = conclusions(measurements, settings)
    chosen = timeline_clients(settings.client_counts)
    print_report(measurements, sentences, out)
    print_timelines(measurements, chosen, out, timeline_width, timeline_rows)
    files = ((svg, lambda path: write_svg(path, measurements, chosen,
                                          settings.workload.name)),
             (json_path, lambda path: write_json(path, measurements, settings,
                                                 sentences)),
             (csv_path, lambda path: write_csv(path, measurements)))
    for path, write in files:
        if path:
            write(path)
            out(f"wrote {path}")
    return measurements


def measure_all(settings, out, observers=()):
    """Step 1: the instrument, then every model, for each number of clients."""
    workload = settings.workload
    out(f"classicnet lab: workload {workload.name} ({workload.description}); "
        f"{settings.per_connection} request(s) per connection; "
        f"{settings.duration:g} s per run")
    out(machine_line())
    for reason in settings.skipped:
        out(f"skipped: {reason}")
    measurements = []
    for clients in settings.client_counts:
        instrument = settings.ceiling and not workload.memory
        runs = ([INSTRUMENT] if instrument else []) + list(settings.models)
        for model in runs:
            for observer in observers:
                observer.measuring(settings, model, clients)
            measurements.append(measure(model, clients, settings))
            for observer in observers:
                observer.measured(settings, measurements)
    return measurements


def runs_of(settings):
    """How many servers *settings* starts: its models and its instrument, for
    each number of clients (what the progress line counts down)."""
    instrument = settings.ceiling and not settings.workload.memory
    return len(settings.client_counts) * (len(settings.models) + instrument)


def print_report(measurements, sentences, out):
    """Step 2: the table, what its columns mean, and what the numbers show."""
    out("")
    if instrument_lines(measurements):
        for line in instrument_lines(measurements):
            out(line)
        out("")
    for line in format_table(measurements):
        out(line)
    out("")
    for line in table(measurements)[2]:
        out(line)
    if cpu_unmeasured(measurements):
        out(CPU_UNMEASURED)
    loads = [m.load_average for m in measurements if m.load_average is not None]
    if loads:
        out(f"The machine's load average (1 min) was {min(loads):.1f} to "
            f"{max(loads):.1f} during the runs (above {os.cpu_count()}, "
            f"programs were waiting for a core).")
    if sentences:
        out("")
        out("What the numbers show:")
        for sentence in sentences:
            out("- " + sentence)


def print_timelines(measurements, clients, out, width, rows):
    """Step 3: the timeline of every model (not the reference) for *clients*."""
    out("")
    out(f"Timeline ({LEGEND}):")
    shown = [m for m in servers_only(measurements) if m.clients == clients]
    for m in shown:
        out("")
        for line in draw_timeline(m, width, rows):
            out(line)
    note = resolution_note(shown, width)
    if note:
        out("")
        out(note)


def machine_line():
    """The machine the figures come from, and how busy it was already."""
    line = f"machine: {os.cpu_count()} core(s), Python {platform.python_version()}"
    if hasattr(os, "getloadavg"):
        line += f", load average {os.getloadavg()[0]:.1f} before the lab"
    return line


def timeline_clients(client_counts):
    """The number of clients whose timelines are drawn: the smallest above 1
    (one client alone shows no difference), or the only one."""
    above_one = [count for count in client_counts if count > 1]
    return min(above_one) if above_one else client_counts[0]
