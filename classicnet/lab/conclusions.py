"""What the numbers show, in words.

The sentences are derived from the numbers of this run, not written in
advance: each one is printed only when the measurements support it (a
model that served one connection at a time, threads that did not make a
CPU-bound server faster, processes that used more than one core, an
event loop that overlapped waiting but not computing).  Their words, in
English and Chinese, are in ``sentences``.
"""

import os
import socketserver

from .experiment import INSTRUMENT, REFERENCE
from .report import CEILING_MARGIN, is_idle, model_label, servers_only
from .sentences import Sentence

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
            sentences.append(Sentence(
                "errors", model=model_label(m), clients=m.clients,
                errors=m.error_count, unfinished=m.unfinished,
                kinds=", ".join(sorted(m.errors)) or "none failed"))
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
        said.append(Sentence("all alike", clients=clients, rate=best.rate))
    elif len(models) > 1:
        names = [m.model for m in leaders]
        rates = [f"{m.rate:,.0f}" for m in leaders]
        line = Sentence("leaders", clients=clients, names=" and ".join(names),
                        rates=" and ".join(rates), names_zh="、".join(names),
                        rates_zh="、".join(rates))
        if plain is not None and plain not in leaders:
            line += Sentence("times plain", times=_times(best, plain))
        said.append(line + Sentence("end"))
    if plain is not None and clients > 1 and plain.most_at_once == 1:
        line = Sentence("plain one at a time")
        if best is not plain and best.latency_ms(0.99) < plain.latency_ms(0.99):
            line += Sentence("so its p99", plain=plain.latency_ms(0.99),
                             best=best.latency_ms(0.99), model=best.model)
        said.append(line + Sentence("end"))
    if plain is not None and threading is not None and clients > 1:
        ratio = _times(threading, plain)
        cores = threading.cores
        if ratio >= 2 and cores is not None and cores < 0.5:
            said.append(Sentence("threads wait", at_once=threading.most_at_once,
                                 ratio=ratio, cores=cores))
        elif ratio < 0.8 and threading.most_at_once > 1:
            said.append(Sentence("threads cost", ratio=ratio,
                                 threads=threading.threads or "many"))
        elif ratio < 1.2 and threading.most_at_once > 1:
            used = (Sentence("cores between them", cores=cores) if cores is not None
                    else Sentence())
            said.append(Sentence("gil", ratio=ratio, at_once=threading.most_at_once,
                                 used=used.say("en"), used_zh=used.say("zh")))
    if forking is not None and clients > 1 and forking.cores is not None:
        said += _forking(forking, threading, settings)
    if prefork is not None and clients > 1:
        said += _prefork(prefork, forking, threading, settings)
    if pool is not None and clients > settings.pool_size \
            and pool.most_at_once >= settings.pool_size:
        said.append(Sentence("pool queued", at_once=pool.most_at_once,
                             threads=pool.threads or settings.pool_size,
                             workers=settings.pool_size, p99=pool.latency_ms(0.99)))
    if models.get(REFERENCE) is not None and plain is not None and clients > 1:
        said += _event_loop(models[REFERENCE], plain)
    if threading is not None and pool is not None and (threading.threads or 0) > \
            (pool.threads or 0):
        said.append(Sentence("threading started", threads=threading.threads,
                             reused=pool.threads))
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
        said.append(Sentence("max children", at_once=forking.most_at_once, limit=limit))
    faster = threading is None or forking.rate > threading.rate
    busy = cores > 1 and forking.most_at_once > 1 and _computing(forking) \
        and forking.load_average is not None and forking.load_average > cores / 2
    if forking.cores >= MORE_THAN_ONE_CORE and faster:
        line = Sentence("parallel", cores=forking.cores)
        if threading is not None:
            line += Sentence("times threading", times=_times(forking, threading))
        line += Sentence("end")
        if busy and forking.cores < cores - 0.2:
            line += Sentence("busy", cores=cores, load=forking.load_average)
        said.append(line)
    elif busy and forking.cores < MORE_THAN_ONE_CORE:
        said.append(Sentence("busy forking", at_once=forking.most_at_once,
                             used=forking.cores, load=forking.load_average,
                             cores=cores))
    forks_per_second = (forking.processes or 0) / forking.duration
    if threading is not None and _times(forking, threading) < 0.8 and not limited \
            and forks_per_second >= MANY_FORKS_PER_SECOND:
        said.append(Sentence("forks cost", slower=1 / _times(forking, threading),
                             processes=forking.processes, per_second=forks_per_second))
    return said


def _prefork(prefork, forking, threading, settings):
    said = []
    workers = settings.prefork_workers
    if forking is not None and (forking.processes or 0) > (prefork.processes or 0) \
            and _times(prefork, forking) >= 1.2:
        said.append(Sentence("prefork forked once", times=_times(prefork, forking),
                             processes=prefork.processes, forked=forking.processes))
    if threading is not None and prefork.cores is not None and _computing(prefork) \
            and _times(prefork, threading) >= 1.2:
        line = Sentence("prefork parallel", times=_times(prefork, threading),
                        cores=prefork.cores)
        if prefork.cores < MORE_THAN_ONE_CORE and prefork.load_average is not None:
            line += Sentence("prefork busy", load=prefork.load_average)
        said.append(line)
    if prefork.clients > workers and prefork.most_at_once >= workers:
        said.append(Sentence("prefork backlog", at_once=prefork.most_at_once,
                             workers=workers))
    shares = sorted(prefork.shares.values(), reverse=True)
    if len(shares) > 1 and sum(shares) >= 2 * len(shares):
        said.append(Sentence("prefork shares", shares=", ".join(map(str, shares)),
                             shares_zh="、".join(map(str, shares))))
    return said


def _event_loop(reference, plain):
    """What one thread with an event loop did with the same work."""
    ratio = _times(reference, plain)
    if _computing(reference) and ratio < 1.3:
        return [Sentence("loop computes", ratio=ratio)]
    if ratio >= 2 and reference.cores is not None and reference.cores < 0.5:
        return [Sentence("loop waits", at_once=reference.most_at_once, ratio=ratio)]
    return []


def _memory(measurements, settings):
    """What holding idle connections cost each model."""
    said, pss = [], {}
    limit = settings.max_children or socketserver.ForkingMixIn.max_children
    for m in measurements:
        during = m.memory[1]
        if m.requests < m.clients:
            why = (Sentence("max children is", limit=limit) if m.model == "forking"
                   and m.requests == limit else Sentence())
            said.append(Sentence("answered", model=model_label(m), answered=m.requests,
                                 clients=m.clients, why=why.say("en"),
                                 why_zh=why.say("zh")))
        if during is None:
            continue
        figure = "pss_kib" if during.pss_kib is not None else "rss_kib"
        each = m.per_connection_kib(figure)
        if each is None:
            continue
        pss[m.model] = m.per_connection_kib("pss_kib")
        said.append(Sentence("held", model=model_label(m), answered=m.requests,
                             threads=during.threads, processes=during.processes,
                             each=each, figure=figure[:3].upper()))
        rss = m.per_connection_kib("rss_kib")
        if figure == "pss_kib" and during.processes > 1 and rss > 2 * max(each, 1):
            said.append(Sentence("rss and pss", model=model_label(m), rss=rss, each=each))
    if pss.get("forking") and pss.get("threading") and pss["threading"] > 0:
        ratio = pss["forking"] / pss["threading"]
        said.append(Sentence("process and thread", ratio=ratio))
    if not any(m.memory[1] for m in measurements):
        said.append(Sentence("no proc"))
    return said


def _near_ceiling(clients, models, ceiling):
    said = []
    for m in models.values():
        if ceiling.rate and m.rate >= CEILING_MARGIN * ceiling.rate:
            said.append(Sentence("near ceiling", model=model_label(m), clients=clients,
                                 share=m.rate / ceiling.rate, ceiling=ceiling.rate))
    return said
