"""TLS and Unix-domain sockets, served by the same handlers under every model."""

import errno
import os
import socket
import sys
import ssl
import stat
import threading
import warnings

import pytest
from conftest import TIMEOUT

from classicnet import fileclient, servers
from classicnet.endpoints import (Endpoint, family_of, format_address, read_address,
                                  unix_endpoint)
from classicnet.errors import UsageError
from classicnet.launcher import build_server, describe, running
from classicnet.testing import connect, running_server

UNIX = hasattr(socket, "AF_UNIX")
needs_unix = pytest.mark.skipif(not UNIX, reason="no Unix-domain sockets here")

# Every (model, transport) pair the server table offers.
PAIRS = sorted(servers.SERVER_CLASSES)


def endpoint_for(transport, directory):
    if transport.startswith("unix"):
        return Endpoint(transport, os.path.join(directory, f"{transport}.sock"))
    return Endpoint(transport, ("127.0.0.1", 0))


def client_for(address, transport, tls_files):
    kind = "udp" if transport in ("udp", "unix-dgram") else "tcp"
    tls = tls_files.client_context() if transport == "tls" else None
    return connect(address, kind, tls=tls)


@pytest.mark.parametrize("model, transport", PAIRS)
def test_every_model_serves_every_transport(model, transport, tls_files, short_tmp):
    tls = tls_files.server_context() if transport == "tls" else None
    with running_server("upper", model=model, tls=tls,
                        endpoint=endpoint_for(transport, short_tmp)) as address:
        with client_for(address, transport, tls_files) as client:
            if transport in ("udp", "unix-dgram"):
                assert client.request(b"hello") == b"HELLO"
            else:
                client.send(b"hello")
                assert client.recv_exactly(5) == b"HELLO"
    if transport.startswith("unix"):
        assert not os.path.exists(address), "the socket file is removed on stop"


def test_the_readiness_line_names_tls_and_unix(tls_files, short_tmp):
    server = build_server("echo", model="threading", tls=tls_files.server_context(),
                          endpoint=Endpoint("tls", ("127.0.0.1", 0)))
    try:
        assert describe(server).startswith("classicnet: serving echo (threading, tls) "
                                           "on 127.0.0.1:")
    finally:
        server.server_close()
    path = os.path.join(short_tmp, "echo.sock")
    server = build_server("echo", endpoint=unix_endpoint(path))
    try:
        assert describe(server) == f"classicnet: serving echo (plain, unix) on {path}"
    finally:
        server.server_close()


def test_tls_needs_a_context_and_only_tls_takes_one(tls_files):
    with pytest.raises(UsageError, match="needs an ssl.SSLContext"):
        build_server("echo", endpoint=Endpoint("tls", ("127.0.0.1", 0)))
    with pytest.raises(UsageError, match="takes no TLS context"):
        build_server("echo", port=0, tls=tls_files.server_context())
    with pytest.raises(UsageError, match="--unix-mode is for a Unix-domain socket"):
        build_server("echo", port=0, unix_mode=0o600)


# --- TLS: the handshake -------------------------------------------------------

class Events(list):
    """Collects a server's events; ``wait_for(kind)`` returns the first of a kind."""

    def __init__(self):
        super().__init__()
        self.changed = threading.Condition()

    def __call__(self, event):
        with self.changed:
            self.append(event)
            self.changed.notify_all()

    def wait_for(self, kind, timeout=TIMEOUT):
        with self.changed:
            found = self.changed.wait_for(
                lambda: next((e for e in self if e.kind == kind), None), timeout)
        assert found, f"no {kind} event within {timeout} s: {self}"
        return found


@pytest.fixture
def tls_server(tls_files):
    """``tls_server(model, **settings)``: an echo server over TLS, running,
    with its events collected; stopped after the test."""
    started = []

    def start(model="threading", handler="echo", **settings):
        server = build_server(handler, model=model, tls=tls_files.server_context(),
                              endpoint=Endpoint("tls", ("127.0.0.1", 0)), **settings)
        events = Events()
        server.events.subscribe(events)
        context = running(server)
        context.__enter__()
        started.append(context)
        return server.server_address[:2], events

    yield start
    for context in started:
        context.__exit__(None, None, None)


def tls_echo(address, tls_files, data=b"ping"):
    with connect(address, tls=tls_files.client_context()) as client:
        client.send(data)
        return client.recv_exactly(len(data))


@pytest.mark.parametrize("model", ["threading", "pool"]
                         + (["forking"] if hasattr(os, "fork") else []))
def test_a_client_that_never_says_hello_delays_nobody(model, tls_files):
    """The silent client connects first, so it is accepted first (the listen
    backlog is a queue); with --timeout 30 it would hold an accepting loop
    that shook hands for 30 s, three times the test's whole patience."""
    with running_server("echo", model=model, endpoint=Endpoint("tls", ("127.0.0.1", 0)),
                        tls=tls_files.server_context(), idle_timeout=30) as address:
        with socket.create_connection(address, timeout=TIMEOUT):      # silent
            assert tls_echo(address, tls_files) == b"ping"


def test_under_plain_a_silent_client_holds_the_server_at_most_the_timeout(
        tls_server, tls_files):
    address, events = tls_server("plain", idle_timeout=0.5)
    with socket.create_connection(address, timeout=TIMEOUT):
        assert tls_echo(address, tls_files) == b"ping"
    refused = events.wait_for("refused")
    assert refused.detail["reason"] == "TLS handshake failed: no hello within --timeout"


def test_a_plain_text_client_is_one_line_of_log_at_info(tls_server, caplog):
    address, events = tls_server("threading")
    with caplog.at_level("INFO", logger="classicnet"):
        with socket.create_connection(address, timeout=TIMEOUT) as sock:
            sock.sendall(b"GET / HTTP/1.0\r\n\r\n")
            assert sock.recv(100) == b""          # the server closed at once
        refused = events.wait_for("refused")
    assert refused.client[0] == "127.0.0.1"
    assert refused.detail["reason"] in ("TLS handshake failed: http request",
                                        "TLS handshake failed: wrong version number")
    lines = [r for r in caplog.records if "TLS handshake failed" in r.getMessage()]
    assert len(lines) == 1 and lines[0].levelname == "INFO" and not lines[0].exc_info
    assert "127.0.0.1:" in lines[0].getMessage()


def test_a_client_that_refuses_the_certificate_is_logged(tls_server):
    address, events = tls_server("threading")
    untrusting = ssl.create_default_context()      # the system's CAs only
    with pytest.raises(ssl.SSLCertVerificationError):
        Endpoint("tls", address, untrusting).connect(TIMEOUT)
    assert events.wait_for("refused").detail["reason"].startswith("TLS handshake failed")


def test_an_old_tls_version_is_refused(tls_server):
    address, events = tls_server("threading")
    old = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    old.check_hostname, old.verify_mode = False, ssl.CERT_NONE
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)   # that is the point
            old.maximum_version = ssl.TLSVersion.TLSv1_1
            old.minimum_version = ssl.TLSVersion.TLSv1
    except (ValueError, ssl.SSLError):
        pytest.skip("this OpenSSL cannot even offer TLS 1.1")
    with pytest.raises((ssl.SSLError, ConnectionError)):
        Endpoint("tls", address, old).connect(TIMEOUT)
    assert events.wait_for("refused").detail["reason"].startswith("TLS handshake failed")


def test_a_client_that_leaves_mid_session_is_gone_not_an_error(tls_server, tls_files):
    address, events = tls_server("threading", handler="chargen")
    sock, _ = Endpoint("tls", address, tls_files.client_context()).connect(TIMEOUT)
    assert sock.recv(10)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\1\0\0\0\0\0\0\0")
    sock.close()
    if sys.implementation.name == "pypy":
        # PyPy's ssl reports the reset as ConnectionResetError, which chargen
        # expects and ends on quietly.
        events.wait_for("closed")
        assert not [e for e in events if e.kind == "failed"]
        return
    failed = events.wait_for("failed")      # CPython's: an SSLError
    assert failed.detail["reason"] == "gone"


def test_files_over_tls_streams_both_ways(tls_files, tmp_path):
    """Framing without MSG_WAITALL, and sendfile() without zero-copy."""
    root, local = tmp_path / "root", tmp_path / "local"
    root.mkdir()
    local.mkdir()
    data = os.urandom(3 * 1024 * 1024 + 17)
    (local / "big.bin").write_bytes(data)
    with running_server("files", endpoint=Endpoint("tls", ("127.0.0.1", 0)),
                        tls=tls_files.server_context(), root=str(root)) as address:
        endpoint = Endpoint("tls", address, tls_files.client_context())
        with fileclient.FileClient(endpoint) as client:
            assert client.put(str(local / "big.bin"))["size"] == len(data)
            client.get("big.bin", str(local / "copy.bin"))
    assert (root / "big.bin").read_bytes() == data
    assert (local / "copy.bin").read_bytes() == data


def test_a_resumed_download_over_tls_starts_at_its_offset(tls_files, tmp_path):
    """The server hashes the whole file first (leaving its position at the
    end), then sends from the offset: the copying path must seek there."""
    root, local = tmp_path / "root", tmp_path / "local"
    root.mkdir()
    local.mkdir()
    data = os.urandom(3 * 1024 * 1024 + 17)
    (root / "big.bin").write_bytes(data)
    (local / "copy.bin.part").write_bytes(data[:1234567])
    with running_server("files", endpoint=Endpoint("tls", ("127.0.0.1", 0)),
                        tls=tls_files.server_context(), root=str(root)) as address:
        endpoint = Endpoint("tls", address, tls_files.client_context())
        with fileclient.FileClient(endpoint) as client:
            answer = client.get("big.bin", str(local / "copy.bin"), resume=True)
    assert answer["offset"] == 1234567 and answer["size"] == len(data)
    assert (local / "copy.bin").read_bytes() == data


# --- Unix-domain sockets: the socket file -------------------------------------

@needs_unix
def test_the_socket_file_is_owner_only_unless_told(short_tmp):
    path = os.path.join(short_tmp, "echo.sock")
    with running_server("echo", endpoint=unix_endpoint(path)):
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with running_server("echo", endpoint=unix_endpoint(path), unix_mode=0o660):
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o660
    assert not os.path.exists(path)


@needs_unix
@pytest.mark.parametrize("kind", ["tcp", "udp"])
def test_a_stale_socket_is_replaced(short_tmp, kind):
    path = os.path.join(short_tmp, "stale.sock")
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM if kind == "tcp"
                         else socket.SOCK_DGRAM)
    dead.bind(path)
    dead.close()                                # the file stays, nobody behind it
    with running_server("echo", endpoint=unix_endpoint(path, kind)) as address:
        with connect(address, kind) as client:
            client.send(b"again")
            assert (client.recv_exactly(5) if kind == "tcp"
                    else client.sock.recv(100)) == b"again"


@needs_unix
def test_a_live_socket_is_not_taken_over(short_tmp):
    path = os.path.join(short_tmp, "live.sock")
    with running_server("echo", endpoint=unix_endpoint(path)):
        with pytest.raises(OSError) as caught:
            build_server("echo", endpoint=unix_endpoint(path))
        assert caught.value.errno == errno.EADDRINUSE
        with connect(path) as client:             # the first server still serves
            client.send(b"x")
            assert client.recv_exactly(1) == b"x"


@needs_unix
@pytest.mark.parametrize("what", ["file", "directory"])
def test_anything_else_at_the_path_is_refused_and_left_untouched(short_tmp, what):
    path = os.path.join(short_tmp, "precious")
    if what == "file":
        with open(path, "w") as file:
            file.write("my thesis")
    else:
        os.mkdir(path)
    with pytest.raises(OSError, match="not a socket"):
        build_server("echo", endpoint=unix_endpoint(path))
    if what == "file":
        with open(path) as file:
            assert file.read() == "my thesis"
    else:
        assert os.path.isdir(path)


@needs_unix
def test_a_socket_replaced_by_someone_else_is_not_removed(short_tmp):
    path = os.path.join(short_tmp, "echo.sock")
    server = build_server("echo", endpoint=unix_endpoint(path))
    os.unlink(path)
    with open(path, "w") as file:
        file.write("not ours")
    server.server_close()
    assert os.path.exists(path)


@needs_unix
def test_a_unix_stream_peer_is_named_by_its_pid_and_uid(short_tmp):
    if not hasattr(socket, "SO_PEERCRED"):
        pytest.skip("no SO_PEERCRED on this platform")
    path = os.path.join(short_tmp, "who.sock")
    server = build_server("who", model="threading", endpoint=unix_endpoint(path))
    events = Events()
    server.events.subscribe(events)
    with running(server):
        with connect(path) as client:
            client.send(b"?")
            client.recv_until()
        served = events.wait_for("served")
    assert served.client == f"pid {os.getpid()} uid {os.getuid()}"


@needs_unix
def test_a_unix_datagram_sender_is_named_by_its_address(short_tmp):
    path = os.path.join(short_tmp, "reply.sock")
    with running_server("reply", endpoint=unix_endpoint(path, "udp")):
        with connect(path, "udp") as client:
            answer = client.request(b"12345").decode()
            own = format_address(client.sock.getsockname())
    assert answer == f"from {own}: 5 bytes\n"


@needs_unix
def test_datagrams_no_one_could_be_answered_at_are_dropped(short_tmp):
    path = os.path.join(short_tmp, "echo.sock")
    server = build_server("echo", endpoint=unix_endpoint(path, "udp"))
    events = Events()
    server.events.subscribe(events)
    with running(server):
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as unnamed:
            unnamed.sendto(b"hello?", path)
        assert events.wait_for("dropped").detail["reason"] == "the sender has no name"
        with connect(path, "udp") as client:
            client.send(b"")
            client.send(b"after")
            assert client.sock.recv(100) == b"after"
    assert [e.detail["reason"] for e in events if e.kind == "dropped"] == [
        "the sender has no name", "empty datagram"]


# --- endpoints ---------------------------------------------------------------

def test_paths_are_endpoints_too():
    assert family_of("/tmp/x.sock") == socket.AF_UNIX
    assert format_address("/tmp/x.sock") == "/tmp/x.sock"
    assert format_address("") == "(unnamed)"
    assert format_address(b"\0abc") == "@abc"
    assert read_address("/tmp/x.sock") == "/tmp/x.sock"
    assert read_address("127.0.0.1:80") == ("127.0.0.1", 80)
    assert unix_endpoint("x.sock").address == os.path.abspath("x.sock")
    assert unix_endpoint("x.sock", "udp").transport == "unix-dgram"
    with pytest.raises(UsageError, match="--unix is empty"):
        unix_endpoint("")
    with socket.create_server(("127.0.0.1", 0)) as listening:
        with pytest.raises(UsageError, match="needs an ssl.SSLContext"):
            Endpoint("tls", listening.getsockname()).connect(TIMEOUT)


def test_a_client_over_the_limit_is_closed_without_a_handshake(tls_server, tls_files):
    address, events = tls_server("threading", max_connections=1)
    with connect(address, tls=tls_files.client_context()) as first:
        first.send(b"a")
        assert first.recv_exactly(1) == b"a"
        with socket.create_connection(address, timeout=TIMEOUT) as second:
            assert second.recv(100) == b""        # closed, and no plain text
        assert events.wait_for("refused").detail["reason"] == "too many connections"
        first.send(b"b")
        assert first.recv_exactly(1) == b"b"


@needs_unix
def test_files_over_a_unix_socket(short_tmp, tmp_path):
    data = os.urandom(1024 * 1024 + 3)
    (tmp_path / "up.bin").write_bytes(data)
    (tmp_path / "root").mkdir()
    path = os.path.join(short_tmp, "files.sock")
    with running_server("files", endpoint=unix_endpoint(path), root=str(tmp_path / "root")):
        with fileclient.FileClient(unix_endpoint(path)) as client:
            client.put(str(tmp_path / "up.bin"))
            client.get("up.bin", str(tmp_path / "down.bin"))
    assert (tmp_path / "down.bin").read_bytes() == data


# --- the words of a failed handshake, and of peers -----------------------------

def test_a_failed_handshake_is_said_in_a_few_words():
    from classicnet.servers.tls import handshake_problem
    wrong = ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number")
    wrong.reason = "WRONG_VERSION_NUMBER"
    eof = ssl.SSLEOFError(8, "EOF occurred in violation of protocol")
    eof.reason = "EOF"
    assert handshake_problem(TimeoutError("timed out")) == "no hello within --timeout"
    assert handshake_problem(wrong) == "wrong version number"
    assert handshake_problem(eof) == "the client closed the connection"
    assert handshake_problem(ConnectionResetError(104, "reset")) == \
        "the client closed the connection"
    assert handshake_problem(OSError(errno.EBADF, "Bad file descriptor")) == \
        "Bad file descriptor"


@needs_unix
def test_a_peer_with_a_path_keeps_it():
    from classicnet.servers.unix import peer_name
    one, other = socket.socketpair()
    with one, other:
        assert peer_name(one, "/tmp/client.sock") == "/tmp/client.sock"
        one.close()
        assert peer_name(one, "") == ""        # the socket cannot say: '' stays


def test_openssl_that_fails_is_one_line(tmp_path, monkeypatch):
    from classicnet.tls import make_pair
    fake = tmp_path / "bin" / "openssl"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\necho 'req: bad things happened' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(fake.parent))
    with pytest.raises(OSError, match="openssl failed: req: bad things happened"):
        make_pair(str(tmp_path / "certs"))
