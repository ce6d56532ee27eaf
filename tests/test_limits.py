"""The limits every server keeps: idle timeout, connection cap, datagram safety."""

import select
import socket
import socketserver
import struct

import pytest

from classicnet.endpoints import address_in_line
from classicnet.errors import UsageError
from classicnet.launcher import build_server
from classicnet.servers import datagrams, streams
from classicnet.testing import running_server
from conftest import MODELS, TIMEOUT, run_cli
from resources import (REFUSED, closed_by_server, connect, greeted,
                       greeted_eventually, read_until, read_until_closed, settles_to)


class TimeoutReporter(socketserver.BaseRequestHandler):
    """Tells the client which receive timeout the kernel holds for its socket."""

    def handle(self):
        raw = self.request.getsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, 16)
        seconds, microseconds = struct.unpack("@ll", raw)
        timeout = seconds + microseconds / 1_000_000
        self.request.sendall(repr(timeout or None).encode())


class PatientReporter(TimeoutReporter):
    """A handler that lifts the idle timeout for its own clients."""

    idle_timeout = None


# --- idle timeout ----------------------------------------------------------

@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("setting, expected", [
    ({}, repr(streams.DEFAULT_IDLE_TIMEOUT)),
    ({"idle_timeout": 7}, "7.0"),
    ({"idle_timeout": 0}, "None"),
])
def test_connection_sockets_get_the_idle_timeout(model, setting, expected):
    with running_server(TimeoutReporter, model=model, **setting) as address:
        with connect(address) as client:
            assert read_until_closed(client).decode() == expected


@pytest.mark.parametrize("model", MODELS)
def test_a_handler_may_lift_the_idle_timeout(model):
    with running_server(PatientReporter, model=model, idle_timeout=7) as address:
        with connect(address) as client:
            assert read_until_closed(client).decode() == "None"


@pytest.mark.parametrize("model", MODELS)
def test_a_silent_client_is_disconnected(model):
    with running_server("echo", model=model, idle_timeout=0.2) as address:
        with connect(address) as client:
            client.sendall(b"one byte at a time")
            assert client.recv(100) == b"one byte at a time"
            assert closed_by_server(client)


@pytest.mark.parametrize("model", MODELS)
def test_a_client_that_never_reads_is_disconnected(model):
    with running_server("echo", model=model, idle_timeout=0.2) as address:
        with connect(address) as client:
            client.setblocking(False)
            with pytest.raises((ConnectionResetError, BrokenPipeError)):
                while select.select([], [client], [], TIMEOUT)[1]:
                    client.send(b"x" * 65536)   # until the server gives up on us


def test_a_chat_member_may_listen_longer_than_the_idle_timeout():
    with running_server("chat", idle_timeout=0.2) as chat, \
            running_server("echo", idle_timeout=0.4) as echo:
        with connect(chat) as listener:
            assert read_until(listener, b"\n").startswith(b"* welcome")
            speaker = connect(chat)
            assert read_until(speaker, b"\n").startswith(b"* welcome")
            assert read_until(listener, b"\n").endswith(b" joined\n")
            with connect(echo) as timed:            # a clock: this takes 0.4 s
                assert closed_by_server(timed)
            speaker.sendall(b"still there?\n")
            assert read_until(listener, b"\n").endswith(b": still there?\n")
            speaker.close()


def test_plain_serves_the_next_client_once_a_silent_one_times_out():
    with running_server("hello", model="plain", idle_timeout=0.2) as address:
        with connect(address) as silent, connect(address) as waiting:
            assert silent.recv(100) == b"Welcome!\n"
            assert waiting.recv(100) == b"Welcome!\n"      # only after the timeout
            assert closed_by_server(silent)


# --- connection cap --------------------------------------------------------

@pytest.mark.parametrize("model", ["threading", "forking"] if "forking" in MODELS
                         else ["threading"])
def test_max_connections_refuses_the_next_until_one_leaves(model):
    with running_server("hello", model=model, max_connections=3) as address:
        clients = [greeted(address) for _ in range(3)]
        assert None not in clients
        with connect(address) as extra:
            assert read_until_closed(extra) == \
                b"classicnet: too many connections (at most 3); try again later\n"
        clients.pop().sendall(b"exit")
        clients.append(greeted_eventually(address))
        clients[-1].sendall(b"you\n")
        assert clients[-1].recv(100) == b"Hello, you!\n"
        for client in clients:
            client.close()


def test_a_flood_past_max_connections_is_refused_and_the_server_recovers():
    with running_server("hello", model="threading", max_connections=5) as address:
        flood = [connect(address) for _ in range(60)]
        answers = [client.recv(100) for client in flood]
        welcomed = [c for c, answer in zip(flood, answers) if answer == b"Welcome!\n"]
        assert len(welcomed) == 5
        assert sum(answer.startswith(REFUSED) for answer in answers) == 55
        for client in flood:
            client.close()
        with greeted_eventually(address) as client:
            client.sendall(b"again\n")
            assert client.recv(100) == b"Hello, again!\n"


def test_the_default_cap_keeps_design_mds_promise_of_500():
    assert streams.DEFAULT_MAX_CONNECTIONS >= 500     # served: see test_cli.py


def test_no_connection_limit_when_zero():
    with running_server("hello", model="threading", max_connections=0) as address:
        clients = [greeted(address) for _ in range(3)]
        assert None not in clients
        for client in clients:
            client.close()


# --- datagram safety -------------------------------------------------------

def udp_client():
    client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    client.settimeout(TIMEOUT)
    return client


def test_datagrams_that_must_not_be_answered_are_dropped():
    server = build_server("reply", transport="udp", host="127.0.0.1", port=0)
    try:
        host, port = server.server_address
        assert server.verify_request((b"x", server.socket), ("127.0.0.1", 40000))
        assert not server.verify_request((b"", server.socket), ("127.0.0.1", 40000))
        assert not server.verify_request((b"x", server.socket), ("127.0.0.1", 0))
        assert not server.verify_request((b"x", server.socket), (host, port))
    finally:
        server.server_close()


def test_a_server_bound_to_every_address_ignores_its_own_port():
    server = build_server("echo", transport="udp", host="0.0.0.0", port=0)
    try:
        port = server.server_address[1]
        assert not server.verify_request((b"x", server.socket), ("127.0.0.1", port))
        assert server.verify_request((b"x", server.socket), ("127.0.0.1", port + 1))
    finally:
        server.server_close()


@pytest.mark.parametrize("model", MODELS)
def test_empty_datagrams_get_no_answer(model):
    with running_server("reply", model=model, transport="udp") as address:
        with udp_client() as client:
            client.sendto(b"", address)
            client.sendto(b"x", address)
            answer = client.recv(200).decode()
            assert answer.endswith(": 1 bytes\n")


def test_a_server_never_answers_itself():
    server = build_server("reply", model="threading", transport="udp",
                          host="127.0.0.1", port=0)
    from classicnet.launcher import running
    with running(server), udp_client() as client:
        server.socket.sendto(b"talking to myself", server.server_address)
        client.sendto(b"ab", server.server_address)
        assert client.recv(200).endswith(b": 2 bytes\n")


def test_udp_rate_limits_answers_per_host():
    with running_server("echo", model="threading", transport="udp",
                        udp_rate=5) as address, udp_client() as client:
        for number in range(50):
            client.sendto(b"%d" % number, address)
        answers = [client.recv(100)]
        while select.select([client], [], [], 0.5)[0]:
            answers.append(client.recv(100))
        # 5 a second; the 50 may straddle the turn of a second.
        assert 1 <= len(answers) <= 10


def test_no_rate_limit_when_zero():
    with running_server("echo", model="threading", transport="udp",
                        udp_rate=0) as address, udp_client() as client:
        for number in range(50):
            client.sendto(b"%d" % number, address)
            assert client.recv(100) == b"%d" % number


class Amplifier(socketserver.BaseRequestHandler):
    """Answers "big" with 100 bytes; anything else with itself."""

    def handle(self):
        data, sock = self.request
        answer = b"x" * 100 if data == b"big" else data
        sock.sendto(answer, self.client_address)


class DeclaredAmplifier(Amplifier):
    reply_allowance = 36            # 64 + 36: exactly the 100 bytes it sends


class Mirror(socketserver.BaseRequestHandler):
    """Answers each datagram with itself, twice."""

    def handle(self):
        data, sock = self.request
        sock.sendto(data, self.client_address)
        sock.sendto(data, self.client_address)


def test_a_long_datagram_may_get_as_many_bytes_back_but_no_more():
    with running_server(Mirror, model="plain", transport="udp") as address:
        with udp_client() as client:
            client.sendto(b"x" * 1000, address)
            client.sendto(b"short", address)
            assert client.recv(2000) == b"x" * 1000
            assert client.recv(2000) == b"short"        # not the second 1000
            assert client.recv(2000) == b"short"        # 10 bytes: under 64


@pytest.mark.parametrize("model", MODELS)
def test_datagram_answers_are_no_larger_than_the_question(model, caplog):
    with running_server(Amplifier, model=model, transport="udp") as address:
        with udp_client() as client:
            client.sendto(b"big", address)
            client.sendto(b"small", address)
            assert client.recv(200) == b"small"
    if model != "forking":          # a child's log stays in the child
        assert settles_to(lambda: "answer of 100 bytes not sent" in caplog.text, True)


def test_a_handler_may_declare_a_larger_answer():
    with running_server(DeclaredAmplifier, transport="udp") as address:
        with udp_client() as client:
            client.sendto(b"big", address)
            assert client.recv(200) == b"x" * 100


def test_the_handler_socket_still_reads_like_a_socket():
    server = build_server("echo", transport="udp", host="127.0.0.1", port=0)
    try:
        with udp_client() as client:
            client.sendto(b"hi", server.server_address)
            (data, sock), _ = server.get_request()
            assert data == b"hi"
            assert sock.getsockname() == server.server_address
            assert sock.budget == datagrams.SHORT_ANSWER
            assert sock.received == 2
    finally:
        server.server_close()


# --- settings from the command line and the launcher -----------------------

def test_build_server_rejects_an_unknown_setting():
    with pytest.raises(UsageError, match="no setting 'max_connection'"):
        build_server("echo", port=0, max_connection=3)


@pytest.mark.parametrize("flag", ["--timeout", "--max-connections", "--udp-rate"])
def test_a_negative_limit_is_a_usage_error(flag):
    result = run_cli("echo", "--port", "0", flag, "-1")
    assert result.returncode == 2
    assert "'-1'" in result.stderr.splitlines()[-1]
    assert "Traceback" not in result.stderr


def test_the_limits_reach_the_server_from_the_command_line(cli):
    server = cli("hello", "--threading", "--max-connections", "1", "--timeout", "5")
    with greeted(server.address) as first:
        assert greeted(server.address) is None
        first.sendall(b"exit")
    assert server.stop() == 0


# --- reachable from this machine only, unless asked ------------------------

def test_the_server_listens_on_loopback_by_default(cli):
    server = cli("echo")
    assert address_in_line(server.ready_line)[0] == "127.0.0.1"
    assert server.stop() == 0


def test_the_handler_socket_offers_no_way_around_the_budget():
    server = build_server("echo", transport="udp", host="127.0.0.1", port=0)
    try:
        with udp_client() as client:
            client.sendto(b"hi", server.server_address)
            (_, sock), _ = server.get_request()
        for name in ("send", "sendall", "sendmsg", "sendfile"):
            assert not hasattr(sock, name)
        assert sock.fileno() == server.socket.fileno()
        assert sock.family == server.socket.family
    finally:
        server.server_close()
