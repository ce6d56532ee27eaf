"""What the numbers show, in words.

The sentences are derived from the numbers of this run, not written in
advance: each one is printed only when the measurements support it (a
model that served one connection at a time, threads that did not make a
CPU-bound server faster, processes that used more than one core, an
event loop that overlapped waiting but not computing).
"""

import os
import socketserver

from .experiment import INSTRUMENT, REFERENCE
from .report import CEILING_MARGIN, is_idle, model_label, servers_only

__all__ = ["conclusions"]


def conclusions(measurements, settings):
    """Sentences that say what this run's numbers show."""
    if is_idle(measurements):
        return _memory(servers_only(measurements), settings)
    by_count = {}
    for m in measurements:
        by_count.setdefault(m.clients, {})[m.model] = m
    sentences = []
    for clients, models in by_count.items():
        ceiling = models.pop(INSTRUMENT, None)
        if models:
            sentences += _compare(clients, models, settings)
        if ceiling is not None:
            sentences += _near_ceiling(clients, models, ceiling)
    for m in measurements:
        if m.model != INSTRUMENT and (m.error_count or m.unfinished):
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
                "others waited in the listen backlog")
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
    if pool is not None and clients > settings.pool_size \
            and pool.most_at_once >= settings.pool_size:
        said.append(
            f"the pool served at most {pool.most_at_once} connections at once with "
            f"{pool.threads or settings.pool_size} threads ({settings.pool_size} "
            f"workers); the other clients queued, so its p99 latency was "
            f"{pool.latency_ms(0.99):,.1f} ms.")
    if models.get(REFERENCE) is not None and plain is not None and clients > 1:
        said += _event_loop(models[REFERENCE], plain)
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


def _event_loop(reference, plain):
    """What one thread with an event loop did with the same work."""
    ratio = _times(reference, plain)
    if _computing(reference) and ratio < 1.3:
        return [f"asyncio computed each answer in its one event loop and served "
                f"{ratio:.2f}x plain's rate: while the loop computes, no other "
                f"connection is served, so an event loop overlaps waiting, not "
                f"computing."]
    if ratio >= 2 and reference.cores is not None and reference.cores < 0.5:
        return [f"asyncio served {reference.most_at_once} connections at once in "
                f"one thread and was {ratio:.1f}x faster than plain: each "
                f"'await asyncio.sleep()' hands the loop to another connection, so "
                f"waits overlap without a thread per client."]
    return []


def _memory(measurements, settings):
    """What holding idle connections cost each model."""
    said, pss = [], {}
    limit = settings.max_children or socketserver.ForkingMixIn.max_children
    for m in measurements:
        during = m.memory[1]
        if m.requests < m.clients:
            why = (f" (max_children is {limit})" if m.model == "forking"
                   and m.requests == limit else "")
            said.append(f"{model_label(m)} answered {m.requests} of {m.clients} "
                        f"connections{why}: the others waited, unanswered, for a turn.")
        if during is None:
            continue
        figure = "pss_kib" if during.pss_kib is not None else "rss_kib"
        each = m.per_connection_kib(figure)
        if each is None:
            continue
        pss[m.model] = m.per_connection_kib("pss_kib")
        said.append(f"{model_label(m)} held {m.requests} connection(s) with "
                    f"{during.threads} thread(s) in {during.processes} process(es): "
                    f"{each:,.0f} KiB more per connection ({figure[:3].upper()}).")
        rss = m.per_connection_kib("rss_kib")
        if figure == "pss_kib" and during.processes > 1 and rss > 2 * max(each, 1):
            said.append(f"{model_label(m)}'s RSS grew {rss:,.0f} KiB per connection, "
                        f"its PSS {each:,.0f}: a forked child shares its parent's "
                        f"pages until it writes to them, and RSS counts a shared page "
                        f"once in every process; PSS divides it among them.")
    if pss.get("forking") and pss.get("threading") and pss["threading"] > 0:
        ratio = pss["forking"] / pss["threading"]
        said.append(f"a process per connection cost {ratio:,.0f}x the memory of a "
                    f"thread per connection (PSS).")
    if not any(m.memory[1] for m in measurements):
        said.append("memory could not be measured here: it is read from Linux's /proc.")
    return said


def _near_ceiling(clients, models, ceiling):
    said = []
    for m in models.values():
        if ceiling.rate and m.rate >= CEILING_MARGIN * ceiling.rate:
            said.append(
                f"warning: {model_label(m)} with {clients} client(s) reached "
                f"{m.rate / ceiling.rate:.0%} of the instrument's ceiling "
                f"({ceiling.rate:,.0f} requests/s against a server that does no "
                f"work): that close to it, the figure measures the load generator "
                f"and the machine as much as the server.")
    return said
