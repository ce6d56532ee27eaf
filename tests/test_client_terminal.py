"""The client on a terminal: driven through a pseudo-terminal, as a person would."""

import os
import select
import socket
import socketserver
import struct
import subprocess

import pytest

from classicnet.testing import running_server
from conftest import TIMEOUT, classicnet_command, classicnet_env

pytest.importorskip("termios")
import fcntl  # noqa: E402  (after the skip: POSIX only)
import termios  # noqa: E402


def become_controlling_terminal():
    """In the child: make the pty its terminal, so Ctrl-C there is a SIGINT."""
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class Terminal:
    """``python -m classicnet client ARGS`` on a pseudo-terminal."""

    def __init__(self, *args):
        self.master, slave = os.openpty()
        self.process = subprocess.Popen(
            classicnet_command("client", *args),
            stdin=slave, stdout=slave, stderr=slave, env=classicnet_env(),
            start_new_session=True, preexec_fn=become_controlling_terminal)
        os.close(slave)
        self.screen = b""

    def expect(self, text):
        """Read the screen until *text* appears; return the screen so far."""
        while text not in self.screen:
            ready, _, _ = select.select([self.master], [], [], TIMEOUT)
            assert ready, f"waited for {text!r}; the screen shows {self.screen!r}"
            try:
                chunk = os.read(self.master, 4096)
            except OSError:             # EIO: the client has exited
                chunk = b""
            assert chunk, f"the client ended before {text!r}: {self.screen!r}"
            self.screen += chunk
        return self.screen

    def type(self, keys):
        os.write(self.master, keys)

    def exit_status(self):
        return self.process.wait(TIMEOUT)

    def close(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(TIMEOUT)
        os.close(self.master)


@pytest.fixture
def terminal():
    opened = []

    def open_terminal(*args):
        opened.append(Terminal(*args))
        return opened[-1]

    yield open_terminal
    for each in opened:
        each.close()


class RecordingUpperHandler(socketserver.BaseRequestHandler):
    """Upper-cases like ``upper`` and keeps every byte it received."""

    received = []

    def handle(self):
        while data := self.request.recv(1024):
            self.received.append(data)
            self.request.sendall(data.upper())


def test_terminal_sends_each_line_and_prints_the_answer(terminal):
    RecordingUpperHandler.received = []
    with running_server(RecordingUpperHandler) as (host, port):
        term = terminal("--tcp", "--port", str(port))
        term.expect(b"connected to 127.0.0.1:")
        term.expect(b"> ")
        term.type(b"abc\n")
        term.expect(b"ABC")
        term.type(b"\n")                  # an empty line is never sent
        term.type("x 你好\n".encode())
        term.expect("X 你好".encode())
        term.type(b"##\n")
        term.expect(b"bye")
        assert term.exit_status() == 0
    assert b"".join(RecordingUpperHandler.received) == "abc\nx 你好\n".encode()


def test_terminal_shows_the_banner_and_when_the_server_closes(terminal):
    with running_server("hello") as (host, port):
        term = terminal("hello", "--port", str(port))
        term.expect(b"Welcome!")
        term.type(b"Ada\n")
        term.expect(b"Hello, Ada!")
        term.type(b"exit\n")
        screen = term.expect(b"connection closed by 127.0.0.1:")
        assert term.exit_status() == 0
    assert screen.index(b"Welcome!") < screen.index(b"Hello, Ada!")


@pytest.mark.parametrize("key", [b"\x04", b"\x03"], ids=["ctrl-d", "ctrl-c"])
def test_terminal_leaves_cleanly_on_ctrl_d_and_ctrl_c(terminal, key):
    with running_server("echo") as (host, port):
        term = terminal("echo", "--port", str(port))
        term.expect(b"> ")
        term.type(key)
        screen = term.expect(b"bye")
        assert term.exit_status() == 0
    assert b"Traceback" not in screen


def test_terminal_udp_shows_who_answered(terminal):
    with running_server("reply") as (host, port):
        term = terminal("reply", "--port", str(port))
        term.expect(b"> ")
        term.type(b"four\n")
        term.expect(f"127.0.0.1:{port}: from 127.0.0.1:".encode())
        term.expect(b": 5 bytes")
        term.type(b"\x04")
        term.expect(b"bye")
        assert term.exit_status() == 0


class RudeHandler(socketserver.BaseRequestHandler):
    """Sends bytes that are not UTF-8 and a terminal control sequence."""

    def handle(self):
        self.request.sendall(b"bad \xff\x1b[2J end\n")
        self.request.recv(1024)


def test_terminal_shows_bytes_that_are_not_utf8_safely(terminal):
    with running_server(RudeHandler) as (host, port):
        term = terminal("--tcp", "--port", str(port))
        screen = term.expect(b" end")
        term.type(b"##\n")
        assert term.exit_status() == 0
    assert b"bad \\xff\\x1b[2J end" in screen
    assert b"\x1b[2J" not in screen


class ResettingHandler(socketserver.BaseRequestHandler):
    """Reads one message, then resets the connection (a crash, as the client sees it)."""

    def handle(self):
        self.request.recv(1024)
        self.request.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                struct.pack("ii", 1, 0))
        self.request.close()


def test_terminal_says_when_the_connection_is_lost(terminal):
    with running_server(ResettingHandler) as (host, port):
        term = terminal("--tcp", "--port", str(port))
        term.expect(b"> ")
        term.type(b"crash please\n")
        term.expect(b"lost: Connection reset")
        assert term.exit_status() == 1


def test_terminal_udp_leaves_on_the_leave_word(terminal):
    with running_server("echo", transport="udp") as (host, port):
        term = terminal("echo", "--udp", "--port", str(port))
        term.expect(b"> ")
        term.type(b"##\n")
        term.expect(b"bye")
        assert term.exit_status() == 0


def test_terminal_over_tls_and_over_a_unix_socket(terminal, tls_files, short_tmp):
    from classicnet.endpoints import Endpoint, unix_endpoint
    with running_server("hello", endpoint=Endpoint("tls", ("127.0.0.1", 0)),
                        tls=tls_files.server_context()) as (host, port):
        term = terminal("hello", "--tls", "--cafile", tls_files.ca, "--port", str(port))
        term.expect(b"Welcome!")
        term.type(b"Ada\n")
        term.expect(b"Hello, Ada!")
        term.type(b"exit\n")
        term.expect(b"connection closed by 127.0.0.1:")
        assert term.exit_status() == 0
    path = os.path.join(short_tmp, "hello.sock")
    with running_server("hello", endpoint=unix_endpoint(path)):
        term = terminal("hello", "--unix", path)
        term.expect(b"Welcome!")
        term.type(b"##\n")
        term.expect(b"bye")
        assert term.exit_status() == 0
