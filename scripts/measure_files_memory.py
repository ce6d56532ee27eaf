#!/usr/bin/env python3
"""Measure the files server's memory per connection: idle clients, then uploads.

A ``python -m classicnet files --threading`` server is started, and its
resident memory (VmRSS in /proc) is read three times:

    at rest       no client
    idle          N clients connected, each after one answered ``list``,
                  so every connection has its thread and its handler
    uploading     N more clients, each in the middle of a large put: its
                  header sent and 2 MiB of its body, of which the server
                  has written at least 1 MiB (seen in its temporary file)

and the differences are divided by N.  Linux only (/proc).

Usage:  python scripts/measure_files_memory.py [--clients 200] [--tree PATH]

``--tree`` measures the server of another checkout (to compare with the
code before a change).
"""

import argparse
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from classicnet import framing                      # noqa: E402
from classicnet.process import ServerProcess        # noqa: E402

DECLARED = 1 << 30          # what each upload announces
SENT = 2 << 20              # what each upload sends before it stops
WRITTEN = 1 << 20           # what the server must have written of it


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def threads(pid):
    return len(os.listdir(f"/proc/{pid}/task"))


def wait_for(condition, what, timeout=60):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"measure_files_memory: {what} not within {timeout} s")
        time.sleep(0.05)


def idle_client(address):
    sock = socket.create_connection(address, timeout=30)
    framing.send_message(sock, {"op": "list"})
    framing.MessageReader(sock).read_header()
    return sock


def uploading_client(address, number):
    sock = socket.create_connection(address, timeout=30)
    framing.send_message(sock, {"op": "put", "name": f"upload-{number}",
                                "size": DECLARED})
    sock.sendall(bytes(SENT))
    return sock


def written_enough(root, count):
    sizes = [entry.stat().st_size for entry in os.scandir(root)
             if entry.name.endswith(".part")]
    return len(sizes) == count and all(size >= WRITTEN for size in sizes)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=200,
                        help="idle clients, and then uploading clients (default: 200)")
    parser.add_argument("--tree", default=ROOT,
                        help="the classicnet checkout whose server is measured")
    args = parser.parse_args()
    count = args.clients
    with tempfile.TemporaryDirectory(prefix="files-memory-", dir="/dev/shm") as root:
        server = ServerProcess(["files", "--threading", "--port", "0", "--root", root,
                                "--max-size", str(DECLARED), "--timeout", "300",
                                "--max-connections", str(2 * count + 10), "-q"],
                               cwd=args.tree)
        clients = []
        try:
            address = server.wait_ready()
            pid = server.process.pid
            clients.append(idle_client(address))       # imports done, caches warm
            at_rest = rss_kib(pid)
            clients += [idle_client(address) for _ in range(count)]
            idle = rss_kib(pid)
            idle_threads = threads(pid)
            clients += [uploading_client(address, n) for n in range(count)]
            wait_for(lambda: written_enough(root, count), "every upload under way")
            uploading = rss_kib(pid)
            upload_threads = threads(pid)
        finally:
            for sock in clients:
                sock.close()
            server.stop()
    print(f"settings: {count} idle then {count} uploading clients, threading model, "
          f"files in /dev/shm, Python {platform.python_version()}, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}, "
          f"tree {args.tree}, git {git_head(args.tree)}")
    print(f"server RSS: at rest {at_rest / 1024:.1f} MiB, with {count} idle "
          f"{idle / 1024:.1f} MiB ({idle_threads} threads), with {count} uploading "
          f"more {uploading / 1024:.1f} MiB ({upload_threads} threads)")
    print(f"per idle connection: {(idle - at_rest) / count:.0f} KiB (target <= 100 KiB)")
    print(f"per upload in progress: {(uploading - idle) / count / 1024:.2f} MiB "
          f"(target <= 1.2 MiB)")


def git_head(tree):
    try:
        return subprocess.run(["git", "-C", tree, "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


if __name__ == "__main__":
    main()
