#!/usr/bin/env python3
"""How much does classicnet cost over bare socketserver?  Echo against echo.

    python scripts/bench_overhead.py [--runs 5] [--duration 1]
                                     [--transports tcp,udp] [--models ...]
                                     [--connections 1,10,100]

For each transport (tcp, udp), model (plain, threading, forking, prefork,
pool) and number of clients, the same load is put on two servers in turn:

* classicnet:  python -m classicnet echo --MODEL [--udp] -q
               (with --max-connections and --udp-rate off, so that the
               load itself is never refused: their checks still run)
* bare:        socketserver.TCPServer (or UDPServer, and their Threading
               and Forking variants) with echo handlers of the same shape
               as classicnet's (a transform() hook per chunk), so that the
               difference is the framework's alone; socketserver's defaults
               except request_queue_size = SOMAXCONN, as classicnet, so
               that 100 clients connecting at once are not refused
               (backlog 5).

Two models have no socketserver class, so their baselines are other servers:

* prefork (``--prefork N``) against a bare preforked TCPServer written here:
  N processes forked after bind and listen, each calling serve_forever()
  on the one listening socket;
* pool over UDP (``--pool N --udp``) against bare UDPServer (the target
  is at least 0.5 of it) and bare ThreadingUDPServer (at least 4x it): a
  row for each.  ``--udp-delay MS`` makes every UDP answer wait (the
  ``slow`` handler, and the same sleep in the bare one), which shows the
  pool's concurrency instead of its cost: ``--models pool --transports udp
  --udp-delay 10 --workers 8``.

TCP load is the lab's load generator (64-byte messages, 100 requests per
connection).  UDP load is the same idea for datagrams: each client keeps
one 64-byte datagram in flight and sends the next when the answer comes
(a lost datagram is sent again after 0.2 s and counted).

The two servers alternate (A B B A A ...) so that a change in the machine's
load hurts both alike, and the ratio compares the medians of --runs runs
each.  With one client the server and the load are pinned to the same core
(taskset and sched_setaffinity, where present): unpinned, the figures
swing by a factor of two with the scheduler's choices.  p99 is the median
over the runs of each run's 99th-percentile latency.

A ratio of 1.00 means no measurable cost; the target is at least 0.95.

Requests per second on a shared virtual machine swing by 20% from one run
to the next, for both servers alike.  ``--instructions`` measures what does
not swing: the instructions each server executes per request, counted by
valgrind's callgrind (which counts, not times).  Each server runs under
callgrind for two numbers of requests from one client, and the difference
divided by the difference in requests is its cost per request, start-up
and stop excluded.  The ratio is bare's count over classicnet's.  (Not for
the forking model: its work is done in its children.)
"""

import argparse
import math
import os
import selectors
import shutil
import socket
import socketserver
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

MESSAGE = b"x" * 64
REQUESTS_PER_CONNECTION = 100
RESEND_AFTER = 0.2
# Processes of the prefork servers, threads of the UDP pool (--workers N).
WORKERS = os.cpu_count() or 2
# Milliseconds each UDP answer waits (--udp-delay MS: classicnet's slow
# handler, and the same wait in the bare one); 0 is plain echo.
DELAY = 0.0

# The bare servers each classicnet model is compared to: its own, unless
# listed here.  (A TCP pool has no bare counterpart, nor a UDP prefork.)
BASELINES = {("prefork", "tcp"): ["prefork"], ("pool", "udp"): ["plain", "threading"],
             ("pool", "tcp"): [], ("prefork", "udp"): []}
BARE_CLASSES = {
    ("plain", "tcp"): "TCPServer", ("threading", "tcp"): "ThreadingTCPServer",
    ("forking", "tcp"): "ForkingTCPServer", ("plain", "udp"): "UDPServer",
    ("threading", "udp"): "ThreadingUDPServer", ("forking", "udp"): "ForkingUDPServer",
}


# The bare servers' handlers have the same shape as classicnet's echo
# handlers (a transform() hook called per chunk), so that the difference
# measured is the framework's alone, not the handlers'.

class BareEcho(socketserver.BaseRequestHandler):
    def handle(self):
        while True:
            data = self.request.recv(65536)
            if not data:
                return
            self.request.sendall(self.transform(data))

    def transform(self, data):
        return data


class BareEchoDatagram(socketserver.BaseRequestHandler):
    def handle(self):
        data, sock = self.request
        if data:
            sock.sendto(self.transform(data), self.client_address)

    def transform(self, data):
        if DELAY:
            time.sleep(DELAY / 1000)    # as classicnet's slow handler
        return data


def serve_bare(model, transport):
    """Run the bare socketserver echo server (this script, --bare MODEL TRANSPORT)."""
    import signal
    import threading
    if model == "prefork":
        return serve_bare_prefork()
    server_class = getattr(socketserver, BARE_CLASSES[model, transport])
    server_class.request_queue_size = socket.SOMAXCONN
    server_class.allow_reuse_address = transport == "tcp"
    handler = BareEcho if transport == "tcp" else BareEchoDatagram
    with server_class(("127.0.0.1", 0), handler) as server:
        # SIGTERM stops it cleanly (so that valgrind can report), from a
        # thread: shutdown() waits for serve_forever(), which runs here.
        signal.signal(signal.SIGTERM, lambda *_: threading.Thread(
            target=server.shutdown).start())
        host, port = server.server_address
        print(f"bare: serving echo ({model}, {transport}) on {host}:{port}", flush=True)
        server.serve_forever()


def serve_bare_prefork(workers=None):
    """N processes, forked once, each calling serve_forever() on one socket."""
    import signal
    workers = workers or WORKERS
    socketserver.TCPServer.request_queue_size = socket.SOMAXCONN
    socketserver.TCPServer.allow_reuse_address = True
    server = socketserver.TCPServer(("127.0.0.1", 0), BareEcho)
    children = []
    for _ in range(workers):
        pid = os.fork()
        if pid == 0:
            server.serve_forever()      # until SIGTERM ends the process
        children.append(pid)
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    host, port = server.server_address
    print(f"bare: serving echo (prefork, tcp) on {host}:{port}", flush=True)
    signal.sigwait({signal.SIGTERM})
    for pid in children:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    server.server_close()


def start(command, pin):
    from classicnet.endpoints import address_in_line
    if pin:
        command = ["taskset", "-c", "0", *command]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    return process, address_in_line(process.stdout.readline())


def cpu_of(pid, children=True):
    """CPU seconds a process and its children, reaped or alive (prefork
    workers), have used so far (Linux /proc), or None.  Read while the
    server runs, so that neither start-up nor shutting down (classicnet
    stops gracefully, bare socketserver is killed by SIGTERM) is counted."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    own = sum(int(field) for field in fields[11:15]) / os.sysconf("SC_CLK_TCK")
    if not children:
        return own
    return own + sum(cpu_of(child, False) or 0 for child in live_children(pid))


def live_children(pid):
    """The pids of *pid*'s child processes (Linux /proc)."""
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{entry}/stat") as stat:
                parent = int(stat.read().rsplit(")", 1)[1].split()[1])
        except OSError:
            continue                # it ended while we looked
        if parent == pid:
            yield int(entry)


# --- UDP load ---------------------------------------------------------------

def udp_clients(address, clients, duration, start_at):
    """One process's share of UDP clients: each keeps one datagram in flight.

    Returns ``(answered inside the window, latencies, resent)``.
    """
    selector = selectors.DefaultSelector()
    sent_at = {}
    for _ in range(clients):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.connect(address)
        sock.setblocking(False)
        selector.register(sock, selectors.EVENT_READ)
        sent_at[sock] = None
    time.sleep(max(0.0, start_at - time.monotonic()))
    end = start_at + duration
    answered, resent, latencies = 0, 0, []
    for sock in sent_at:
        sock.send(MESSAGE)
        sent_at[sock] = time.monotonic()
    while True:
        now = time.monotonic()
        if now >= end:
            break
        for key, _ in selector.select(min(RESEND_AFTER, end - now)):
            sock = key.fileobj
            try:
                sock.recv(65536)
            except (BlockingIOError, ConnectionRefusedError):
                continue
            now = time.monotonic()
            latencies.append(now - sent_at[sock])
            answered += now <= end
            sock.send(MESSAGE)
            sent_at[sock] = now
        for sock, when in sent_at.items():
            if time.monotonic() - when > RESEND_AFTER:
                sock.send(MESSAGE)
                sent_at[sock] = time.monotonic()
                resent += 1
    for sock in sent_at:
        sock.close()
    return answered, latencies, resent


def run_udp_load(address, clients, duration, processes):
    """Spread *clients* over *processes* load processes; merge what they saw."""
    import multiprocessing
    processes = max(1, min(processes, clients))
    start_at = time.monotonic() + 0.3
    shares = [len(range(first, clients, processes)) for first in range(processes)]
    if processes == 1:
        results = [udp_clients(address, clients, duration, start_at)]
    else:
        with multiprocessing.get_context("fork").Pool(processes) as pool:
            results = pool.starmap(udp_clients, [(address, share, duration, start_at)
                                                 for share in shares])
    answered = sum(result[0] for result in results)
    latencies = sorted(latency for result in results for latency in result[1])
    resent = sum(result[2] for result in results)
    return answered, latencies, resent


# --- one run, one comparison --------------------------------------------------

def percentile(latencies, fraction):
    if not latencies:
        return float("nan")
    return latencies[min(len(latencies) - 1, math.ceil(fraction * len(latencies)) - 1)]


def server_command(kind, model, transport):
    delayed = DELAY and transport == "udp"
    if kind == "classicnet":
        flag = [f"--{model}"] + ([str(WORKERS)] if model in ("prefork", "pool") else [])
        handler = ["slow", "--delay", str(DELAY)] if delayed else ["echo"]
        return [sys.executable, "-m", "classicnet", *handler, *flag,
                f"--{transport}", "--port", "0", "-q", "--max-connections", "0",
                "--udp-rate", "0"]
    return [sys.executable, os.path.abspath(__file__), "--bare", model, transport,
            "--workers", str(WORKERS), "--udp-delay", str(DELAY if delayed else 0)]


def one_run(kind, model, transport, connections, duration, pin):
    """Requests per second of one server under one load, its p99 latency
    (ms), and the server's CPU microseconds per request (children
    included, start-up excluded)."""
    # Imported here, so that the bare server's process imports nothing of it.
    from classicnet.lab.load import run_load
    process, address = start(server_command(kind, model, transport), pin)
    processes = 1 if pin else (os.cpu_count() or 1)
    try:
        before = cpu_of(process.pid)
        if transport == "udp":
            completed, latencies, resent = run_udp_load(address, connections, duration,
                                                        processes)
            problems = f"resent {resent}" if resent else ""
        else:
            result, _ = run_load(address, connections, MESSAGE, REQUESTS_PER_CONNECTION,
                                 duration, processes=processes, drain=2.0)
            completed, latencies = result.completed, sorted(result.latencies)
            problems = (f"errors {result.errors}, unfinished {result.unfinished}"
                        if result.errors or result.unfinished else "")
        after = cpu_of(process.pid)
    finally:
        process.terminate()
        process.wait()
        process.stdout.close()
    if problems:
        print(f"  note: {kind} {model} {transport} {connections}: {problems}", flush=True)
    cpu = None
    if before is not None and after is not None and latencies:
        cpu = (after - before) / len(latencies) * 1e6
    return completed / duration, percentile(latencies, 0.99) * 1000, cpu


def compare(model, transport, connections, runs, duration):
    """Run classicnet's *model* and its baselines in turn, *runs* times each;
    return ``{(kind, model): [figures of each run]}`` and whether pinned."""
    pin = connections == 1 and shutil.which("taskset") is not None \
        and hasattr(os, "sched_setaffinity")
    if pin:
        everywhere = os.sched_getaffinity(0)
        os.sched_setaffinity(0, {0})
    servers = [("classicnet", model)] + [
        ("bare", bare) for bare in BASELINES.get((model, transport), [model])]
    figures = {server: [] for server in servers}
    try:
        for number in range(runs):
            order = servers if number % 2 == 0 else servers[::-1]
            for kind, which in order:
                figures[kind, which].append(one_run(kind, which, transport,
                                                    connections, duration, pin))
    finally:
        if pin:
            os.sched_setaffinity(0, everywhere)
    return figures, pin


def median_of(figures, index):
    values = [figure[index] for figure in figures if figure[index] is not None]
    return statistics.median(values) if values else float("nan")


# --- instructions per request (valgrind) --------------------------------------

def round_trips(address, transport, count):
    """*count* requests from one client, each waiting for its answer."""
    kind = socket.SOCK_STREAM if transport == "tcp" else socket.SOCK_DGRAM
    with socket.socket(socket.AF_INET, kind) as client:
        client.settimeout(60)
        client.connect(address)
        for _ in range(count):
            client.send(MESSAGE)
            answer = client.recv(65536)
            while len(answer) < len(MESSAGE):
                answer += client.recv(65536)


def instructions(kind, model, transport, count):
    """Instructions a server executes, start to stop, serving *count* requests."""
    output = subprocess.Popen(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
         *server_command(kind, model, transport)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONHASHSEED": "0"})
    from classicnet.endpoints import address_in_line
    address = address_in_line(output.stdout.readline())
    round_trips(address, transport, count)
    output.terminate()
    _, report = output.communicate()
    collected = [line for line in report.splitlines() if "Collected :" in line]
    return int(collected[-1].split(":")[1])


def instructions_per_request(kind, model, transport, counts=(500, 2500)):
    low, high = (instructions(kind, model, transport, count) for count in counts)
    return (high - low) / (counts[1] - counts[0])


def compare_instructions(transports, models):
    # A forking server's work is in its children, which callgrind would
    # count as programs of their own: only the other models are counted.
    models = [model for model in models if model not in ("forking", "prefork")]
    print("instructions per request, counted by callgrind (one client; "
          f"PYTHONHASHSEED=0); {sys.version.split()[0]}", flush=True)
    print(f"{'transport':<9} {'model':<10} {'classicnet':>11} {'bare':>8} {'ratio':>6}")
    worst = float("inf")
    for transport in transports:
        for model in models:
            cn = instructions_per_request("classicnet", model, transport)
            bare = instructions_per_request("bare", model, transport)
            worst = min(worst, bare / cn)
            print(f"{transport:<9} {model:<10} {cn:>11,.0f} {bare:>8,.0f} "
                  f"{bare / cn:>6.2f}", flush=True)
    print(f"lowest ratio: {worst:.2f} (bare's instructions over classicnet's)")


def main(argv=None):
    global WORKERS, DELAY
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--duration", type=float, default=1.0, help="seconds per run")
    parser.add_argument("--transports", default="tcp,udp")
    parser.add_argument("--models", default="plain,threading,forking,prefork,pool")
    parser.add_argument("--workers", type=int, default=WORKERS,
                        help="processes of prefork, threads of the UDP pool "
                             "(default: one per core)")
    parser.add_argument("--connections", default="1,10,100")
    parser.add_argument("--instructions", action="store_true",
                        help="count instructions per request with valgrind instead")
    parser.add_argument("--udp-delay", type=float, default=0.0, metavar="MS",
                        help="UDP only: answer after MS milliseconds (classicnet's "
                             "slow handler), to show the pool's concurrency")
    parser.add_argument("--bare", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    WORKERS, DELAY = args.workers, args.udp_delay
    if args.bare:
        return serve_bare(*args.bare)    # a process with nothing else imported
    transports = args.transports.split(",")
    models = args.models.split(",")
    if args.instructions:
        return compare_instructions(transports, models)
    counts = [int(n) for n in args.connections.split(",")]
    print(f"settings: {args.runs} runs of {args.duration:g} s per server, alternating; "
          f"{len(MESSAGE)}-byte echo, {REQUESTS_PER_CONNECTION} requests per TCP "
          f"connection; {WORKERS} prefork processes and UDP pool threads; "
          f"UDP answers wait {DELAY:g} ms; "
          f"{os.cpu_count()} cores; Python {sys.version.split()[0]}; "
          f"load average {os.getloadavg()[0]:.1f}", flush=True)
    print("ratio: classicnet's median requests/s over bare's.  p99: the 99th "
          "percentile latency in ms (median of the runs).  cpu us/req: the server's "
          "CPU time per answered request (median; children included, start-up and "
          "stop excluded), which a busy machine disturbs far less.")
    print(f"{'transport':<9} {'model (/bare)':<17} {'conns':>5} {'classicnet/s':>12} "
          f"{'bare/s':>8} {'ratio':>6} {'p99 cn/bare':>13} {'cpu us/req cn/bare':>19}  "
          f"pinned  runs (classicnet | bare)", flush=True)
    worst = float("inf")
    for transport in transports:
        for model in models:
            if not BASELINES.get((model, transport), [model]):
                continue
            for connections in counts:
                figures, pin = compare(model, transport, connections, args.runs,
                                       args.duration)
                for line, ratio in rows(model, transport, connections, figures, pin):
                    print(line, flush=True)
                    if (model, transport) != ("pool", "udp"):
                        worst = min(worst, ratio)
    lowest = f"{worst:.2f}" if worst != float("inf") else "-"
    print(f"lowest ratio: {lowest} (target: at least 0.95; the UDP pool's, not "
          f"counted here: at least 0.5 of plain, 4x threading); load average now "
          f"{os.getloadavg()[0]:.1f}")
    return 0


def rows(model, transport, connections, figures, pin):
    """One line of the table for each baseline, and its ratio."""
    ours = figures["classicnet", model]
    for (kind, which), theirs in figures.items():
        if kind != "bare":
            continue
        rate, bare_rate = median_of(ours, 0), median_of(theirs, 0)
        ratio = rate / bare_rate if bare_rate else float("nan")
        label = model if which == model else f"{model}/{which}"
        p99 = f"{median_of(ours, 1):.2f}/{median_of(theirs, 1):.2f}"
        cpu = f"{median_of(ours, 2):.1f}/{median_of(theirs, 2):.1f}"
        runs = " | ".join(" ".join(f"{f[0]:.0f}" for f in each) for each in (ours, theirs))
        yield (f"{transport:<9} {label:<17} {connections:>5} {rate:>12,.0f} "
               f"{bare_rate:>8,.0f} {ratio:>6.2f} {p99:>13} {cpu:>19}  "
               f"{'yes' if pin else 'no':<6}  {runs}"), ratio


if __name__ == "__main__":
    sys.exit(main())
