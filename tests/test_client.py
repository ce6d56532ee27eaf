"""The client with standard input not a terminal: it behaves like nc."""

import shutil
import socket
import struct
import subprocess

import pytest

from classicnet.cli import main
from classicnet.relay import Lines
from classicnet.testing import running_server
from conftest import TIMEOUT, classicnet_command, classicnet_env, run_cli

HELLO_SCRIPT = b"Ada\nexit\n"

# (handler, transport, what is piped in, what must come out)
CONVERSATIONS = [
    ("echo", "tcp", b"hello\n\xff\x00 bytes\n", b"hello\n\xff\x00 bytes\n"),
    ("upper", "tcp", "abc 你好\n".encode(), "ABC 你好\n".encode()),
    ("hello", "tcp", HELLO_SCRIPT, b"Welcome!\nHello, Ada!\n"),
    ("echo", "udp", b"one\ntwo\n", b"one\ntwo\n"),
    ("upper", "udp", b"one\n", b"ONE\n"),
]


@pytest.mark.parametrize("handler, transport, sent, expected", CONVERSATIONS)
def test_client_pipes_input_to_every_builtin_handler(handler, transport, sent, expected):
    with running_server(handler, transport=transport) as (host, port):
        result = run_cli("client", handler, f"--{transport}", "--port", str(port),
                         input=sent)
    assert result.returncode == 0, result.stderr
    if transport == "udp":      # datagrams may be answered in any order
        assert sorted(result.stdout.splitlines()) == sorted(expected.splitlines())
    else:
        assert result.stdout == expected
    assert result.stderr == b""


def test_client_shows_who_answered_a_datagram_with_reply():
    with running_server("reply") as (host, port):
        result = run_cli("client", "reply", "--port", str(port),
                         input=b"four\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(b"from 127.0.0.1:")
    assert result.stdout.endswith(b": 5 bytes\n")        # "four" and its newline


def test_client_half_closes_and_reads_until_the_server_closes():
    """echo answers after the input ends; nothing may be lost at the end."""
    data = bytes(range(256)) * 8192                       # 2 MiB, no newline at the end
    with running_server("echo") as (host, port):
        result = run_cli("client", "--tcp", "--port", str(port), input=data)
    assert result.returncode == 0, result.stderr
    assert result.stdout == data


def test_client_gives_up_on_a_silent_server_after_its_wait():
    """A server that neither answers nor closes: the client still ends."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        result = run_cli("client", "--tcp", "--port", str(port),
                         "--wait", "0.2", input=b"anyone?\n")
        connection, _ = listener.accept()
        with connection:
            connection.settimeout(TIMEOUT)
            assert connection.recv(100) == b"anyone?\n"
            assert connection.recv(100) == b""           # the half-close
    assert result.returncode == 0
    assert result.stdout == b""


def test_client_stops_when_the_server_closes_before_the_input_ends():
    with running_server("hello") as (host, port):
        process = subprocess.Popen(
            classicnet_command("client", "hello", "--port", str(port)),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=classicnet_env())
        process.stdin.write(b"exit\n")
        process.stdin.flush()
        try:
            assert process.wait(TIMEOUT) == 0             # its input is still open
        finally:
            process.stdin.close()
    assert process.stdout.read() == b"Welcome!\n"
    process.stdout.close()


def test_client_udp_never_sends_an_empty_line():
    with running_server("reply") as (host, port):
        result = run_cli("client", "--udp", "--port", str(port),
                         input=b"\n\nlast line without newline")
    assert result.returncode == 0
    assert result.stdout.endswith(b": 26 bytes\n")       # the line and a newline
    assert result.stdout.count(b"\n") == 1


def test_client_udp_waits_at_most_its_wait_for_missing_answers():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        port = silent.getsockname()[1]
        result = run_cli("client", "--udp", "--port", str(port),
                         "--wait", "0.2", input=b"anyone?\n")
        silent.settimeout(TIMEOUT)
        assert silent.recv(100) == b"anyone?\n"
    assert result.returncode == 0
    assert result.stdout == b""


def test_client_says_in_one_line_when_no_server_listens():
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
    result = run_cli("client", "echo", "--port", str(port), input=b"hi\n")
    assert result.returncode == 1
    assert result.stderr.decode().count("\n") == 1
    assert "connection refused" in result.stderr.decode().lower()
    assert "is the server running" in result.stderr.decode()


@pytest.mark.parametrize("args, message", [
    ([], "name the server's handler, or say --tcp or --udp"),
    (["nosuch"], "unknown handler 'nosuch'"),
    (["hello", "--udp"], "does not speak udp"),
    (["echo", "--port", "70000"], "must be a port number"),
    (["echo", "--host", "a..b"], "is not a valid host name"),
    (["echo", "--host", "no-such-host.invalid"], "cannot resolve host"),
])
def test_client_usage_mistakes_are_one_line_and_status_2(args, message, capsys):
    try:
        status = main(["client", *args])
    except SystemExit as exit:          # argparse's own errors
        status = exit.code
    error = capsys.readouterr().err
    assert status == 2
    assert message in error
    assert error.strip().splitlines()[-1].startswith("classicnet")


def test_client_exits_1_when_the_server_resets_the_connection():
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        client = subprocess.Popen(
            classicnet_command("client", "--tcp", "--port", str(port)),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=classicnet_env())
        connection, _ = listener.accept()
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        connection.close()
        try:
            assert client.wait(TIMEOUT) == 1
        finally:
            client.stdin.close()
            client.stdout.close()


@pytest.mark.skipif(shutil.which("nc") is None, reason="nc is not installed")
def test_client_talks_to_nc_listening_as_the_server():
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]       # free a moment ago; nc takes it
    nc = subprocess.Popen(["nc", "-l", "-v", "127.0.0.1", str(port)],
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE)
    try:
        assert b"Listening" in nc.stderr.readline()
        client = subprocess.Popen(
            classicnet_command("client", "--tcp", "--port", str(port)),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=classicnet_env())
        client.stdin.write(b"hi nc\n")
        client.stdin.flush()
        assert nc.stdout.readline() == b"hi nc\n"        # nc got the client's line
        nc.stdin.write(b"hi client\n")
        nc.stdin.close()
        out, _ = client.communicate(timeout=TIMEOUT)      # its end of input: a half-close
        assert out == b"hi client\n"
        assert client.returncode == 0
    finally:
        nc.kill()
        nc.wait(TIMEOUT)


def test_lines_keep_an_unfinished_line_for_later():
    lines = Lines()
    assert lines.feed(b"one\r\ntw") == [b"one"]
    assert lines.feed(b"o\nthr") == [b"two"]
    assert lines.rest() == [b"thr"]
    assert lines.rest() == []
