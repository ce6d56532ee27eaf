"""classicnet.testing: the client with timeouts, the socket pair, the pytest plugin,
and a handler that misbehaves under every model."""

import configparser
import os
import re
import socket
import socketserver
import subprocess
import sys
import textwrap
import threading

import pytest

from classicnet import Option
from classicnet.errors import UsageError
from classicnet.testing import connect, running_server, socketpair_client
from conftest import MODELS, ROOT, TIMEOUT, classicnet_env


# --- Client -----------------------------------------------------------------

def test_recv_exactly_and_recv_until_gather_and_keep_the_rest():
    with socketpair_client("echo") as client:
        client.send(b"one\ntw")
        client.send(b"o\nthree")
        assert client.recv_until(b"\n") == b"one\n"
        assert client.recv_exactly(4) == b"two\n"
        assert client.recv_exactly(5) == b"three"


def test_recv_all_reads_until_the_handler_closes():
    with running_server("hello") as address, connect(address) as client:
        client.send(b"Ada\nexit\n")
        assert client.recv_all() == b"Welcome!\nHello, Ada!\n"


def test_a_handler_that_closes_early_is_an_eof_error_naming_what_came():
    with running_server("hello") as address, connect(address) as client:
        client.send(b"exit\n")
        with pytest.raises(EOFError, match=r"after 9 bytes while waiting for 100 bytes"):
            client.recv_exactly(100)


def test_a_silent_handler_is_a_timeout_not_a_hang():
    with running_server("echo") as address, connect(address, timeout=0.1) as client:
        with pytest.raises(TimeoutError):
            client.recv_until(b"\n")


def test_a_timeout_says_what_was_awaited_and_what_came():
    with running_server("hello") as address, connect(address) as client:
        client.send(b"Ada\n")
        client.recv_until(b"Hello")     # "Hello, Ada!\n" came in one piece
        client.sock.settimeout(0.2)
        with pytest.raises(TimeoutError, match=re.escape(
                "timed out after 0.2 s waiting for b'?'; received b', Ada!\\n' so far")):
            client.recv_until(b"?")
        with pytest.raises(TimeoutError, match="waiting for 100 bytes; received"):
            client.recv_exactly(100)
        with pytest.raises(TimeoutError, match="waiting for the handler to close"):
            client.recv_all()


def test_a_silent_datagram_handler_is_a_timeout_naming_the_request():
    with running_server("discard", transport="udp") as address:
        with connect(address, "udp", timeout=0.1) as client:
            with pytest.raises(TimeoutError,
                               match=r"waiting for an answer to b'anyone\?'"):
                client.request(b"anyone?")


def test_request_sends_a_datagram_and_returns_the_answer():
    with running_server("upper", transport="udp") as address:
        with connect(address, "udp") as client:
            assert client.request(b"abc") == b"ABC"


def test_connect_names_the_transports():
    with pytest.raises(ValueError, match="transport must be 'tcp' or 'udp', not 'sctp'"):
        connect(("127.0.0.1", 9), "sctp")


# --- socketpair_client ------------------------------------------------------

class Greeter(socketserver.BaseRequestHandler):
    """Greets with a setting that prepare_server() checked."""

    options = [Option("--greeting", "what to say", str, "hi")]

    @classmethod
    def prepare_server(cls, server):
        server.shared.greeting = server.options.greeting.upper()

    def handle(self):
        self.request.sendall(self.server.shared.greeting.encode() + b"\n")


def test_socketpair_client_gives_the_handler_its_settings():
    with socketpair_client(Greeter) as client:
        assert client.recv_all() == b"HI\n"
    with socketpair_client(Greeter, greeting="ni hao") as client:
        assert client.recv_all() == b"NI HAO\n"
    with pytest.raises(UsageError, match="Greeter has no setting .colour."):
        with socketpair_client(Greeter, colour="red"):
            pass


class Raising(socketserver.BaseRequestHandler):
    def handle(self):
        self.request.recv(10)
        raise ValueError("the handler's own mistake")


def test_socketpair_client_raises_what_the_handler_raised():
    with pytest.raises(ValueError, match="the handler's own mistake"):
        with socketpair_client(Raising) as client:
            client.send(b"x")


class Stubborn(socketserver.BaseRequestHandler):
    """Ignores the end of the stream until released."""

    released = threading.Event()

    def handle(self):
        self.released.wait(TIMEOUT)


def test_socketpair_client_fails_a_handler_that_does_not_return():
    try:
        with pytest.raises(TimeoutError, match="Stubborn.handle.. did not return"):
            with socketpair_client(Stubborn, timeout=0.1):
                pass
    finally:
        Stubborn.released.set()


def test_socketpair_client_is_for_tcp_handlers():
    with pytest.raises(UsageError, match="cannot serve tcp"):
        with socketpair_client(socketserver.DatagramRequestHandler):
            pass


# --- the pytest plugin ------------------------------------------------------

def test_the_plugin_is_registered_as_a_pytest11_entry_point():
    config = configparser.ConfigParser()
    config.read(os.path.join(ROOT, "setup.cfg"))
    entries = config["options.entry_points"]["pytest11"].split()
    assert entries == ["classicnet.pytest_plugin", "=", "classicnet.pytest_plugin"]


def test_the_plugin_fixtures_start_and_stop_servers_and_clients(tmp_path):
    (tmp_path / "test_student.py").write_text(textwrap.dedent('''\
        import socket

        def test_upper(classicnet_server, classicnet_client):
            client = classicnet_client(classicnet_server("upper"))
            client.send(b"abc")
            assert client.recv_exactly(3) == b"ABC"

        def test_udp(classicnet_server, classicnet_client):
            address = classicnet_server("echo", transport="udp", model="plain")
            assert classicnet_client(address, "udp").request(b"x") == b"x"

        def test_stopped(classicnet_server):
            test_stopped.address = classicnet_server("echo")

        def test_after():
            try:
                socket.create_connection(test_stopped.address, timeout=5).close()
            except ConnectionRefusedError:
                return
            raise AssertionError("the server outlived its test")
        '''))
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "classicnet.pytest_plugin",
         "-p", "no:cacheprovider", "test_student.py"],
        cwd=tmp_path, env=classicnet_env(), capture_output=True, text=True,
        timeout=TIMEOUT * 3)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 passed" in result.stdout


def test_pytest_is_not_needed_to_serve():
    code = ("import sys; sys.modules['pytest'] = None\n"
            "import classicnet.cli, classicnet.testing, classicnet.client\n")
    subprocess.run([sys.executable, "-c", code], env=classicnet_env(),
                   check=True, timeout=TIMEOUT)


# --- a handler that raises, hangs up or says nothing, under every model -----

MOODY = '''\
import socketserver


class MoodyHandler(socketserver.BaseRequestHandler):
    """Raises at "boom", hangs up at "bye", says nothing at "quiet", else echoes."""

    def handle(self):
        first = self.request.recv(1024)
        if first == b"boom":
            raise ValueError("boom from the student's handler")
        if first == b"bye":
            return
        if first == b"quiet":
            while self.request.recv(1024):
                pass
            return
        self.request.sendall(first)
'''


def moody_session(address, message, half_close=False):
    with connect(address) as client:
        client.send(message)
        if half_close:
            client.sock.shutdown(socket.SHUT_WR)
        return client.recv_all()


@pytest.mark.parametrize("model", MODELS)
def test_a_misbehaving_handler_never_takes_the_server_down(cli, tmp_path, model):
    (tmp_path / "moody.py").write_text(MOODY)
    server = cli("moody.py:MoodyHandler", f"--{model}", cwd=tmp_path)
    address = server.address
    with connect(address) as boom:
        boom_port = boom.sock.getsockname()[1]
        boom.send(b"boom")
        assert boom.recv_all() == b""                   # closed, no answer
    assert moody_session(address, b"bye") == b""
    assert moody_session(address, b"quiet", half_close=True) == b""
    assert moody_session(address, b"still there?") == b"still there?"
    assert server.stop() == 0
    log = server.log_text()
    assert log.count("Traceback (most recent call last)") == 1
    assert f"MoodyHandler failed while serving 127.0.0.1:{boom_port}" in log
    assert "ValueError: boom from the student's handler" in log
