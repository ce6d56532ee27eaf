"""Shared test helpers: every server in the suite listens on 127.0.0.1, port 0.

``cli`` starts ``python -m classicnet ...`` as a real subprocess, waits for
its readiness line and always ends it; ``TIMEOUT`` bounds every wait.
"""

import os
import re
import select
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Every blocking step of a test is bounded by this many seconds.
TIMEOUT = 10

MODELS = ["plain", "threading"] + (["forking"] if hasattr(os, "fork") else [])

READY = re.compile(r" on \[?([^\]\s]+)\]?:(\d+)$")


def needs(tool):
    """Skip a test, saying why, when a real client program is not installed."""
    return pytest.mark.skipif(shutil.which(tool) is None,
                              reason=f"{tool} is not installed")


class CliProcess:
    """``python -m classicnet ARGS`` running in a subprocess."""

    def __init__(self, args, env=None):
        self.args = args
        self.process = subprocess.Popen(
            [sys.executable, "-m", "classicnet", *args],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            cwd=ROOT, env={**os.environ, "PYTHONPATH": ROOT, **(env or {})})
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.process.stdout, selectors.EVENT_READ)
        self.address = None
        self.log_seen = b""

    def readline(self, timeout=TIMEOUT):
        """The next line of standard output, or an AssertionError after *timeout*."""
        if not self.selector.select(timeout):
            raise AssertionError(f"no output from classicnet {self.args} "
                                 f"within {timeout} s")
        return self.process.stdout.readline().decode()

    def wait_ready(self):
        """Read the readiness line; return the server's ``(host, port)``."""
        line = self.readline()
        match = READY.search(line.rstrip("\n"))
        if not match:
            self.stop()
            raise AssertionError(f"not a readiness line: {line!r}; "
                                 f"stderr: {self.stderr()!r}")
        self.address = (match.group(1), int(match.group(2)))
        return self.address

    def wait_for_log(self, text, timeout=TIMEOUT):
        """Read standard error until *text* appears in it."""
        end = deadline(timeout)
        stderr = self.process.stderr.fileno()
        while text.encode() not in self.log_seen:
            if not select.select([stderr], [], [], max(0, end - time.monotonic()))[0]:
                raise AssertionError(f"{text!r} not logged within {timeout} s; "
                                     f"log so far: {self.log_seen!r}")
            chunk = os.read(stderr, 65536)
            if not chunk:
                raise AssertionError(f"{text!r} never logged: {self.log_seen!r}")
            self.log_seen += chunk

    def send_signal(self, signum):
        self.process.send_signal(signum)

    def wait(self, timeout=TIMEOUT):
        """Wait for the process to end; return its exit status."""
        return self.process.wait(timeout)

    def stderr(self):
        """Everything the process wrote on standard error (once it has ended)."""
        if self.process.poll() is None:
            self.stop()
        return (self.log_seen + self.process.stderr.read()).decode()

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(TIMEOUT)

    def close(self):
        self.stop()
        self.selector.close()
        self.process.stdout.close()
        self.process.stderr.close()


@pytest.fixture
def cli():
    """Start classicnet command lines; every one is stopped after the test."""
    started = []

    def start(*args, env=None, ready=True):
        process = CliProcess(list(args), env)
        started.append(process)
        if ready:
            process.wait_ready()
        return process

    yield start
    for process in started:
        process.close()


def run_cli(*args, timeout=TIMEOUT, stdin=None):
    """Run a classicnet command line to its end; return the CompletedProcess."""
    return subprocess.run(
        [sys.executable, "-m", "classicnet", *args], input=stdin,
        capture_output=True, text=True, timeout=timeout, cwd=ROOT,
        env={**os.environ, "PYTHONPATH": ROOT})


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



# --- the command line in a subprocess (added for the homework kit) ----------

def classicnet_env():
    """The environment for ``python -m classicnet`` run from any folder."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [ROOT, env.get("PYTHONPATH")]))
    return env


@contextmanager
def serving(*args, cwd=None):
    """Run ``python -m classicnet ARGS --port 0``; yield ``(process, address)``.

    The readiness line gives the address.  Standard error goes to a file,
    read back as ``process.stderr_text()``; the server is always stopped.
    """
    stderr = tempfile.TemporaryFile()
    process = subprocess.Popen(
        [sys.executable, "-m", "classicnet", *args, "--port", "0"],
        stdout=subprocess.PIPE, stderr=stderr, text=True, cwd=cwd,
        env=classicnet_env())

    def stderr_text():
        stderr.seek(0)
        return stderr.read().decode("utf-8", "replace")

    process.stderr_text = stderr_text
    try:
        ready, _, _ = select.select([process.stdout], [], [], TIMEOUT)
        line = process.stdout.readline().strip() if ready else ""
        match = READY.search(line)
        assert match, f"no readiness line: {line!r}; stderr: {stderr_text()}"
        yield process, (match.group(1), int(match.group(2)))
    finally:
        if process.poll() is None:
            process.terminate()
        process.wait(TIMEOUT)
        process.stdout.close()
        stderr.close()


def run_classicnet(*args, input=b"", cwd=None):
    """Run ``python -m classicnet ARGS`` to the end; return the CompletedProcess."""
    return subprocess.run([sys.executable, "-m", "classicnet", *args], input=input,
                          capture_output=True, cwd=cwd, env=classicnet_env(),
                          timeout=TIMEOUT)
