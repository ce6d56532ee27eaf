#!/usr/bin/env python3
"""How much does classicnet cost over bare socketserver?  Echo against echo.

    python scripts/bench_overhead.py [--runs 5] [--duration 1] [--models ...]

For each model (plain, threading, forking) and each number of connections
(1, 10, 100), the same load (the lab's load generator: 64-byte messages,
100 requests per connection) is put on two servers in turn:

* classicnet:  python -m classicnet echo --MODEL -q
* bare:        socketserver.TCPServer (or ThreadingTCPServer, ForkingTCPServer)
               with a ten-line echo handler, socketserver's defaults except
               request_queue_size = SOMAXCONN, as classicnet, so that 100
               clients connecting at once are not refused (backlog 5).

The two alternate (A B B A A ...) so that a change in the machine's load
hurts both alike, and the ratio compares the medians of --runs runs each.
With one connection the server and the load generator are pinned to the
same core (taskset and sched_setaffinity, where present): unpinned, the
figures swing by a factor of two with the scheduler's choices.

A ratio of 1.00 means no measurable cost; the target is at least 0.95.
"""

import argparse
import os
import shutil
import socket
import socketserver
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

MESSAGE = b"x" * 64
REQUESTS_PER_CONNECTION = 100
BARE_CLASSES = {"plain": "TCPServer", "threading": "ThreadingTCPServer",
                "forking": "ForkingTCPServer"}


class BareEcho(socketserver.BaseRequestHandler):
    def handle(self):
        while True:
            data = self.request.recv(65536)
            if not data:
                return
            self.request.sendall(data)


def serve_bare(model):
    """Run the bare socketserver echo server (this script, --bare MODEL)."""
    server_class = getattr(socketserver, BARE_CLASSES[model])
    server_class.request_queue_size = socket.SOMAXCONN
    server_class.allow_reuse_address = True
    with server_class(("127.0.0.1", 0), BareEcho) as server:
        host, port = server.server_address
        print(f"bare: serving echo ({model}) on {host}:{port}", flush=True)
        server.serve_forever()


def start(command, pin):
    if pin:
        command = ["taskset", "-c", "0", *command]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    line = process.stdout.readline()
    host, port = line.rsplit(" on ", 1)[1].strip().rsplit(":", 1)
    return process, (host, int(port))


def cpu_of(pid):
    """CPU seconds a process and its reaped children have used so far (Linux
    /proc), or None.  Read while the server runs, so that neither start-up
    nor shutting down (classicnet stops gracefully, bare socketserver is
    killed by SIGTERM) is counted."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return sum(int(field) for field in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def one_run(kind, model, connections, duration, pin):
    """Requests per second of one server under one load, and the server's
    CPU microseconds per request (children included, start-up excluded)."""
    # Imported here, so that the bare server's process imports nothing of it.
    from classicnet.lab.load import run_load
    if kind == "classicnet":
        command = [sys.executable, "-m", "classicnet", "echo", f"--{model}",
                   "--port", "0", "-q"]
    else:
        command = [sys.executable, os.path.abspath(__file__), "--bare", model]
    process, address = start(command, pin)
    try:
        before = cpu_of(process.pid)
        result, _ = run_load(address, connections, MESSAGE, REQUESTS_PER_CONNECTION,
                             duration, processes=1 if pin else None, drain=2.0)
        after = cpu_of(process.pid)
    finally:
        process.terminate()
        process.wait()
        process.stdout.close()
    if result.errors or result.unfinished:
        print(f"  note: {kind} {model} {connections}: errors {result.errors}, "
              f"unfinished {result.unfinished}", flush=True)
    answered = len(result.latencies)
    cpu = None
    if before is not None and after is not None and answered:
        cpu = (after - before) / answered * 1e6
    return result.completed / duration, cpu


def compare(model, connections, runs, duration):
    pin = connections == 1 and shutil.which("taskset") is not None \
        and hasattr(os, "sched_setaffinity")
    if pin:
        everywhere = os.sched_getaffinity(0)
        os.sched_setaffinity(0, {0})
    rates = {"classicnet": [], "bare": []}
    cpus = {"classicnet": [], "bare": []}
    try:
        for number in range(runs):
            order = ("classicnet", "bare") if number % 2 == 0 else ("bare", "classicnet")
            for kind in order:
                rate, cpu = one_run(kind, model, connections, duration, pin)
                rates[kind].append(rate)
                if cpu is not None:
                    cpus[kind].append(cpu)
    finally:
        if pin:
            os.sched_setaffinity(0, everywhere)
    medians = {kind: statistics.median(values) for kind, values in rates.items()}
    ratio = medians["classicnet"] / medians["bare"] if medians["bare"] else float("nan")
    cpu = {kind: statistics.median(values) if values else float("nan")
           for kind, values in cpus.items()}
    return medians, ratio, pin, rates, cpu


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--duration", type=float, default=1.0, help="seconds per run")
    parser.add_argument("--models", default="plain,threading,forking")
    parser.add_argument("--connections", default="1,10,100")
    parser.add_argument("--bare", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.bare:
        return serve_bare(args.bare)    # a process with nothing else imported
    models = args.models.split(",")
    counts = [int(n) for n in args.connections.split(",")]
    print(f"settings: {args.runs} runs of {args.duration:g} s per server, alternating; "
          f"{len(MESSAGE)}-byte echo, {REQUESTS_PER_CONNECTION} requests per "
          f"connection; {os.cpu_count()} cores; Python {sys.version.split()[0]}; "
          f"load average {os.getloadavg()[0]:.1f}", flush=True)
    print("ratio: classicnet's median requests/s over bare's.  cpu us/req: the "
          "server's CPU time per answered request (median; children included, "
          "start-up and stop excluded), which a busy machine disturbs far less.")
    print(f"{'model':<10} {'conns':>5} {'classicnet req/s':>17} {'bare req/s':>11} "
          f"{'ratio':>6}  {'cpu us/req (cn/bare)':>20}  pinned  "
          f"runs (classicnet | bare)", flush=True)
    worst = float("inf")
    for model in models:
        for connections in counts:
            medians, ratio, pin, rates, cpu = compare(model, connections, args.runs,
                                                      args.duration)
            worst = min(worst, ratio)
            runs = " ".join(f"{r:.0f}" for r in rates["classicnet"]) + " | " + \
                " ".join(f"{r:.0f}" for r in rates["bare"])
            cpu_text = f"{cpu['classicnet']:.1f}/{cpu['bare']:.1f}"
            print(f"{model:<10} {connections:>5} {medians['classicnet']:>17,.0f} "
                  f"{medians['bare']:>11,.0f} {ratio:>6.2f}  {cpu_text:>20}  "
                  f"{'yes' if pin else 'no':<6}  {runs}", flush=True)
    print(f"lowest ratio: {worst:.2f} (target: at least 0.95); load average now "
          f"{os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
