"""The report: one table of measurements, the instrument's ceiling, the files.

The load generator is a measuring instrument, and an instrument has a
range: it cannot measure a server faster than it can itself go.  Its
ceiling (the rate it reaches against an asyncio echo that does no work)
is printed on a line of its own, never as a row among the servers, and a
figure within 20 % of it is marked ``*``: it says more about the
instrument than about the server.
"""

import csv
import json

from .experiment import INSTRUMENT, REFERENCE

__all__ = ["COLUMNS", "CEILING_MARGIN", "CPU_UNMEASURED", "IDLE_COLUMNS", "ceilings",
           "cpu_unmeasured", "format_table",
           "idle_rows", "instrument_lines", "is_idle", "limited", "model_label",
           "servers_only", "table", "table_rows", "write_csv", "write_json"]

# At or above this fraction of the instrument's ceiling, a figure measures
# the load generator as much as the server.
CEILING_MARGIN = 0.8
LIMITED = "*"

COLUMNS = ["model", "clients", "req/s", "p50 ms", "p95 ms", "p99 ms",
           "at once", "threads", "procs", "cpu", "errors"]
NOTES = ["at once: most connections served at the same moment (seen by the clients);",
         "threads, procs: how many distinct threads and processes served them;",
         "cpu: the server's CPU seconds per second (1.00 = one core busy)."]
CPU_UNMEASURED = "cpu not measured: it needs /proc and the resource module (Linux)."

# The idle workload's table: memory, not speed.
IDLE_COLUMNS = ["model", "clients", "served", "rss MiB", "rss/conn KiB", "pss MiB",
                "pss/conn KiB", "threads", "procs"]
IDLE_NOTES = [
    "served: connections answered (the others waited their turn);",
    "rss: all the memory the server's processes hold, shared pages once per process;",
    "pss: the same with each shared page divided among its processes (Linux only);",
    "/conn: growth over the server before any client, per connection served;",
    "threads, procs: the server's threads and processes while it held them."]


def _number(value, digits=1):
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}" if value < 100 else f"{value:,.0f}"
    return f"{value:,}"


def model_label(measurement):
    return ("asyncio (not socketserver)" if measurement.model == REFERENCE
            else measurement.model)


def servers_only(measurements):
    """The measurements of servers: the instrument's are not among them."""
    return [m for m in measurements if m.model != INSTRUMENT]


def ceilings(measurements):
    """The instrument's rate for each number of clients: ``{clients: req/s}``."""
    return {m.clients: m.rate for m in measurements if m.model == INSTRUMENT}


def limited(measurement, ceiling_rates):
    """True when *measurement* came within 20 % of the instrument's ceiling."""
    ceiling = ceiling_rates.get(measurement.clients)
    return bool(ceiling) and measurement.rate >= CEILING_MARGIN * ceiling


def instrument_lines(measurements):
    """What the instrument can measure, and what ``*`` means; [] without it."""
    rates = ceilings(measurements)
    if not rates:
        return []
    figures = ", ".join(f"{rate:,.0f} req/s with {clients} client(s)"
                        for clients, rate in rates.items())
    lines = [f"instrument: the load generator reached {figures} against an "
             f"asyncio echo that does no work: the most it can measure here."]
    if any(limited(m, rates) for m in servers_only(measurements)):
        lines.append(f"{LIMITED} within 20% of the instrument's ceiling: this figure "
                     f"is limited by the load generator, not by the server.")
    return lines


def table_rows(measurements):
    """The table as lists of strings, one per server's measurement."""
    rates = ceilings(measurements)
    return [[model_label(m), str(m.clients),
             _number(m.rate) + (LIMITED if limited(m, rates) else ""),
             _number(m.latency_ms(0.50), 2), _number(m.latency_ms(0.95), 2),
             _number(m.latency_ms(0.99), 2), str(m.most_at_once),
             _number(m.threads), _number(m.processes),
             _number(m.cores, 2), _number(m.error_count + m.unfinished)]
            for m in servers_only(measurements)]


def cpu_unmeasured(measurements):
    """True when no server's CPU time could be measured here (not on Linux);
    the idle workload measures memory, not CPU."""
    shown = servers_only(measurements)
    return bool(shown) and not is_idle(shown) \
        and all(m.cpu_seconds is None for m in shown)


def is_idle(measurements):
    """True for the measurements of the idle workload (memory, not speed)."""
    return any(m.memory is not None for m in measurements)


def idle_rows(measurements):
    """The idle table as lists of strings, one per server's measurement."""
    rows = []
    for m in servers_only(measurements):
        during = m.memory[1]
        mib = (lambda kib: None if kib is None else kib / 1024)
        rows.append([
            model_label(m), str(m.clients), str(m.requests),
            _number(mib(during and during.rss_kib)),
            _number(m.per_connection_kib("rss_kib")),
            _number(mib(during and during.pss_kib)),
            _number(m.per_connection_kib("pss_kib")),
            _number(during and during.threads), _number(during and during.processes)])
    return rows


def table(measurements):
    """``(columns, rows, notes)``: the table that fits the workload."""
    if is_idle(measurements):
        return IDLE_COLUMNS, idle_rows(measurements), IDLE_NOTES
    return COLUMNS, table_rows(measurements), NOTES


def format_table(measurements):
    """The table as lines of aligned text."""
    columns, body, _ = table(measurements)
    rows = [columns] + body
    widths = [max(len(row[i]) for row in rows) for i in range(len(columns))]
    lines = []
    for number, row in enumerate(rows):
        cells = [row[0].ljust(widths[0])] + [cell.rjust(width) for cell, width
                                              in zip(row[1:], widths[1:])]
        lines.append("  ".join(cells))
        if number == 0:
            lines.append("  ".join("-" * width for width in widths))
    return lines


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
        **(_memory_summary(m) if m.memory else {}),
    }


def _memory_summary(m):
    before, during = m.memory
    return {"rss_kib": during and during.rss_kib, "pss_kib": during and during.pss_kib,
            "rss_per_connection_kib": m.per_connection_kib("rss_kib"),
            "pss_per_connection_kib": m.per_connection_kib("pss_kib"),
            "threads_held": during and during.threads,
            "processes_held": during and during.processes,
            "rss_kib_before": before and before.rss_kib}


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
