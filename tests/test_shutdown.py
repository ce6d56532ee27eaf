"""Graceful shutdown, as a user sees it: the command line in a subprocess,
stopped with Ctrl-C (SIGINT to the whole process group, as a terminal sends
it) or SIGTERM, under every model."""

import os
import select
import signal
import socket
import socketserver
import threading
import time

import pytest

from classicnet import launcher
from classicnet.launcher import build_server, running, start, stop
from conftest import MODELS, TIMEOUT
from resources import (children, closed_by_server, connect, no_more_than,
                       process_exists, read_until_closed, settles_to, usage)


def echoed(client, data=b"ping"):
    client.sendall(data)
    return client.recv(100) == data


def echo_with_a_client(cli, model, *args):
    """``python -m classicnet echo --MODEL -v ARGS`` and a client it has answered."""
    server = cli("echo", f"--{model}", "-v", *args)
    client = connect(server.address)
    assert echoed(client)
    return server, client


@pytest.mark.parametrize("model", MODELS)
def test_a_client_in_progress_finishes_within_the_grace(cli, model):
    server, client = echo_with_a_client(cli, model, "--grace", "60")
    with client:
        server.ctrl_c()
        assert "1 client(s) being served" in server.wait_for_log("stopping:")
        assert echoed(client, b"still served")
        client.shutdown(socket.SHUT_WR)
        assert read_until_closed(client) == b""
        assert server.wait() == 0             # long before the 60 s grace
    assert "stopped: 1 client(s) finished, 0 cut off" in server.wait_for_log("stopped:")


@pytest.mark.parametrize("model", MODELS)
def test_an_idle_client_is_cut_after_the_grace(cli, model):
    server, idle = echo_with_a_client(cli, model, "--grace", "0.3")
    with idle:
        server.send_signal(signal.SIGTERM)
        assert server.wait() == 0
        assert closed_by_server(idle)
    assert "0 client(s) finished, 1 cut off" in server.wait_for_log("stopped:")
    assert "Traceback" not in server.log_text()


@pytest.mark.parametrize("model", MODELS)
def test_a_second_ctrl_c_cuts_at_once(cli, model):
    server, idle = echo_with_a_client(cli, model, "--grace", "600")
    with idle:
        server.ctrl_c()
        server.wait_for_log("stopping:")
        server.ctrl_c()
        server.wait_for_log("second signal")
        assert server.wait() == 0             # long before the 600 s grace
        assert closed_by_server(idle)
    assert "1 cut off" in server.wait_for_log("stopped:")


@pytest.mark.parametrize("model", MODELS)
def test_stopping_with_nobody_connected(cli, model):
    server = cli("echo", f"--{model}", "-v")
    server.send_signal(signal.SIGTERM)
    assert server.wait() == 0
    assert "stopped: 0 client(s) finished, 0 cut off" in server.wait_for_log("stopped:")


@pytest.mark.skipif("forking" not in MODELS, reason="needs os.fork")
def test_forked_children_are_reaped_and_none_outlives_the_server(cli):
    server = cli("echo", "--forking", "--grace", "0.2", "-v")
    clients = [connect(server.address) for _ in range(5)]
    for client in clients:
        assert echoed(client)
    served_by = children(server.pid)
    assert len(served_by) == 5
    for client in clients[:3]:
        client.close()
    assert settles_to(lambda: len(children(server.pid)), 2) == 2   # no zombies
    server.send_signal(signal.SIGTERM)
    assert server.wait() == 0
    assert "2 cut off" in server.wait_for_log("stopped:")
    for pid in served_by:
        assert settles_to(lambda: process_exists(pid), False) is False
    for client in clients[3:]:
        client.close()


@pytest.mark.parametrize("model", MODELS)
def test_after_a_stop_threads_and_descriptors_are_back(model):
    before = usage(os.getpid())[:2]
    server = build_server("echo", model=model, port=0)
    thread = start(server)
    with connect(server.server_address) as client:
        assert echoed(client)
        assert stop(server, thread, grace=0.1) == (0, 1)
    assert no_more_than(lambda: usage(os.getpid())[:2], before)


@pytest.mark.skipif("forking" not in MODELS, reason="needs os.fork")
def test_a_forking_server_full_of_idle_children_still_stops():
    server = build_server("echo", model="forking", port=0)
    server.max_children = 2
    thread = start(server)
    clients = [connect(server.server_address) for _ in range(2)]
    for client in clients:
        assert echoed(client)
    outcome = []
    stopper = threading.Thread(target=lambda: outcome.append(stop(server, thread, 0.1)))
    stopper.start()
    stopper.join(TIMEOUT)
    assert outcome == [(0, 2)]
    for client in clients:
        client.close()


class Blocker(socketserver.BaseRequestHandler):
    """Answers, then blocks on something that is not its socket."""

    release = threading.Event()

    def handle(self):
        self.request.sendall(b"blocked")
        self.release.wait(TIMEOUT)


@pytest.mark.parametrize("model", [m for m in MODELS if m != "threading"])
def test_a_stop_ends_even_with_a_blocked_handler(model, monkeypatch):
    monkeypatch.setattr(launcher, "CUT_TIMEOUT", 0.2)
    Blocker.release.clear()
    server = build_server(Blocker, model=model, port=0)
    try:
        with running(server):
            with connect(server.server_address) as client:
                assert client.recv(100) == b"blocked"
                stopped_at = time.monotonic()
        assert time.monotonic() - stopped_at < TIMEOUT
    finally:
        Blocker.release.set()


class Tidy(socketserver.BaseRequestHandler):
    """Keeps a file while its client is connected and removes it however the
    handler ends, as an upload removes its temporary file."""

    def handle(self):
        path = os.path.join(self.server.scratch, f"{os.getpid()}-{threading.get_ident()}")
        open(path, "w").close()
        try:
            self.request.sendall(b"started")
            while self.request.recv(100):
                pass
        finally:
            os.unlink(path)


@pytest.mark.parametrize("model", MODELS)
def test_a_cut_client_handler_still_cleans_up(model, tmp_path):
    server = build_server(Tidy, model=model, port=0)
    server.scratch = str(tmp_path)
    thread = start(server)
    with connect(server.server_address) as client:
        assert client.recv(100) == b"started"
        assert len(os.listdir(tmp_path)) == 1
        assert stop(server, thread, grace=0.1) == (0, 1)
    assert os.listdir(tmp_path) == []


class Stubborn(socketserver.BaseRequestHandler):
    """Swallows every exception, SystemExit included, as a bare except: does."""

    def handle(self):
        self.request.sendall(b"stubborn")
        while True:
            try:
                self.request.recv(100)
                select.select([], [], [], TIMEOUT)
            except BaseException:
                pass


@pytest.mark.skipif("forking" not in MODELS, reason="needs os.fork")
def test_a_child_that_ignores_sigterm_is_killed(monkeypatch):
    monkeypatch.setattr(launcher, "CUT_TIMEOUT", 0.2)
    server = build_server(Stubborn, model="forking", port=0)
    thread = start(server)
    with connect(server.server_address) as client:
        assert client.recv(100) == b"stubborn"
        child = next(iter(server.active_children))
        outcome = []
        stopper = threading.Thread(target=lambda: outcome.append(stop(server, thread, 0)))
        stopper.start()
        stopper.join(TIMEOUT)
        assert outcome == [(0, 1)]
    assert not process_exists(child)
