"""Shared test helpers: every server in the suite listens on 127.0.0.1, port 0."""

import os
import re
import select
import subprocess
import sys
import tempfile
from contextlib import contextmanager

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Every blocking step of a test is bounded by this many seconds.
TIMEOUT = 10

MODELS = ["plain", "threading"] + (["forking"] if hasattr(os, "fork") else [])


# --- the command line in a subprocess (added for the homework kit) ----------

READY = re.compile(r" on \[?([^\]\s]+)\]?:(\d+)$")


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
