"""A classicnet server in a process of its own, started from its command line.

The concurrency lab, the benchmarks and the tests all need the same thing:
start ``python -m classicnet HANDLER ...`` exactly as a student would, know
*when* it listens and *where*, learn what it did, and stop it, with every
wait bounded.  ``ServerProcess`` is that one harness::

    with ServerProcess(["echo", "--threading", "--port", "0"]) as server:
        address = server.wait_ready()          # (host, port), within 10 s
        ...                                    # load it, talk to it
    server.served_by                           # {(pid, thread name), ...}

It learns from the server's events (``classicnet.events``), which the
server writes as JSON lines to a pipe this harness hands it
(``--events-fd``), never from the human text of its log: the
``listening`` event gives the address, each ``served`` event the thread
and process that served a client.  Standard error is kept, for the error
message when a server does not start and for tests that read the log.

POSIX only: passing a pipe to a child process (``pass_fds``) is.
"""

import json
import os
import signal
import subprocess
import sys
import threading
import time

from .endpoints import parse_address

__all__ = ["ServerProcess", "ServerProcessError", "START_TIMEOUT", "STOP_TIMEOUT"]

# How long a server may take to listen, or to stop.
START_TIMEOUT = 10.0
STOP_TIMEOUT = 10.0


class ServerProcessError(RuntimeError):
    """The server did not start, or did not do what was awaited in time."""


class ServerProcess:
    """``python -m classicnet ARGS`` running, with its events and its log.

    Methods for the caller: ``wait_ready()``, ``wait_for_event()``,
    ``wait_for_log()``, ``readline()`` (standard output), ``send_signal()``,
    ``wait()``, ``stop()``.  It is a context manager that always stops
    the server.  *command* replaces ``python -m classicnet`` for a program
    that speaks the same ``--events-fd`` (the lab's asyncio reference).
    """

    def __init__(self, args, env=None, cwd=None, command=None):
        self.args = list(args)
        read_end, write_end = os.pipe()
        argv = [*(command or [sys.executable, "-m", "classicnet"]), *self.args,
                "--events-fd", str(write_end)]
        try:
            self.process = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, pass_fds=(write_end,), cwd=cwd,
                env=None if env is None else {**os.environ, **env})
        finally:
            os.close(write_end)
        self.events = []
        self.log = []
        self.changed = threading.Condition()
        self.readers = [
            threading.Thread(target=self._read_events, args=(os.fdopen(read_end, "rb"),),
                             daemon=True),
            threading.Thread(target=self._read_log, daemon=True),
        ]
        for reader in self.readers:
            reader.start()
        self.address = None

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.stop()

    # --- what the server says ----------------------------------------------

    def _read_events(self, pipe):
        with pipe:
            for line in pipe:
                try:
                    event = json.loads(line)
                except ValueError:
                    continue                # a line cut by a killed child
                with self.changed:
                    self.events.append(event)
                    self.changed.notify_all()

    def _read_log(self):
        for line in self.process.stderr:
            with self.changed:
                self.log.append(line.decode("utf-8", "replace").rstrip("\n"))
                self.changed.notify_all()
        with self.changed:
            self.changed.notify_all()       # the server has ended

    @property
    def served_by(self):
        """``(pid, thread name)`` of every thread that served a client."""
        with self.changed:
            return {(event["pid"], event["thread"]) for event in self.events
                    if event["event"] == "served"}

    def log_text(self):
        with self.changed:
            return "\n".join(self.log)

    # --- waiting, always bounded --------------------------------------------

    def wait_for(self, found, what, timeout):
        """Wait until ``found()`` returns something true, and return it;
        ServerProcessError if the server ends or *timeout* passes first."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                result = found()
                if result:
                    return result
                if self.process.poll() is not None and not self.readers[1].is_alive():
                    raise ServerProcessError(self._why_not(what, "the server has ended"))
                left = deadline - time.monotonic()
                if left <= 0:
                    raise ServerProcessError(self._why_not(what, f"not within {timeout:g} s"))
                self.changed.wait(left)

    def _why_not(self, what, reason):
        last = self.log[-1] if self.log else "nothing on standard error"
        return f"{' '.join(self.args)}: {what}: {reason}; its last words: {last}"

    def wait_for_event(self, kind, timeout=START_TIMEOUT):
        """The first event of *kind* (a dict), once the server has emitted it."""
        return self.wait_for(
            lambda: next((e for e in self.events if e["event"] == kind), None),
            f"no {kind} event", timeout)

    def wait_ready(self, timeout=START_TIMEOUT):
        """Wait until the server listens; return its ``(host, port)``."""
        listening = self.wait_for_event("listening", timeout)
        self.address = parse_address(listening["address"])
        return self.address

    def wait_for_log(self, text, timeout=START_TIMEOUT):
        """Wait until *text* appears in a line of the server's log."""
        return self.wait_for(lambda: any(text in line for line in self.log),
                             f"{text!r} never logged", timeout)

    def readline(self, timeout=START_TIMEOUT):
        """The next line of standard output (text), or ServerProcessError."""
        import selectors
        with selectors.DefaultSelector() as selector:
            selector.register(self.process.stdout, selectors.EVENT_READ)
            if not selector.select(timeout):
                raise ServerProcessError(self._why_not(
                    "no output", f"not within {timeout:g} s"))
        return self.process.stdout.readline().decode("utf-8", "replace")

    # --- stopping ---------------------------------------------------------

    def send_signal(self, signum):
        self.process.send_signal(signum)

    def wait(self, timeout=STOP_TIMEOUT):
        """Wait for the server to end; return its exit status."""
        status = self.process.wait(timeout)
        for reader in self.readers:
            reader.join(timeout)
        return status

    def stop(self, timeout=STOP_TIMEOUT):
        """SIGTERM, then SIGKILL if it has not ended within *timeout*;
        return its exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            status = self.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            status = self.wait(timeout)
        self.process.stdout.close()
        self.process.stderr.close()
        return status
