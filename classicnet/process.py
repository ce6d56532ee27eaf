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
message when a server does not start and for tests that read the log;
so is standard output, line by line (the readiness line and the settings
under it).  Each of the three pipes has a thread of its own that reads it
to its end, so a server that writes much never blocks on a full pipe.

POSIX only: passing a pipe to a child process (``pass_fds``) is
(``compat.CAN_PASS_FDS``); elsewhere ``ServerProcess`` refuses at once.
"""

import json
import os
import signal
import subprocess
import sys
import threading
import time

from .compat import CAN_PASS_FDS
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
    *env* changes the environment: each name gets its value, or is removed
    where the value is None.  *new_session* starts the server in a process
    group of its own, as a shell starts a job, so that a signal to the
    group reaches the server and its children as Ctrl-C on a terminal does.
    """

    def __init__(self, args, env=None, cwd=None, command=None, new_session=False):
        if not CAN_PASS_FDS:
            raise ServerProcessError(f"a server process is handed a pipe (pass_fds), "
                                     f"which {sys.platform} cannot do")
        self.args = list(args)
        read_end, write_end = os.pipe()
        argv = [*(command or [sys.executable, "-m", "classicnet"]), *self.args,
                "--events-fd", str(write_end)]
        try:
            self.process = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, pass_fds=(write_end,), cwd=cwd,
                env=None if env is None else changed_environment(env),
                start_new_session=new_session)
        finally:
            os.close(write_end)
        self.events = []
        self.log = []               # standard error, a line each, without newlines
        self.output = []            # standard output, a line each, as written
        self.lines_read = 0         # how many output lines readline() returned
        self.changed = threading.Condition()
        self.readers = [
            threading.Thread(target=self._read_events, args=(os.fdopen(read_end, "rb"),),
                             daemon=True),
            threading.Thread(target=self._read_lines, args=(self.process.stderr, self.log),
                             kwargs={"strip": True}, daemon=True),
            threading.Thread(target=self._read_lines,
                             args=(self.process.stdout, self.output), daemon=True),
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

    def _read_lines(self, pipe, lines, strip=False):
        with pipe:
            for line in pipe:
                text = line.decode("utf-8", "replace")
                with self.changed:
                    lines.append(text.rstrip("\n") if strip else text)
                    self.changed.notify_all()
        with self.changed:
            self.changed.notify_all()       # the server has ended

    @property
    def served_by(self):
        """``(pid, thread name)`` of every thread that served a client."""
        with self.changed:
            return {(event["pid"], event["thread"]) for event in self.events
                    if event["event"] == "served"}

    @property
    def served_per_process(self):
        """``{pid: connections served}``: how the processes shared the clients."""
        with self.changed:
            counts = {}
            for event in self.events:
                if event["event"] == "served":
                    counts[event["pid"]] = counts.get(event["pid"], 0) + 1
            return counts

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
                if self.process.poll() is not None and not self._reading():
                    raise ServerProcessError(self._why_not(what, "the server has ended"))
                left = deadline - time.monotonic()
                if left <= 0:
                    raise ServerProcessError(self._why_not(what, f"not within {timeout:g} s"))
                self.changed.wait(left)

    def _reading(self):
        return any(reader.is_alive() for reader in self.readers)

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
        """Wait until *text* appears in a line of the server's log; return
        the first such line."""
        return self.wait_for(lambda: next((line for line in self.log if text in line), None),
                             f"{text!r} never logged", timeout)

    def readline(self, timeout=START_TIMEOUT):
        """The next line of standard output (text, with its newline), once
        the server has written it whole, or ServerProcessError."""
        line = self.wait_for(lambda: self.output[self.lines_read:self.lines_read + 1],
                             "no more output", timeout)[0]
        self.lines_read += 1
        return line

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
        return its exit status.  Stopping a stopped server does nothing more.

        Each pipe is closed by the thread that reads it, at its end: a
        child the server forked and left behind may still hold it open.
        """
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.wait(timeout)


def changed_environment(changes):
    """This process's environment with *changes*: a name whose value is
    None is removed (``{"COVERAGE_PROCESS_CONFIG": None}``)."""
    environment = {**os.environ, **changes}
    return {name: value for name, value in environment.items() if value is not None}
