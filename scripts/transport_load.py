"""TLS and Unix-domain rows for scripts/bench_overhead.py, and the TLS handshake rate.

Not run on its own: ``bench_overhead.py --transports tls,unix`` uses it,
and ``bench_overhead.py --handshakes`` prints handshakes a second per
model.  What it adds:

* bare servers: a socketserver ``TCPServer`` whose ``get_request()`` wraps
  each accepted socket with the same ``SSLContext`` classicnet uses
  (``classicnet.tls.server_context()``)
  (handshake on accept, as the simplest TLS server does), and
  socketserver's ``UnixStreamServer`` and its Threading and Forking
  variants, each with the same echo handler as the TCP rows;
* a load generator for any stream endpoint: each client thread opens a
  connection (TLS: with its handshake), sends 64-byte messages one at a
  time, each waiting for its echo, 100 per connection, then opens the
  next; threads spread over processes as the TCP load does;
* a certificate and key made once per run with the openssl command.
"""

import os
import socket
import socketserver
import ssl
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

MESSAGE = b"x" * 64
REQUESTS_PER_CONNECTION = 100
STREAM_TRANSPORTS = ("tls", "unix")

_files = {}


def pair():
    """(cert, key, directory) made once per run with the openssl command."""
    if not _files:
        from classicnet.tls import MAKE_PAIR
        directory = tempfile.mkdtemp(prefix="classicnet-bench-")
        cert, key = (os.path.join(directory, name) for name in ("cert.pem", "key.pem"))
        subprocess.run(MAKE_PAIR.format(key=key, cert=cert).split(), check=True,
                       capture_output=True)
        _files.update(cert=cert, key=key, directory=directory)
        # The bare servers, started as this file, find the pair here.
        os.environ.update(BENCH_CERT=cert, BENCH_KEY=key, BENCH_DIR=directory)
    return _files["cert"], _files["key"], _files["directory"]


def socket_path(kind, model):
    return os.path.join(pair()[2], f"{kind}-{model}.sock")


def server_command(kind, model, transport):
    """The command that starts classicnet's or the bare echo server."""
    cert, key, _ = pair()
    if kind == "classicnet":
        where = (["--tls", "--cert", cert, "--key", key, "--port", "0"]
                 if transport == "tls" else ["--unix", socket_path(kind, model)])
        flags = {"pool": ["--pool", "8"], "prefork": ["--prefork", "2"]}.get(
            model, [f"--{model}"])
        return [sys.executable, "-m", "classicnet", "echo", *flags, *where,
                "-q", "--max-connections", "0"]
    return [sys.executable, os.path.abspath(__file__), model, transport]


def client_context():
    """What the load's clients use: TLS 1.2 or newer, the run's certificate trusted."""
    context = ssl.create_default_context(cafile=pair()[0])
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def connect(address, context):
    if isinstance(address, str):
        sock = socket.socket(socket.AF_UNIX)
        sock.connect(address)
        return sock
    sock = socket.create_connection(address)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return context.wrap_socket(sock, server_hostname="localhost")


def round_trips(address, count):
    """*count* requests on one connection, each waiting for its answer."""
    context = None if isinstance(address, str) else client_context()
    with connect(address, context) as sock:
        sock.settimeout(60)
        for _ in range(count):
            sock.sendall(MESSAGE)
            received = 0
            while received < len(MESSAGE):
                received += len(sock.recv(65536))


def client_loop(address, end, counts, latencies, requests_per_connection):
    context = None if isinstance(address, str) else client_context()
    while time.monotonic() < end:
        with connect(address, context) as sock:
            counts[1] += 1
            for _ in range(requests_per_connection):
                started = time.monotonic()
                sock.sendall(MESSAGE)
                received = 0
                while received < len(MESSAGE):
                    chunk = sock.recv(65536)
                    if not chunk:
                        raise ConnectionError("the server closed the connection")
                    received += len(chunk)
                now = time.monotonic()
                if now > end:
                    return
                latencies.append(now - started)
                counts[0] += 1


def load_share(address, clients, start_at, duration, requests_per_connection):
    """One process's clients, each in a thread; (requests, connections, latencies)."""
    counts = [[0, 0] for _ in range(clients)]
    latencies = [[] for _ in range(clients)]
    time.sleep(max(0.0, start_at - time.monotonic()))
    end = start_at + duration
    threads = [threading.Thread(target=client_loop, args=(address, end, counts[n],
                                                          latencies[n],
                                                          requests_per_connection))
               for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return (sum(c[0] for c in counts), sum(c[1] for c in counts),
            [latency for share in latencies for latency in share])


def run_stream_load(address, clients, duration, processes,
                    requests_per_connection=REQUESTS_PER_CONNECTION):
    """Requests, connections and latencies of *clients* over *processes*."""
    import multiprocessing
    processes = max(1, min(processes, clients))
    start_at = time.monotonic() + 0.3
    shares = [len(range(first, clients, processes)) for first in range(processes)]
    arguments = [(address, share, start_at, duration, requests_per_connection)
                 for share in shares]
    if processes == 1:
        results = [load_share(*arguments[0])]
    else:
        with multiprocessing.get_context("fork").Pool(processes) as pool:
            results = pool.starmap(load_share, arguments)
    return (sum(r[0] for r in results), sum(r[1] for r in results),
            sorted(latency for r in results for latency in r[2]))


# --- the bare servers ---------------------------------------------------------

class BareEcho(socketserver.BaseRequestHandler):
    def handle(self):
        while True:
            data = self.request.recv(65536)
            if not data:
                return
            self.request.sendall(self.transform(data))

    def transform(self, data):
        return data


class BareTLSServer(socketserver.TCPServer):
    """socketserver's TCPServer, each accepted socket wrapped in TLS."""

    allow_reuse_address = True
    request_queue_size = socket.SOMAXCONN
    context = None

    def get_request(self):
        sock, address = super().get_request()
        return self.context.wrap_socket(sock, server_side=True), address


class BareUnixServer(socketserver.UnixStreamServer):
    request_queue_size = socket.SOMAXCONN


MIXINS = {"plain": (), "threading": (socketserver.ThreadingMixIn,),
          "forking": (socketserver.ForkingMixIn,)}


def serve_bare(model, transport):
    """Run the bare echo server until SIGTERM; print its address first."""
    import signal
    base = BareTLSServer if transport == "tls" else BareUnixServer
    server_class = type(f"Bare{model}{transport}", (*MIXINS[model], base), {})
    if transport == "tls":
        from classicnet.tls import server_context      # the very same context
        server_class.context = server_context(*pair()[:2])
        address = ("127.0.0.1", 0)
    else:
        address = socket_path("bare", model)
        if os.path.exists(address):
            os.unlink(address)
    with server_class(address, BareEcho) as server:
        signal.signal(signal.SIGTERM, lambda *_: threading.Thread(
            target=server.shutdown).start())
        where = server.server_address
        shown = where if isinstance(where, str) else f"{where[0]}:{where[1]}"
        print(f"bare: serving echo ({model}, {transport}) on {shown}", flush=True)
        server.serve_forever()
    if transport == "unix":
        os.unlink(address)


if __name__ == "__main__":
    _files.update(cert=os.environ["BENCH_CERT"], key=os.environ["BENCH_KEY"],
                  directory=os.environ["BENCH_DIR"])
    serve_bare(*sys.argv[1:3])
