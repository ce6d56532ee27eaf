"""The server classes: models, shared settings, and resources after many clients."""

import os
import select
import socket
import struct
import threading

import pytest
from conftest import (MODELS, TIMEOUT, child_processes, open_descriptors, wait_until,
                      zombie_children)

from classicnet import build_server, running, servers
from classicnet.errors import UsageError
from classicnet.testing import running_server

# How long a test watches for something that must NOT happen (an answer
# that a plain server cannot give yet).  A slow machine can only make such
# a test pass more easily, never fail it.
NOT_YET = 0.3


def connect(address):
    return socket.create_connection(address, timeout=TIMEOUT)


def ask(client, data):
    client.sendall(data)
    return client.recv(len(data))


def answered_within(client, seconds):
    readable, _, _ = select.select([client], [], [], seconds)
    return bool(readable)


def test_plain_serves_one_client_at_a_time():
    with running_server("echo", model="plain") as address:
        with connect(address) as first, connect(address) as second:
            assert ask(first, b"1") == b"1"
            second.sendall(b"2")
            assert not answered_within(second, NOT_YET)
            first.close()
            assert answered_within(second, TIMEOUT)
            assert second.recv(1) == b"2"


@pytest.mark.parametrize("model", [m for m in MODELS if m != "plain"])
def test_concurrent_models_serve_clients_together(model):
    with running_server("echo", model=model) as address:
        with connect(address) as first, connect(address) as second:
            assert ask(first, b"1") == b"1"
            assert ask(second, b"2") == b"2"     # while first is still connected
            assert ask(first, b"3") == b"3"


def test_threading_serves_each_client_in_its_own_thread():
    with running_server("echo", model="threading") as address:
        clients = [connect(address) for _ in range(20)]
        try:
            for number, client in enumerate(clients):
                assert ask(client, b"%d" % number) == b"%d" % number
            assert threading.active_count() >= 20
        finally:
            for client in clients:
                client.close()


def test_a_hundred_clients_connecting_at_once_are_all_queued():
    # While a plain server is busy, new clients wait in the listen backlog.
    # With socketserver's default backlog of 5 most of them would be dropped.
    server = build_server("echo", model="plain", port=0)
    with running(server):
        address = server.server_address
        with connect(address) as busy:
            assert ask(busy, b"busy") == b"busy"
            waiting = [connect(address) for _ in range(100)]
        for number, client in enumerate(waiting):
            with client:
                assert ask(client, b"%03d" % number) == b"%03d" % number


def test_a_restart_on_the_same_port_works_at_once_with_a_client_connected():
    server = build_server("echo", model="threading", port=0)
    port = server.server_address[1]
    with running(server):
        client = connect(server.server_address)
        assert ask(client, b"x") == b"x"
    # The stopped server's connection is now in TIME_WAIT (or still open).
    again = build_server("echo", model="threading", port=port)
    with running(again), connect(again.server_address) as other:
        assert ask(other, b"y") == b"y"
    client.close()


@pytest.mark.skipif(not socket.has_ipv6, reason="no IPv6 support")
def test_an_ipv6_host_gives_an_ipv6_server():
    try:
        server = build_server("echo", host="::1", port=0)
    except OSError as error:
        pytest.skip(f"::1 is not usable here: {error}")
    with running(server):
        assert server.address_family == socket.AF_INET6
        with socket.create_connection(server.server_address[:2], timeout=TIMEOUT) as c:
            assert ask(c, b"six") == b"six"


def test_the_listen_backlog_and_reuse_settings():
    server = build_server("echo", port=0)
    try:
        assert server.request_queue_size >= 128
        assert server.socket.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR)
    finally:
        server.server_close()


def test_an_unknown_model_names_the_choices():
    with pytest.raises(UsageError, match="choose from: plain, threading"):
        servers.server_class("coroutines", "tcp")


def test_every_model_has_both_transports():
    for model in MODELS:
        for transport in ("tcp", "udp"):
            cls = servers.server_class(model, transport)
            assert cls.__name__.lower().endswith(f"{transport}server")


def reset(client):
    """Close with SO_LINGER 0, so the server sees a reset instead of an end."""
    client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    client.close()


needs_proc = pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc")


@needs_proc
@pytest.mark.parametrize("model", MODELS)
def test_hundreds_of_connections_leak_nothing(cli, model):
    # The server runs as a separate process, as a student would run it, so
    # its descriptors, threads and children are counted apart from the test's.
    server = cli("echo", f"--{model}")
    pid = server.pid
    with connect(server.address) as client:          # the server is fully up
        assert ask(client, b"up") == b"up"
    wait_until(lambda: not child_processes(pid))
    baseline = open_descriptors(pid)
    threads = len(os.listdir(f"/proc/{pid}/task"))
    for number in range(300):
        client = connect(server.address)
        assert ask(client, b"ping") == b"ping"
        if number % 3 == 0:
            reset(client)
        elif number % 3 == 1:
            client.sendall(b"left unread")          # vanish mid-conversation
            client.close()
        else:
            client.close()
    wait_until(lambda: open_descriptors(pid) <= baseline
               and len(os.listdir(f"/proc/{pid}/task")) <= threads
               and not child_processes(pid))
    assert zombie_children(pid) == []
    with connect(server.address) as client:          # and it still answers
        assert ask(client, b"ok") == b"ok"


@pytest.mark.parametrize("model", MODELS)
def test_stopping_cuts_an_idle_client(model):
    server = build_server("echo", model=model, port=0)
    client = None
    with running(server, grace=0):
        client = connect(server.server_address)
        assert ask(client, b"idle") == b"idle"
    # The server is stopped: the idle client's connection has been ended.
    assert answered_within(client, TIMEOUT)
    try:
        assert client.recv(10) == b""
    except ConnectionResetError:
        pass
    client.close()


def test_a_client_in_progress_finishes_within_the_grace_period():
    from classicnet.launcher import start, stop
    server = build_server("echo", model="threading", port=0)
    thread = start(server)
    client = connect(server.server_address)
    assert ask(client, b"a") == b"a"
    outcome = []
    stopper = threading.Thread(target=lambda: outcome.append(stop(server, thread, TIMEOUT)))
    stopper.start()
    thread.join(TIMEOUT)                     # serve_forever() has returned: stopping
    assert not thread.is_alive()
    assert ask(client, b"still here") == b"still here"     # served during the grace
    client.close()
    stopper.join(TIMEOUT)
    assert outcome == [(1, 0)]                               # finished, none cut


@pytest.mark.parametrize("model, settings", [("threading", {}), ("pool", {"pool_size": 1})])
def test_a_handler_error_is_logged_with_the_client_and_the_server_goes_on(caplog, model,
                                                                          settings):
    # In a pool of one, the one worker that met the error serves the next client.
    import socketserver

    class Broken(socketserver.BaseRequestHandler):
        def handle(self):
            if self.request.recv(10) == b"boom":
                raise RuntimeError("student bug")
            self.request.sendall(b"fine")

    with running_server(Broken, model=model, **settings) as address:
        with connect(address) as client:
            client.sendall(b"boom")
            assert client.recv(10) == b""                 # that connection ended
        with connect(address) as client:
            client.sendall(b"hello")
            assert client.recv(10) == b"fine"             # the others are served
    failures = [r for r in caplog.records if "failed while serving" in r.getMessage()]
    assert len(failures) == 1
    assert "Broken failed while serving 127.0.0.1:" in failures[0].getMessage()
    assert "student bug" in failures[0].exc_text or "student bug" in str(failures[0].exc_info)


def test_a_vanished_client_is_no_error(caplog):
    import socketserver

    class Talker(socketserver.BaseRequestHandler):
        def handle(self):
            self.request.recv(10)
            while True:
                self.request.sendall(b"x" * 65536)

    with running_server(Talker, model="threading") as address:
        client = connect(address)
        client.sendall(b"go")
        client.recv(10)
        reset(client)
        with connect(address) as other:           # the server goes on
            other.sendall(b"go")
            assert other.recv(1) == b"x"
    assert not [r for r in caplog.records if r.levelname == "ERROR"]
