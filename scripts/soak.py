#!/usr/bin/env python3
"""Soak a classicnet server: N connections over M seconds, many of them rude.

    scripts/soak.py --model threading --connections 10000 --seconds 60

Starts ``python -m classicnet HANDLER --MODEL --port 0`` (with
``classicnet.process.ServerProcess``, which learns its address from its
events) and opens the connections at an even pace from several client threads, cycling through
five kinds of client:

    polite      sends --requests messages, reads each echo, closes
    reset       one message, then closes with SO_LINGER 0 (a reset)
    half-close  one message, shuts its sending side, reads to the end
    vanish      sends part of a message and resets without reading
    silent      connects and closes without a word

It prints the settings, the requests answered and the errors, and the
server's descriptors, threads, child processes and memory before, at their
peak, and after (read from /proc, so Linux only).  "after" is read once the
server has had a few seconds to settle; a growing count is a leak.

A benchmark, not a test: on a shared machine the rates are noisy, the
resource counts are not.
"""

import argparse
import os
import socket
import struct
import sys
import threading
import time
from collections import Counter

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from classicnet.process import ServerProcess, ServerProcessError    # noqa: E402

KINDS = ("polite", "reset", "half-close", "vanish", "silent")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="threading",
                        choices=("plain", "threading", "forking"))
    parser.add_argument("--handler", default="echo", choices=("echo", "upper"))
    parser.add_argument("--connections", type=int, default=10000, metavar="N")
    parser.add_argument("--seconds", type=float, default=60.0, metavar="M")
    parser.add_argument("--clients", type=int, default=8, metavar="C",
                        help="client threads opening connections (default: 8)")
    parser.add_argument("--requests", type=int, default=10, metavar="K",
                        help="messages per polite connection (default: 10)")
    parser.add_argument("--settle", type=float, default=5.0, metavar="S",
                        help="seconds the server may take to return to rest")
    return parser.parse_args(argv)


# --- the server and what it holds ------------------------------------------

def start_server(args):
    """``python -m classicnet HANDLER --MODEL --port 0 -q``, once it listens."""
    server = ServerProcess([args.handler, f"--{args.model}", "--port", "0", "-q"],
                           cwd=ROOT)
    try:
        server.wait_ready()
    except ServerProcessError:
        server.stop()
        raise
    return server


def resources(pid):
    """Descriptors, threads, child processes and resident memory of *pid*."""
    tasks = os.listdir(f"/proc/{pid}/task")
    children = 0
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/children") as listing:
                children += len(listing.read().split())
        except FileNotFoundError:
            pass
    with open(f"/proc/{pid}/status") as status:
        rss = next(int(line.split()[1]) for line in status if line.startswith("VmRSS"))
    return {"descriptors": len(os.listdir(f"/proc/{pid}/fd")),
            "threads": len(tasks), "children": children, "rss KiB": rss}


def settled(pid, before, seconds):
    """Resources once they are back to *before* (or after *seconds*)."""
    deadline = time.monotonic() + seconds
    while True:
        now = resources(pid)
        back = all(now[key] <= before[key] for key in ("descriptors", "threads",
                                                          "children"))
        if back or time.monotonic() >= deadline:
            return now
        time.sleep(0.05)


# --- the clients -----------------------------------------------------------

def one_connection(address, kind, number, requests):
    """Play one client of *kind*; return how many requests were answered."""
    client = socket.create_connection(address, timeout=10)
    try:
        if kind == "polite":
            for request in range(requests):
                message = b"soak %d.%d" % (number, request)
                client.sendall(message)
                expect(client, message)
            return requests
        if kind == "reset":
            client.sendall(b"then a reset")
            expect(client, b"then a reset")
            linger_zero(client)
            return 1
        if kind == "half-close":
            client.sendall(b"half closed")
            client.shutdown(socket.SHUT_WR)
            expect(client, b"half closed")
            if client.recv(1) != b"":
                raise ValueError("more bytes than were sent")
            return 1
        if kind == "vanish":
            client.sendall(b"x" * (1 + number % 4000))
            linger_zero(client)
        return 0
    finally:
        client.close()


def expect(client, message):
    received = b""
    while len(received) < len(message):
        chunk = client.recv(len(message) - len(received))
        if not chunk:
            raise EOFError(f"closed after {len(received)} of {len(message)} bytes")
        received += chunk
    if received != message and received != message.upper():
        raise ValueError("the echo differs from the message")


def linger_zero(client):
    client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


class Load:
    """Opens args.connections connections, evenly paced over args.seconds."""

    def __init__(self, args, address):
        self.args, self.address = args, address
        self.next_number = 0
        self.lock = threading.Lock()
        self.made = Counter()
        self.answered = 0
        self.errors = Counter()

    def take(self):
        with self.lock:
            number = self.next_number
            self.next_number += 1
        return number if number < self.args.connections else None

    def client_thread(self, started):
        interval = self.args.seconds / self.args.connections
        while (number := self.take()) is not None:
            delay = started + number * interval - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            kind = KINDS[number % len(KINDS)]
            try:
                answered = one_connection(self.address, kind, number, self.args.requests)
            except Exception as error:
                with self.lock:
                    self.errors[f"{kind}: {type(error).__name__}"] += 1
                continue
            with self.lock:
                self.made[kind] += 1
                self.answered += answered

    def run(self):
        started = time.monotonic()
        threads = [threading.Thread(target=self.client_thread, args=(started,))
                   for _ in range(self.args.clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return time.monotonic() - started


def sample_peaks(pid, peak, done):
    while not done.wait(0.1):
        try:
            now = resources(pid)
        except (FileNotFoundError, ProcessLookupError):
            return
        for key, value in now.items():
            peak[key] = max(peak[key], value)


def main(argv=None):
    args = parse_args(argv)
    server = start_server(args)
    pid, address = server.process.pid, server.address
    try:
        before = resources(pid)
        peak = dict(before)
        done = threading.Event()
        sampler = threading.Thread(target=sample_peaks, args=(pid, peak, done))
        sampler.start()
        load = Load(args, address)
        elapsed = load.run()
        done.set()
        sampler.join()
        after = settled(pid, before, args.settle)
        still_answers = one_connection(address, "polite", 0, 1) == 1
    finally:
        status = server.stop()
    report(args, load, elapsed, before, peak, after, still_answers, status)
    return 0 if not load.errors and still_answers else 1


def report(args, load, elapsed, before, peak, after, still_answers, status):
    print(f"soak: {args.handler} --{args.model}, {args.connections} connections "
          f"planned over {args.seconds:g} s, {args.clients} client threads, "
          f"{args.requests} requests per polite connection")
    print(f"machine: {os.cpu_count()} cores, load average "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())} at the end "
          "(shared with other work: rates are noisy)")
    made = sum(load.made.values())
    print(f"connections: {made} completed in {elapsed:.1f} s ({made / elapsed:.0f}/s): "
          + ", ".join(f"{kind} {load.made[kind]}" for kind in KINDS))
    print(f"requests answered: {load.answered} ({load.answered / elapsed:.0f}/s)")
    errors = sum(load.errors.values())
    print(f"errors: {errors}" + ("" if not errors else " (" + ", ".join(
        f"{name} {count}" for name, count in load.errors.most_common()) + ")"))
    print(f"{'server':<12} {'before':>8} {'peak':>8} {'after':>8}")
    for key in before:
        print(f"{key:<12} {before[key]:>8} {peak[key]:>8} {after[key]:>8}")
    back = all(after[key] <= before[key] for key in ("descriptors", "threads", "children"))
    print(f"back to rest: {'yes' if back else 'NO'}; still answers: "
          f"{'yes' if still_answers else 'NO'}; exit status after SIGTERM: {status}")


if __name__ == "__main__":
    sys.exit(main())
