"""Numbers and paths from the command line: each is refused in one line
with exit status 2, or the server it asks for serves (issue 12, point 9).

The property test feeds every numeric flag of the server's command line,
and of the handlers that take numbers, random text; the examples list the
values that once ended in a traceback or a server that stopped serving.
"""

import contextlib
import io
import os
import signal
import subprocess
import tempfile
import textwrap

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from classicnet import cli, launcher, quantities
from classicnet.cli.serve import build, parse_server_args
from classicnet.errors import UsageError
from conftest import TIMEOUT, classicnet_command, classicnet_env, run_cli
from resources import connect

EXAMPLES = int(os.environ.get("CLASSICNET_FUZZ_EXAMPLES", "40"))
fuzz = settings(max_examples=EXAMPLES, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])

# Each numeric flag, the handler that takes it, and a model that has it.
NUMERIC_FLAGS = [
    ("echo", "--timeout", "--threading"),
    ("echo", "--grace", "--threading"),
    ("echo", "--max-connections", "--threading"),
    ("echo", "--max-per-client", "--threading"),
    ("echo", "--udp-rate", "--threading"),
    ("echo", "--pool", None),
    ("echo", "--max-children", "--forking"),
    ("echo", "--events-fd", "--threading"),
    ("slow", "--delay", "--threading"),
    ("work", "--cost", "--threading"),
    ("chat", "--max-behind", "--threading"),
    ("chat", "--max-rate", "--threading"),
    ("files", "--max-size", "--threading"),
]

typed = st.one_of(
    st.integers(-10**30, 10**30).map(str),
    st.floats().map(repr),
    st.text(max_size=8),
    st.sampled_from(["", "0", "-0", "1e19", "1e-7", "0.0000001", "1e10", "1e400",
                     "0x10", "1_000", " 5 ", "5K", "2G", "nan", "-inf", "1e308"]))


def outcome(argv):
    """What ``classicnet ARGV`` does, in this process: ``("usage", stderr)``
    for a refusal, or ``("built", server)`` for a server bound and ready."""
    stderr = io.StringIO()
    try:
        with contextlib.redirect_stderr(stderr):
            args, options = parse_server_args(argv)
            return "built", build(args, options), args
    except SystemExit as exited:
        assert exited.code == 2
        return "usage", stderr.getvalue(), None
    except UsageError as error:       # main() prints it as one line, status 2
        return "usage", f"classicnet: error: {error}\n", None


def assert_serves(server, args):
    """The server accepts a client and, for echo, answers it.  With a timeout
    under a second, the server may rightly give up on a client slower than
    that (this test, on a loaded machine): then the connection just ends."""
    patient = not args.idle_timeout or args.idle_timeout >= 1
    with launcher.running(server, grace=0.0):
        with connect(server.server_address) as client:
            if args.handler == "echo":
                client.sendall(b"ping")
                assert client.recv(16) in ((b"ping",) if patient else (b"ping", b""))


@pytest.mark.parametrize("handler, flag, model", NUMERIC_FLAGS)
@fuzz
@given(value=typed)
@example(value="1e19")
@example(value="0.0000001")
@example(value="1e10")
@example(value="")
def test_a_number_is_refused_in_one_line_or_the_server_serves(handler, flag, model,
                                                              value):
    if flag == "--max-children" and not hasattr(os, "fork"):
        pytest.skip("no os.fork")
    with tempfile.TemporaryDirectory() as root:
        argv = [handler, f"{flag}={value}", "--port", "0", "-q"]
        argv += [model] if model else []
        argv += ["--root", root] if handler == "files" else []
        if flag == "--max-children":
            # Serving would fork this test process; building is what is checked.
            kind, result, _ = outcome(argv)
            if kind == "built":
                result.server_close()
            return
        kind, result, args = outcome(argv)
        if kind == "usage":
            error = result.strip().splitlines()[-1]
            assert error.startswith("classicnet: error: ") and flag.strip("-") in error
            assert "Traceback" not in result
        else:
            try:
                assert_serves(result, args)
            finally:
                result.server_close()


@pytest.mark.parametrize("quantity", [
    quantities.count, quantities.workers, quantities.limit, quantities.seconds,
    quantities.positive_seconds, quantities.timeout, quantities.milliseconds,
    quantities.descriptor, quantities.byte_count, quantities.port_number])
def test_every_quantity_names_its_range_and_unit_when_it_refuses(quantity):
    with pytest.raises(ValueError) as raised:
        quantity("1e999")
    message = str(raised.value)
    assert (" to " in message or "at most" in message) and "'1e999'" in message


def test_a_tiny_timeout_from_python_is_still_a_timeout():
    with pytest.raises(UsageError, match="idle_timeout must be 0 .no limit. or from 0.001"):
        launcher.build_server("echo", port=0, idle_timeout=1e-7)
    with pytest.raises(UsageError, match="max_connections must be a whole number"):
        launcher.build_server("echo", port=0, max_connections=-1)


def test_the_help_gives_every_number_its_range():
    text = cli.serve_flags.server_parser(None).format_help()
    for flag in ("--timeout", "--grace", "--max-connections", "--udp-rate",
                 "--max-children", "--pool"):
        described = " ".join(text.split(flag, 1)[1].split("\n  --", 1)[0].split())
        assert " to " in described, flag


@pytest.mark.parametrize("path", ["", "/nonexistent/events.jsonl", "/"])
def test_an_events_file_that_cannot_be_written_is_one_line_and_exit_2(path):
    result = run_cli("echo", "--port", "0", "--events", path)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"classicnet: --events {path!r}: cannot append to it "
        f"({result.stderr.split('(', 1)[1].split(')')[0]})"]


PREPARE_FAILS = '''\
import socketserver

class Broken(socketserver.BaseRequestHandler):
    @classmethod
    def prepare_server(cls, server):
        settle(server)

    def handle(self):
        pass

def settle(server):
    raise ValueError("the student's own mistake")
'''


def test_an_exception_in_prepare_server_shows_the_students_frames_only(tmp_path,
                                                                       capsys):
    path = tmp_path / "broken_prepare.py"
    path.write_text(PREPARE_FAILS)
    status = cli.main([f"{path}:Broken", "--port", "0"])
    error = capsys.readouterr().err
    assert status == 1
    assert error.startswith("Traceback (most recent call last):\n")
    assert error.endswith("ValueError: the student's own mistake\n")
    assert error.count('File "') == 2 and str(path) in error
    assert "classicnet" not in error.replace(str(tmp_path), "")


INTERRUPTED = '''\
import sys
print("importing", flush=True)
while True:
    pass
'''


def test_ctrl_c_while_a_students_file_is_imported_shows_their_frames_only(tmp_path):
    path = tmp_path / "endless_import.py"
    path.write_text(textwrap.dedent(INTERRUPTED))
    process = subprocess.Popen(
        classicnet_command(f"{path}:Handler", "--port", "0"), cwd=tmp_path,
        env=classicnet_env(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline() == "importing\n"
        process.send_signal(signal.SIGINT)
        _, error = process.communicate(timeout=TIMEOUT)
    finally:
        process.kill()
        process.wait()
    assert process.returncode == 130
    lines = error.splitlines()
    assert lines[0] == "Traceback (most recent call last):"
    assert lines[-1] == "KeyboardInterrupt"
    assert len(lines) <= 4 and str(path) in error
