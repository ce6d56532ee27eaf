#!/usr/bin/env python3
"""Benchmark the files server: get and put of one large file over loopback.

Each transfer is timed against two baselines measured in the same run:

    baseline a bare ``socket.sendfile`` from another process into a
             ``recv_into`` reader, the fastest way Python can move a file
             through a socket (the yardstick of an unverified transfer)
    sha256   one core hashing the same number of bytes in memory, the
             fastest any verified transfer can go (each one hashes every
             byte once, in one thread, and a sha256 cannot be split)

The runs alternate (baseline, sha256, get, put, ...) so that load from
other programs falls on all of them alike, and the medians are compared.

    get         the files server (a separate process) sends with sendfile
                a file whose sha256 it knows; this process reads through
                recv_into, as the baseline does
    cold-get    the same, for a file the server has not hashed yet (it was
                touched before the run): the header, which carries the
                sha256, waits for the whole file to be hashed
    put         this process sends with sendfile; the server receives and
                writes while a second thread hashes
    client-get  classicnet.fileclient: receives and writes while a second
                thread hashes
    client-put  classicnet.fileclient: hashes the file (reading while a
                second thread hashes), then sends it with sendfile, since
                the request's header carries the sha256

Usage:  python scripts/bench_files.py [--size 1G] [--runs 5] [--dir /dev/shm]
"""

import argparse
import hashlib
import os
import platform
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from classicnet import fileclient, framing                      # noqa: E402
from classicnet.process import ServerProcess, ServerProcessError  # noqa: E402
from classicnet.quantities import byte_count                     # noqa: E402

BUFFER = memoryview(bytearray(framing.CHUNK_SIZE))
HASHED = memoryview(os.urandom(16 << 20))     # hashed again and again by "sha256"

# The baseline sender, run as a separate process like the files server.
BASELINE_SENDER = """
import socket, sys
path = sys.argv[1]
listener = socket.create_server(("127.0.0.1", 0))
print(listener.getsockname()[1], flush=True)
while True:
    connection, _ = listener.accept()
    with connection, open(path, "rb") as file:
        connection.sendfile(file)
"""


def receive(sock, size):
    """Read *size* bytes through one reused buffer and throw them away."""
    left = size
    while left:
        got = sock.recv_into(BUFFER[:min(left, len(BUFFER))])
        if not got:
            raise EOFError(f"{left} bytes never arrived")
        left -= got


def start_sender(source):
    """Start the baseline sender; return it and the port from its first line."""
    process = subprocess.Popen([sys.executable, "-c", BASELINE_SENDER, source],
                               stdout=subprocess.PIPE, text=True)
    return process, int(process.stdout.readline())


def start_files_server(root, size):
    """Start ``python -m classicnet files``; return it once it listens, and its port."""
    server = ServerProcess(["files", "--port", "0", "--root", root,
                            "--max-size", str(size), "-q"], cwd=ROOT)
    try:
        return server, server.wait_ready()[1]
    except ServerProcessError:
        server.stop()
        raise


def baseline(port, size, path):
    with socket.create_connection(("127.0.0.1", port)) as sock:
        receive(sock, size)


def get(port, size, path):
    with socket.create_connection(("127.0.0.1", port)) as sock:
        framing.send_message(sock, {"op": "get", "name": "big"})
        reader = framing.MessageReader(sock)
        assert reader.read_header()["size"] == size
        receive(sock, size)


def put(port, size, path):
    with socket.create_connection(("127.0.0.1", port)) as sock, open(path, "rb") as file:
        framing.send_message(sock, {"op": "put", "name": "uploaded", "size": size})
        sock.sendfile(file)
        assert framing.MessageReader(sock).read_header()["ok"] is True


def cold_get(port, size, path):
    get(port, size, path)


def sha256(port, size, path):
    """One core hashing *size* bytes from memory, through 1 MiB views."""
    digest = hashlib.sha256()
    left = size
    while left:
        for start in range(0, min(left, len(HASHED)), 1 << 20):
            digest.update(HASHED[start:start + min(1 << 20, left - start)])
        left -= min(left, len(HASHED))
    digest.hexdigest()


def write(port, size, path):
    """Write *size* bytes to a new file beside *path*, as a receiver must."""
    target = path + ".written"
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    try:
        left = size
        while left:
            left -= os.write(fd, HASHED[:min(left, 1 << 20)])
    finally:
        os.close(fd)
        os.unlink(target)


def recv(port, size, path):
    """Receive *size* bytes that another thread of this process sends."""
    sender, receiver = socket.socketpair()

    def send():
        with sender:
            left = size
            while left:
                sender.sendall(HASHED[:min(left, len(HASHED))])
                left -= min(left, len(HASHED))
    thread = threading.Thread(target=send)
    thread.start()
    with receiver:
        receive(receiver, size)
    thread.join()


def client_get(port, size, path):
    fileclient.get(("127.0.0.1", port), "big", os.path.join(os.path.dirname(path),
                                                             "downloaded"))


def client_put(port, size, path):
    fileclient.put(("127.0.0.1", port), path, "uploaded")


def remove_outputs(work):
    """Remove what a transfer wrote, outside the timing: each put makes a new file."""
    for path in (os.path.join(work, "root", "uploaded"), os.path.join(work, "downloaded")):
        if os.path.exists(path):
            os.unlink(path)


TRANSFERS = {"get": get, "cold-get": cold_get, "put": put, "client-get": client_get,
             "client-put": client_put}

# What one verified transfer costs, stage by stage (--stages): this process
# alone, so their CPU time is the "client" column.
STAGES = {"recv": recv, "write": write}

# The transfers that hash every byte: compared with the sha256 rate.
VERIFIED = {"cold-get", "put", "client-get", "client-put"}


def cpu_seconds(pid):
    """The CPU time (user + system) process *pid* has used so far, in seconds."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_memory_mb(pid):
    """The peak resident memory (VmHWM) of process *pid*, in MB."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def make_file(path, size):
    """Write *size* random bytes to *path*, and on to the disk.

    The fsync matters: otherwise the kernel writes the new file back to
    disk some 30 s later, in the middle of the timed runs.
    """
    with open(path, "wb") as file:
        left = size
        while left:
            chunk = os.urandom(min(left, 1 << 20))
            file.write(chunk)
            left -= len(chunk)
        file.flush()
        os.fsync(file.fileno())


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=byte_count, default=byte_count("1G"),
                        help="file size, e.g. 256M or 1G (default: 1G)")
    parser.add_argument("--runs", type=int, default=5,
                        help="runs of each transfer, alternated (default: 5)")
    parser.add_argument("--dir", default=None,
                        help="where the files live (default: the system's temporary "
                             "directory; /dev/shm keeps the disk out of the figures)")
    parser.add_argument("--only", default=None, metavar="NAMES",
                        help="comma-separated transfers to run besides the baseline "
                             "(default: all of " + ", ".join(TRANSFERS) + ")")
    parser.add_argument("--stages", action="store_true",
                        help="also time the stages of a verified receive alone, in "
                             "this process: recv (a socketpair) and write (a new file)")
    args = parser.parse_args()
    size = args.size
    chosen = ["baseline", "sha256"] + (args.only.split(",") if args.only
                                       else list(TRANSFERS))
    if args.stages:
        chosen += list(STAGES)
    unknown = set(chosen) - set(TRANSFERS) - set(STAGES) - {"baseline", "sha256"}
    if unknown:
        parser.error(f"unknown transfer {sorted(unknown)[0]!r}; "
                     f"choose from: {', '.join(TRANSFERS)}")

    with tempfile.TemporaryDirectory(prefix="bench-files-", dir=args.dir) as work:
        root = os.path.join(work, "root")
        os.mkdir(root)
        source = os.path.join(work, "source")
        make_file(source, size)
        os.link(source, os.path.join(root, "big"))
        files_server, files_port = start_files_server(root, size)
        sender, sender_port = start_sender(source)
        try:
            load_at_start = os.getloadavg()[0]
            get(files_port, size, source)     # the server hashes "big" once here
            ports = {"baseline": sender_port}
            servers = dict.fromkeys(["baseline", "sha256", *STAGES], sender.pid)
            functions = dict(TRANSFERS, **STAGES, baseline=baseline, sha256=sha256)
            rates = {name: [] for name in chosen}
            cpu = {name: [] for name in chosen}     # (server, client) seconds per GiB
            for _ in range(args.runs):
                for name in chosen:
                    transfer = functions[name]
                    if name == "cold-get":      # a new ctime: the server's digest is stale
                        os.utime(os.path.join(root, "big"))
                    server_pid = servers.get(name, files_server.process.pid)
                    server_cpu, client_cpu = cpu_seconds(server_pid), time.process_time()
                    started = time.perf_counter()
                    transfer(ports.get(name, files_port), size, source)
                    rates[name].append(size / (time.perf_counter() - started) / 1e6)
                    cpu[name].append(((cpu_seconds(server_pid) - server_cpu) * 2**30 / size,
                                      (time.process_time() - client_cpu) * 2**30 / size))
                    remove_outputs(work)
            memory = {"files server": peak_memory_mb(files_server.process.pid),
                      "baseline sender": peak_memory_mb(sender.pid),
                      "this client": resource.getrusage(
                          resource.RUSAGE_SELF).ru_maxrss / 1024}
        finally:
            files_server.stop()
            sender.terminate()
            sender.wait()
            sender.stdout.close()

    print(f"settings: size {size} bytes ({size / 2**20:.0f} MiB), {args.runs} runs "
          f"alternated, loopback, files in {args.dir or tempfile.gettempdir()}, "
          f"Python {platform.python_version()}, "
          f"{os.cpu_count()} CPUs, load average {load_at_start:.2f} at the start, "
          f"{os.getloadavg()[0]:.2f} at the end")
    base = statistics.median(rates["baseline"])
    hash_rate = statistics.median(rates["sha256"])
    print(f"{'transfer':<12} {'median MB/s':>12} {'min':>8} {'max':>8} {'ratio':>7}"
          f" {'/sha256':>8}   CPU s/GiB: server  client   server cores")
    for name, values in rates.items():
        median = statistics.median(values)
        server_cpu = statistics.median(server for server, _ in cpu[name])
        client_cpu = statistics.median(client for _, client in cpu[name])
        versus_hash = f"{median / hash_rate:8.2f}" if name in VERIFIED else " " * 8
        print(f"{name:<12} {median:12.0f} {min(values):8.0f} {max(values):8.0f} "
              f"{median / base:7.2f} {versus_hash}   {server_cpu:17.2f} {client_cpu:7.2f} "
              f"{server_cpu * median * 1e6 / 2**30:14.2f}")
    print_limits(rates, cpu, hash_rate)
    print("peak memory: " + ", ".join(f"{who} {mb:.1f} MB" for who, mb in memory.items()))
    print("the server of the baseline is the bare sendfile sender; CPU time is "
          "user + system, whatever the load; server cores = server CPU time / "
          "transfer time (above 1 when the server keeps both cores busy)")
    print("ratio = median / baseline's median; /sha256 = median / the sha256 row's "
          "median (one core hashing in memory, same run)")
    print("targets: get >= 0.90 of baseline; cold-get, put, client-get, client-put "
          ">= 0.85 of sha256; memory < 50 MB")


def print_limits(rates, cpu, hash_rate):
    """What bounds each verified transfer, from this run's own figures.

    CPU seconds per GiB hardly change with the load, so they say what an
    idle machine could do.  A verified receive (put, client-get) hashes,
    receives and writes every byte while the sender sends it: the CPU time
    of both processes shares the machine's cores, and the hash needs one
    core's worth of it.  A transfer whose header carries the sha256
    (cold-get, client-put) hashes the whole file before its first byte
    leaves, then moves it as get or put does.
    """
    cores = os.cpu_count() or 1

    def cpu_of(name):
        return sum(statistics.median(part[i] for part in cpu[name]) for i in (0, 1))

    hash_cpu = cpu_of("sha256")
    print(f"sha256 on one idle core: {hash_cpu:.2f} CPU s/GiB = "
          f"{2**30 / hash_cpu / 1e6:.0f} MB/s (measured in this run: {hash_rate:.0f} MB/s)")
    for name in ("put", "client-get"):
        if name in cpu:
            bound = min(cores / cpu_of(name), 1 / hash_cpu)
            print(f"limit of {name}: {cpu_of(name):.2f} CPU s/GiB (server + client) on "
                  f"{cores} cores: at most {bound * hash_cpu:.2f} of sha256 on an idle machine")
    for name, then in (("cold-get", "get"), ("client-put", "put")):
        if name in rates and then in rates:
            moved = statistics.median(rates[then]) / hash_rate   # in units of sha256
            print(f"limit of {name}: hash first, then {then} at {moved:.2f} of sha256: "
                  f"at most {1 / (1 + 1 / moved):.2f} of sha256")


if __name__ == "__main__":
    main()
