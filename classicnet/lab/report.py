"""The report: one table of measurements, and what they show, in words.

The sentences at the end are derived from the numbers of this run, not
written in advance: each one is printed only when the measurements support
it (a model that served one connection at a time, threads that did not
make a CPU-bound server faster, processes that used more than one core).
"""

import csv
import json
import os
import socketserver

from .experiment import REFERENCE, REFERENCE_LABEL

__all__ = ["COLUMNS", "conclusions", "format_table", "table_rows",
           "write_csv", "write_json"]

# Within this fraction of the load generator's ceiling, a figure measures
# the generator as much as the server.
CEILING_MARGIN = 0.8

COLUMNS = ["model", "clients", "req/s", "p50 ms", "p95 ms", "p99 ms",
           "at once", "threads", "procs", "cpu", "errors"]


def _number(value, digits=1):
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}" if value < 100 else f"{value:,.0f}"
    return f"{value:,}"


def model_label(measurement):
    return ("ceiling: " + REFERENCE_LABEL if measurement.model == REFERENCE
            else measurement.model)


def table_rows(measurements):
    """The table as lists of strings, one per measurement."""
    return [[model_label(m), str(m.clients), _number(m.rate),
             _number(m.latency_ms(0.50), 2), _number(m.latency_ms(0.95), 2),
             _number(m.latency_ms(0.99), 2), str(m.most_at_once),
             _number(m.threads), _number(m.processes),
             _number(m.cores, 2), _number(m.error_count + m.unfinished)]
            for m in measurements]


def format_table(measurements):
    """The table as lines of aligned text."""
    rows = [COLUMNS] + table_rows(measurements)
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    lines = []
    for number, row in enumerate(rows):
        cells = [row[0].ljust(widths[0])] + [cell.rjust(width) for cell, width
                                              in zip(row[1:], widths[1:])]
        lines.append("  ".join(cells))
        if number == 0:
            lines.append("  ".join("-" * width for width in widths))
    return lines


def conclusions(measurements, settings):
    """Sentences that say what this run's numbers show."""
    by_count = {}
    for m in measurements:
        by_count.setdefault(m.clients, {})[m.model] = m
    sentences = []
    for clients, models in by_count.items():
        ceiling = models.pop(REFERENCE, None)
        if models:
            sentences += _compare(clients, models, settings)
        if ceiling is not None:
            sentences += _near_ceiling(clients, models, ceiling)
    for m in measurements:
        if m.error_count or m.unfinished:
            sentences.append(
                f"{model_label(m)} with {m.clients} client(s): {m.error_count} "
                f"error(s) and {m.unfinished} request(s) still unanswered at the end "
                f"({', '.join(sorted(m.errors)) or 'none failed'}).")
    return sentences


def _times(a, b):
    return a.rate / b.rate if b.rate else float("inf")


def _compare(clients, models, settings):
    best = max(models.values(), key=lambda m: m.rate)
    plain = models.get("plain")
    threading = models.get("threading")
    forking = models.get("forking")
    pool = models.get("pool")
    prefork = models.get("prefork")
    said = []
    leaders = sorted((m for m in models.values() if _times(best, m) < 1.1),
                     key=lambda m: -m.rate)
    if len(models) > 1 and len(leaders) == len(models):
        said.append(f"With {clients} client(s), every model served about as many "
                    f"requests (within 10% of {best.rate:,.0f}/s).")
    elif len(models) > 1:
        names = " and ".join(m.model for m in leaders)
        line = f"With {clients} client(s), {names} served the most requests " \
               f"({' and '.join(f'{m.rate:,.0f}' for m in leaders)}/s)"
        if plain is not None and plain not in leaders:
            line += f", {_times(best, plain):.1f}x plain"
        said.append(line + ".")
    if plain is not None and clients > 1 and plain.most_at_once == 1:
        line = ("plain served one connection at a time (at most 1 at once): the "
                "others waited their turn")
        if best is not plain and best.latency_ms(0.99) < plain.latency_ms(0.99):
            line += (f", so its p99 latency was {plain.latency_ms(0.99):,.1f} ms "
                     f"against {best.latency_ms(0.99):,.1f} ms for {best.model}")
        said.append(line + ".")
    if plain is not None and threading is not None and clients > 1:
        ratio = _times(threading, plain)
        cores = threading.cores
        if ratio >= 2 and cores is not None and cores < 0.5:
            said.append(
                f"threading served {threading.most_at_once} connections at once and "
                f"was {ratio:.1f}x faster than plain while using only {cores:.2f} "
                f"of a core: its threads spent their time waiting, and a waiting "
                f"thread (sleep, recv) releases the GIL, so the waits overlap.")
        elif ratio < 0.8 and threading.most_at_once > 1:
            said.append(
                f"threading was slower than plain ({ratio:.2f}x): each answer costs "
                f"so little that starting {threading.threads or 'many'} threads, one "
                f"per connection, and handing the GIL from thread to thread cost "
                f"more than serving clients together saves.")
        elif ratio < 1.2 and threading.most_at_once > 1:
            used = f", using {cores:.2f} core(s) between them" if cores is not None else ""
            said.append(
                f"threading was no faster than plain ({ratio:.2f}x) although it "
                f"served {threading.most_at_once} connections at once{used}: only "
                f"the thread that holds the GIL runs Python code, so threads in one "
                f"process compute one at a time.")
    if forking is not None and clients > 1 and forking.cores is not None:
        said += _forking(forking, threading, settings)
    if prefork is not None and clients > 1:
        said += _prefork(prefork, forking, threading, settings)
    if pool is not None and clients > settings.pool_size \
            and pool.most_at_once >= settings.pool_size:
        said.append(
            f"the pool served at most {pool.most_at_once} connections at once with "
            f"{pool.threads or settings.pool_size} threads ({settings.pool_size} "
            f"workers); the other clients queued, so its p99 latency was "
            f"{pool.latency_ms(0.99):,.1f} ms.")
    if threading is not None and pool is not None and (threading.threads or 0) > \
            (pool.threads or 0):
        said.append(
            f"threading started {threading.threads} threads, one per connection; "
            f"the pool reused {pool.threads}.")
    return said


# CPU seconds per second from which a server clearly used more than one core.
MORE_THAN_ONE_CORE = 1.15

# Forks per second above which the cost of forking shows in the figures.
MANY_FORKS_PER_SECOND = 20


def _computing(m):
    """True when the server spent, per answer, at least half the time of the
    fastest answer on the CPU: it was computing rather than waiting."""
    if not (m.cpu_seconds and m.requests and m.latencies):
        return False
    return m.cpu_seconds / m.requests >= 0.5 * m.latencies[0]


def _forking(forking, threading, settings):
    said = []
    cores = os.cpu_count() or 1
    limit = settings.max_children or socketserver.ForkingMixIn.max_children
    limited = forking.clients > limit
    if limited:
        said.append(
            f"forking served at most {forking.most_at_once} connections at once: "
            f"max_children is {limit}, so the other clients waited for a child "
            f"to finish.")
    faster = threading is None or forking.rate > threading.rate
    busy = cores > 1 and forking.most_at_once > 1 and _computing(forking) \
        and forking.load_average is not None and forking.load_average > cores / 2
    why_busy = (f"the machine was busy (load average {forking.load_average:.1f} on "
                f"{cores} cores, the load generator and other programs included)"
                if busy else "")
    if forking.cores >= MORE_THAN_ONE_CORE and faster:
        line = (f"forking used {forking.cores:.2f} cores: each child process has its "
                f"own interpreter and its own GIL, so children compute in parallel"
                + (f" ({_times(forking, threading):.1f}x threading)."
                   if threading is not None else "."))
        if busy and forking.cores < cores - 0.2:
            line += f"  It did not get all {cores} cores: {why_busy}."
        said.append(line)
    elif busy and forking.cores < MORE_THAN_ONE_CORE:
        said.append(
            f"forking had {forking.most_at_once} processes to run but used only "
            f"{forking.cores:.2f} cores: {why_busy}, so its children could not "
            f"have every core.")
    forks_per_second = (forking.processes or 0) / forking.duration
    if threading is not None and _times(forking, threading) < 0.8 and not limited \
            and forks_per_second >= MANY_FORKS_PER_SECOND:
        said.append(
            f"forking was {1 / _times(forking, threading):.1f}x slower than "
            f"threading: it started {forking.processes} processes "
            f"({forks_per_second:,.0f} per second), one per connection, and a "
            f"fork costs far more than starting a thread.")
    return said


def _prefork(prefork, forking, threading, settings):
    said = []
    workers = settings.prefork_workers
    if forking is not None and (forking.processes or 0) > (prefork.processes or 0) \
            and _times(prefork, forking) >= 1.2:
        said.append(
            f"prefork served {_times(prefork, forking):.1f}x forking's requests: its "
            f"{prefork.processes} processes were forked once, at start-up, where "
            f"forking started {forking.processes}, one per connection.")
    if threading is not None and prefork.cores is not None and _computing(prefork) \
            and _times(prefork, threading) >= 1.2:
        line = (f"prefork served {_times(prefork, threading):.1f}x threading's requests "
                f"with {prefork.cores:.2f} cores: its workers are processes, each with "
                f"its own GIL, so they compute in parallel as forking's children do.")
        if prefork.cores < MORE_THAN_ONE_CORE and prefork.load_average is not None:
            line += (f"  It did not get every core: the machine was busy (load "
                     f"average {prefork.load_average:.1f}).")
        said.append(line)
    if prefork.clients > workers and prefork.most_at_once >= workers:
        said.append(
            f"prefork served at most {prefork.most_at_once} connections at once with "
            f"{workers} workers; the other clients waited in the listen backlog.")
    shares = sorted(prefork.shares.values(), reverse=True)
    if len(shares) > 1 and sum(shares) >= 2 * len(shares):
        said.append(
            f"prefork's workers served {', '.join(map(str, shares))} connections: "
            f"each new connection woke one worker waiting in accept(), never all "
            f"of them (no thundering herd).")
    return said


def _near_ceiling(clients, models, ceiling):
    said = []
    for m in models.values():
        if ceiling.rate and m.rate >= CEILING_MARGIN * ceiling.rate:
            said.append(
                f"warning: {m.model} with {clients} client(s) reached "
                f"{m.rate / ceiling.rate:.0%} of the asyncio reference's rate "
                f"({ceiling.rate:,.0f} requests/s with the same load generator): "
                f"that close to the ceiling, the figure measures the load generator "
                f"and the machine as much as the server.")
    return said


def summary(measurement):
    """One measurement as a dict of plain values (for JSON and CSV)."""
    m = measurement
    return {
        "model": m.model, "clients": m.clients, "duration_s": m.duration,
        "requests": m.requests, "requests_per_s": round(m.rate, 1),
        "p50_ms": m.latency_ms(0.50), "p95_ms": m.latency_ms(0.95),
        "p99_ms": m.latency_ms(0.99), "most_at_once": m.most_at_once,
        "threads": m.threads, "processes": m.processes,
        "server_cpu_s": m.cpu_seconds, "load_average": m.load_average,
        "errors": m.error_count,
        "unfinished": m.unfinished,
    }


def write_json(path, measurements, settings, sentences):
    """Everything measured: settings, summaries, every connection and latency."""
    document = {
        "settings": {
            "workload": settings.workload.name, "models": settings.models,
            "clients": settings.client_counts, "duration_s": settings.duration,
            "delay_ms": settings.delay, "cost_ms": settings.cost,
            "requests_per_connection": settings.per_connection,
            "pool_size": settings.pool_size, "max_children": settings.max_children,
            "prefork_workers": settings.prefork_workers,
        },
        "measurements": [
            {**summary(m), "error_kinds": m.errors,
             "served_by": sorted([pid, name] for pid, name in m.servers),
             "connections_per_process": {str(pid): count for pid, count
                                         in sorted(m.shares.items())},
             "latencies_ms": [round(s * 1000, 4) for s in m.latencies],
             "connections": [
                 {"client": client, "opened_s": round(opened - m.start, 6),
                  "first_answer_s": None if first is None else round(first - m.start, 6),
                  "closed_s": round(closed - m.start, 6)}
                 for client, opened, first, closed in m.connections]}
            for m in measurements],
        "conclusions": sentences,
    }
    with open(path, "w", encoding="utf-8") as file:
        json.dump(document, file, indent=1)
        file.write("\n")


def write_csv(path, measurements):
    """One row per model and number of clients: the table, unrounded."""
    rows = [summary(m) for m in measurements]
    with open(path, "w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, fieldnames=list(rows[0]) if rows else ["model"])
        writer.writeheader()
        writer.writerows(rows)
