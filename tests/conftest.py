"""Shared test helpers: every server in the suite listens on 127.0.0.1, port 0.

The command line is run in two ways, both defined here and nowhere else:

- the ``cli`` fixture starts ``python -m classicnet ARGS`` as a server in a
  process of its own (``CommandLineServer``, a ``classicnet.process.ServerProcess``),
  waits until it listens and stops it at the end of the test, whatever
  happened;
- ``run_cli(ARGS)`` runs a command to its end (``list``, ``client``, a
  usage error) and returns the ``CompletedProcess``.

Both run the classicnet of this checkout (``classicnet_command()``,
``classicnet_env()``); ``TIMEOUT`` bounds every wait.  A server that is
not classicnet (a student's, the course notes') runs in
``student_server(command, cwd)``.
"""

import logging
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from contextlib import contextmanager

import pytest

from classicnet.endpoints import address_in_line, format_address
from classicnet.process import ServerProcess, changed_environment

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Every blocking step of a test is bounded by this many seconds: three
# times as many on PyPy, whose every new process starts slowly (its JIT
# warms up afresh), so that a busy machine cannot make a passing test fail.
TIMEOUT = 30 if sys.implementation.name == "pypy" else 10

MODELS = ["plain", "threading"] + (["forking"] if hasattr(os, "fork") else [])


def needs(tool):
    """Skip a test, saying why, when a real client program is not installed."""
    return pytest.mark.skipif(shutil.which(tool) is None,
                              reason=f"{tool} is not installed")


# --- the command line in a subprocess ---------------------------------------

def classicnet_command(*args):
    """``python -m classicnet ARGS``, with the Python that runs the tests."""
    return [sys.executable, "-m", "classicnet", *args]


# This checkout first, so that classicnet is found from any folder.
PYTHONPATH = os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")]))


def classicnet_env(**changes):
    """The environment for ``python -m classicnet`` run from any folder, with
    *changes* (a name whose value is None is removed)."""
    return changed_environment({"PYTHONPATH": PYTHONPATH, **changes})


def without_coverage():
    """Environment changes that keep coverage out of a subprocess (its
    forked children would each write a data file)."""
    return {name: None for name in os.environ if name.startswith("COVERAGE")}


class CommandLineServer(ServerProcess):
    """``python -m classicnet ARGS`` as the tests run it: from this checkout,
    in a process group of its own (so that ``ctrl_c()`` can do what a
    terminal does), listening on port 0 unless ARGS name a port.

    Ready means both signs a server gives: its ``listening`` event, and
    the readiness line on standard output, which must name the same
    address (``ready_line`` keeps it).  The line comes once the server is
    serving, so a test can count the server's threads from then on.
    Everything else is ``ServerProcess``'s: ``readline()`` (the lines of
    standard output after the readiness line), ``wait_for_log()``,
    ``send_signal()``, ``wait()``, ``stop()``.
    """

    def __init__(self, args, env=None, cwd=ROOT, command=None):
        args = list(args)
        if "--port" not in args and "--unix" not in args:
            args += ["--port", "0"]
        super().__init__(args, env={"PYTHONPATH": PYTHONPATH, **(env or {})}, cwd=cwd,
                         command=command, new_session=True)

    def wait_ready(self, timeout=TIMEOUT):
        """Wait until the server listens and says so; return its ``(host, port)``
        (or its path, for a Unix-domain socket)."""
        address = super().wait_ready(timeout)
        self.ready_line = self.readline(timeout)
        assert address_in_line(self.ready_line) == address, \
            f"{self.ready_line!r} does not name {format_address(address)}"
        return address

    @property
    def pid(self):
        return self.process.pid

    def ctrl_c(self):
        """What a terminal does on Ctrl-C: SIGINT to every process of the group."""
        os.killpg(self.process.pid, signal.SIGINT)

    def stderr(self):
        """Everything the server wrote on standard error; it is stopped first."""
        self.stop()
        return self.log_text()


@pytest.fixture
def cli():
    """Start classicnet servers from the command line: ``cli(*args, env=None,
    cwd=ROOT, command=None)`` returns a ``CommandLineServer`` once it is
    ready.  Every one is stopped after the test."""
    started = []

    def start(*args, **options):
        server = CommandLineServer(args, **options)
        started.append(server)
        server.wait_ready()
        return server

    yield start
    for server in started:
        server.stop()


def run_cli(*args, input=None, text=None, cwd=ROOT, env=None, timeout=TIMEOUT):
    """Run ``python -m classicnet ARGS`` to its end; return the CompletedProcess.

    *input* (str or bytes) is its standard input; without it, standard
    input is empty.  Output is text, or bytes when *input* is bytes or
    *text* is False.
    """
    if text is None:
        text = not isinstance(input, bytes)
    return subprocess.run(
        classicnet_command(*args), input=input,
        stdin=subprocess.DEVNULL if input is None else None,
        capture_output=True, text=text, timeout=timeout, cwd=cwd,
        env=classicnet_env(**(env or {})))


@contextmanager
def student_server(command, cwd):
    """Run a server that is not classicnet (a student's, the course notes')
    as *command*; yield its ``(host, port)`` once it prints a line
    ``listening on HOST:PORT``, and kill it at the end."""
    process = subprocess.Popen(command, cwd=cwd, stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                               text=True, encoding="utf-8")
    lines = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in process.stdout],
                     daemon=True).start()
    try:
        while True:
            line = lines.get(timeout=TIMEOUT)
            if line.startswith("listening on "):
                break
        yield address_in_line(line)
    finally:
        process.kill()
        process.wait(TIMEOUT)


def recv_exactly(sock, size):
    """Exactly *size* bytes from *sock*, failing if the server closes first."""
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        assert chunk, f"server closed after {len(data)} of {size} bytes"
        data += chunk
    return data


def deadline(seconds=TIMEOUT):
    """A time.monotonic() value *seconds* from now."""
    return time.monotonic() + seconds


def wait_until(condition, timeout=TIMEOUT, interval=0.02):
    """Poll *condition* until it is true; fail after *timeout* seconds.

    For facts that no event announces, such as another process's count of
    open file descriptors.  The interval only paces the polling: the test
    passes as soon as the condition holds, however slow the machine.
    """
    import threading
    end = deadline(timeout)
    pause = threading.Event()
    while not condition():
        if time.monotonic() > end:
            raise AssertionError(f"condition not met within {timeout} s")
        pause.wait(interval)


def open_descriptors(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def processes():
    """``(pid, state, parent pid)`` of every process, read from /proc."""
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except OSError:
                continue                    # it ended while we looked
            yield int(entry), fields[0], int(fields[1])


def zombie_children(pid):
    """The children of *pid* that have exited but were never reaped."""
    return [child for child, state, parent in processes()
            if parent == pid and state == "Z"]


def child_processes(pid):
    return [child for child, _, parent in processes() if parent == pid]




@pytest.fixture(autouse=True)
def classicnet_logger_restored():
    """A test that runs the command line in this process configures the
    "classicnet" logger for a terminal (its own handler, no propagation);
    put it back, so that a later test's caplog still sees its records."""
    logger = logging.getLogger("classicnet")
    saved = logger.handlers[:], logger.level, logger.propagate
    yield
    logger.handlers[:], logger.level, logger.propagate = saved


# --- TLS: a certificate authority made for the test run ---------------------

class TLSFiles:
    """A CA, and a certificate and key for localhost and 127.0.0.1 that it
    signed, as PEM files made for this test run by trustme, or by the
    openssl command where trustme cannot be installed (PyPy 3.9: it needs
    cryptography, which needs a Rust compiler there).  No private key is
    ever committed.  ``server_context()`` and ``client_context()`` are
    classicnet's own, built from them."""

    def __init__(self, directory):
        self.ca = os.path.join(directory, "ca.pem")
        self.cert = os.path.join(directory, "cert.pem")
        self.key = os.path.join(directory, "key.pem")
        try:
            import trustme
        except ImportError:
            self._make_with_openssl(directory)
            return
        authority = trustme.CA()
        issued = authority.issue_cert("localhost", "127.0.0.1")
        authority.cert_pem.write_to_path(self.ca)
        issued.cert_chain_pems[0].write_to_path(self.cert)
        issued.private_key_pem.write_to_path(self.key)

    def _make_with_openssl(self, directory):
        if not shutil.which("openssl"):
            pytest.skip("TLS tests need trustme or the openssl command")
        ca_key = os.path.join(directory, "ca.key")
        request = os.path.join(directory, "leaf.csr")
        extensions = os.path.join(directory, "leaf.ext")
        with open(extensions, "w") as file:
            file.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n"
                       "basicConstraints=critical,CA:FALSE\n"
                       "extendedKeyUsage=serverAuth\n")
        for command in (
            ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
             "-keyout", ca_key, "-out", self.ca, "-subj", "/CN=classicnet test CA",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
            ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", self.key,
             "-out", request, "-subj", "/CN=localhost"],
            ["x509", "-req", "-in", request, "-CA", self.ca, "-CAkey", ca_key,
             "-CAcreateserial", "-days", "2", "-out", self.cert, "-extfile", extensions],
        ):
            subprocess.run(["openssl", *command], check=True, capture_output=True,
                           timeout=60)

    def server_context(self):
        from classicnet.tls import server_context
        return server_context(self.cert, self.key)

    def client_context(self):
        from classicnet.tls import client_context
        return client_context(self.ca)

    def server_flags(self):
        return ["--tls", "--cert", self.cert, "--key", self.key]


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory):
    return TLSFiles(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def short_tmp():
    """A directory with a short path, for Unix sockets (a socket's path
    holds at most about 100 bytes, and pytest's tmp_path can be longer)."""
    import tempfile
    with tempfile.TemporaryDirectory(prefix="cn-") as directory:
        yield directory
