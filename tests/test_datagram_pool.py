"""The pool model for UDP (--pool N --udp): N threads started once, each
reading the socket, under the same guards as every datagram server."""

import select
import socket
import socketserver
import threading

import pytest

from classicnet import launcher
from classicnet.testing import running_server

from conftest import TIMEOUT


def udp_client():
    client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    client.settimeout(TIMEOUT)
    return client


def answers_within(client, seconds=0.5):
    """Every datagram that arrives until none has come for *seconds*."""
    answers = []
    while select.select([client], [], [], seconds)[0]:
        answers.append(client.recv(200))
    return answers


def test_workers_are_started_once_and_named_for_the_pool():
    with running_server("who", model="pool", transport="udp", pool_size=3) as address:
        with udp_client() as client:
            names = set()
            for _ in range(20):
                client.sendto(b"?", address)
                names.add(client.recv(200).decode().split(" in ")[0])
    assert names <= {f"thread classicnet-pool-{n}" for n in (1, 2, 3)}


class Rendezvous(socketserver.BaseRequestHandler):
    """Answers a datagram only once three are being handled at the same time."""

    meeting = None

    def handle(self):
        data, sock = self.request
        self.meeting.wait()
        sock.sendto(data, self.client_address)


def meeting_of_three(seconds):
    class Meeting(Rendezvous):
        meeting = threading.Barrier(3, timeout=seconds)
    return Meeting


def test_the_pool_handles_n_datagrams_at_once():
    with running_server(meeting_of_three(TIMEOUT), model="pool", transport="udp",
                        pool_size=3) as address:
        with udp_client() as client:
            for number in range(3):
                client.sendto(b"%d" % number, address)
            got = [client.recv(200) for _ in range(3)]
    assert sorted(got) == [b"0", b"1", b"2"]


def test_the_pool_handles_no_more_than_n_at_once():
    with running_server(meeting_of_three(0.3), model="pool", transport="udp",
                        pool_size=2) as address:
        with udp_client() as client:
            for number in range(3):
                client.sendto(b"%d" % number, address)
            assert answers_within(client, 1.0) == []    # two can never meet three


def test_the_guards_hold_under_the_pool():
    with running_server("reply", model="pool", transport="udp",
                        pool_size=4) as address:
        with udp_client() as client:
            client.sendto(b"", address)             # empty: never answered
            client.sendto(b"x", address)
            assert client.recv(200).endswith(b": 1 bytes\n")
            assert answers_within(client, 0.2) == []


def test_the_rate_limit_is_shared_by_the_workers():
    with running_server("echo", model="pool", transport="udp", pool_size=4,
                        udp_rate=5) as address, udp_client() as client:
        for number in range(50):
            client.sendto(b"%d" % number, address)
        answers = answers_within(client)
        # 5 a second; the 50 may straddle the turn of a second.
        assert 1 <= len(answers) <= 10


class Amplifier(socketserver.BaseRequestHandler):
    def handle(self):
        data, sock = self.request
        sock.sendto(b"x" * 100 if data == b"big" else data, self.client_address)


def test_answers_are_no_larger_than_the_question_under_the_pool():
    with running_server(Amplifier, model="pool", transport="udp") as address:
        with udp_client() as client:
            client.sendto(b"big", address)
            client.sendto(b"small", address)
            assert client.recv(200) == b"small"


def test_stop_ends_every_worker():
    server = launcher.build_server("echo", model="pool", transport="udp", port=0,
                                   pool_size=3)
    thread = launcher.start(server)
    with udp_client() as client:
        client.sendto(b"hi", server.server_address)
        assert client.recv(100) == b"hi"
    assert launcher.stop(server, thread, grace=0) == (0, 0)
    thread.join(TIMEOUT)
    assert not thread.is_alive()
    assert len(server._workers) == 3
    assert not any(worker.is_alive() for worker in server._workers)


def test_the_pool_flag_serves_udp(cli):
    server = cli("who", "--pool", "2", "--udp")
    assert "(pool, udp)" in server.ready_line
    with udp_client() as client:
        client.sendto(b"?", server.address)
        assert client.recv(200).startswith(b"thread classicnet-pool-")
    assert server.stop() == 0
