"""The prefork model (--prefork N): workers forked once, each accepting on
the one listening socket; replaced when they die, recycled after
--max-requests, and all gone after a stop."""

import os
import signal
import socket
import socketserver
import struct
import subprocess
import sys

import pytest

from classicnet import launcher, registry, servers
from classicnet.errors import UsageError
from classicnet.servers.scoreboard import Scoreboard
from classicnet.testing import running_server

from conftest import ROOT, TIMEOUT, run_cli
from resources import (children, closed_by_server, connect, process_exists,
                       read_until_closed, settles_to)

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")


def ask(client, message=b"?"):
    client.sendall(message)
    return client.recv(4096)


def served_by(client):
    """The process id a ``who`` server names in its answer."""
    return int(ask(client).decode().split(" in process ")[1])


def test_n_workers_serve_n_clients_at_once(cli):
    server = cli("who", "--prefork", "3", "-v")
    assert "(prefork, tcp)" in server.ready_line
    workers = settles_to(lambda: len(children(server.pid)), 3)
    assert workers == 3
    clients = [connect(server.address) for _ in range(3)]
    try:
        pids = {served_by(client) for client in clients}
        assert pids == children(server.pid)         # three workers, none the parent
        assert server.pid not in pids
        with connect(server.address) as late:           # waits in the backlog
            clients.pop().close()
            assert served_by(late) in pids              # a worker was free again
    finally:
        for client in clients:
            client.close()


def test_a_killed_worker_is_replaced_and_serving_goes_on(cli):
    server = cli("who", "--prefork", "2")
    assert settles_to(lambda: len(children(server.pid)), 2) == 2
    victim = min(children(server.pid))
    os.kill(victim, signal.SIGKILL)
    event = server.wait_for_event("worker")
    assert event["replaced"] == victim and event["recycled"] is False
    assert f"worker {victim} killed by SIGKILL: replaced by worker {event['worker']}" \
        in server.wait_for_log("replaced by")
    assert victim not in children(server.pid)           # reaped, no zombie
    assert event["worker"] in children(server.pid)
    clients = [connect(server.address) for _ in range(2)]
    try:
        pids = {served_by(client) for client in clients}
        assert len(pids) == 2 and victim not in pids and event["worker"] in pids
    finally:
        for client in clients:
            client.close()


def test_max_requests_recycles_a_worker(cli):
    server = cli("who", "--prefork", "1", "--max-requests", "2", "-v")
    pids = []
    for _ in range(3):
        with connect(server.address) as client:
            pids.append(served_by(client))
    assert pids[0] == pids[1] != pids[2]
    event = server.wait_for_event("worker")
    assert event == {**event, "replaced": pids[0], "worker": pids[2], "recycled": True}
    assert "reached --max-requests (2 client(s) served)" in server.wait_for_log("replaced by")


def test_ctrl_c_finishes_the_client_and_leaves_no_process(cli):
    server = cli("echo", "--prefork", "2", "--grace", "60", "-v")
    assert settles_to(lambda: len(children(server.pid)), 2) == 2
    workers = children(server.pid)
    with connect(server.address) as client:
        assert ask(client, b"ping") == b"ping"
        server.ctrl_c()                         # SIGINT to the whole group
        assert "1 client(s) being served" in server.wait_for_log("stopping:")
        assert ask(client, b"still served") == b"still served"
        client.shutdown(socket.SHUT_WR)
        assert read_until_closed(client) == b""
        assert server.wait() == 0               # long before the 60 s grace
    assert "1 client(s) finished, 0 cut off" in server.wait_for_log("stopped:")
    for pid in workers:
        assert settles_to(lambda: process_exists(pid), False) is False


def test_an_idle_client_is_cut_after_the_grace(cli):
    server = cli("echo", "--prefork", "2", "--grace", "0.3", "-v")
    with connect(server.address) as idle:
        assert ask(idle, b"ping") == b"ping"
        server.send_signal(signal.SIGTERM)
        assert server.wait() == 0
        assert closed_by_server(idle)
    assert "0 client(s) finished, 1 cut off" in server.wait_for_log("stopped:")
    assert "Traceback" not in server.log_text()


def test_trace_shows_the_steps_in_a_worker(cli):
    server = cli("echo", "--prefork", "1", "--trace")
    with connect(server.address) as client:
        assert ask(client, b"t") == b"t"
    worker, = children(server.pid)
    assert f"pid {worker}" in server.wait_for_log("process_request")


class ReceiveTimeout(socketserver.BaseRequestHandler):
    """Answers with the kernel's receive timeout on its connection, in seconds."""

    idle_timeout = None

    def handle(self):
        self.request.recv(1)
        raw = self.request.getsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO,
                                      struct.calcsize("@ll"))
        seconds, microseconds = struct.unpack("@ll", raw)
        self.request.sendall(f"{seconds + microseconds / 1e6}".encode())


def test_a_connection_does_not_inherit_the_accept_timeout():
    with running_server(ReceiveTimeout, model="prefork", workers=1) as address:
        with connect(address) as client:
            assert float(ask(client)) == 0.0            # no timeout at all


class LimitedReceiveTimeout(ReceiveTimeout):
    idle_timeout = 7.5


def test_a_connection_gets_the_idle_timeout():
    with running_server(LimitedReceiveTimeout, model="prefork", workers=1) as address:
        with connect(address) as client:
            assert float(ask(client)) == 7.5


@pytest.mark.parametrize("args, message", [
    (["--max-requests", "5"], "max_requests is a setting of the prefork model"),
    (["--prefork", "2", "--udp"], "the prefork model has no udp server"),
    (["--prefork", "0"], "--prefork"),
])
def test_usage_errors_are_one_line(args, message):
    result = run_cli("echo", "--port", "0", *args)
    assert result.returncode == 2
    assert message in result.stderr.strip().splitlines()[-1]
    assert "Traceback" not in result.stderr


def test_a_server_closed_before_serving_has_no_workers():
    server = launcher.build_server("echo", model="prefork", port=0, workers=2)
    assert server.wait_for_clients(0) == 0
    server.server_close()
    assert server.worker_slots == {}


def test_configure_refuses_prefork_settings_elsewhere():
    server = launcher.build_server("echo", model="threading", port=0)
    try:
        with pytest.raises(UsageError, match="workers is a setting of the prefork"):
            servers.configure_server(server, {"workers": 2})
    finally:
        server.server_close()


def test_the_scoreboard_is_shared_with_a_child():
    board = Scoreboard(2)
    try:
        pid = os.fork()
        if pid == 0:
            board.mark(1, Scoreboard.BUSY)
            board.say_stop()
            os._exit(0)
        os.waitpid(pid, 0)
        assert board.busy([0, 1]) == 1 and board.busy([0]) == 0
        assert board.stop_said()
    finally:
        board.close()


# chat keeps its room in one process: it refuses prefork, as it does forking.
TCP_HANDLERS = [entry.name for entry in registry.all_entries()
                if "tcp" in entry.kinds and entry.name != "chat"]


@pytest.mark.parametrize("name", TCP_HANDLERS)
def test_every_tcp_handler_is_served_by_a_worker(cli, name):
    server = cli(name, "--prefork", "1")
    with connect(server.address) as client:
        client.sendall(b"hi\n")
        served = server.wait_for_event("served")
    assert served["pid"] in children(server.pid)


def test_prefork_without_fork_is_a_usage_error_of_one_line():
    code = ("import os, sys; del os.fork; from classicnet.cli import main; "
            "sys.exit(main(['echo', '--prefork', '2', '--port', '0']))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True,
                            text=True, timeout=TIMEOUT, cwd=ROOT)
    assert result.returncode == 2
    assert result.stderr.strip() == ("classicnet: --prefork needs os.fork(), which "
                                     f"{sys.platform} does not have; use --threading")


def test_chat_refuses_prefork_in_one_line():
    result = run_cli("chat", "--prefork", "2", "--port", "0")
    assert result.returncode == 2
    assert result.stderr.strip().endswith("chat cannot run with --prefork: its workers "
                                          "are processes, each with its own copy of "
                                          "the room, serving one client at a time; "
                                          "use --threading")


CRASHING_HANDLER = '''
import socketserver

class Crash(socketserver.BaseRequestHandler):
    """Ends its worker with an exception that no handler should raise."""

    def handle(self):
        raise KeyboardInterrupt
'''


def test_a_worker_that_crashes_is_logged_and_replaced(cli, tmp_path):
    (tmp_path / "crash.py").write_text(CRASHING_HANDLER)
    server = cli(f"{tmp_path / 'crash.py'}:Crash", "--prefork", "1")
    first, = children(server.pid)
    with connect(server.address) as client:
        client.sendall(b"x")
        event = server.wait_for_event("worker")
    assert event["replaced"] == first and event["recycled"] is False
    assert "exited with status 1: replaced by" in server.wait_for_log("replaced by")
    assert f"prefork worker {first} failed" in server.log_text()
    assert event["worker"] in children(server.pid)


def test_closing_without_a_stop_ends_the_workers():
    server = launcher.build_server("echo", model="prefork", port=0, workers=2)
    thread = launcher.start(server)
    assert settles_to(lambda: len(server.worker_slots), 2) == 2
    workers = list(server.worker_slots)
    server.server_close()
    thread.join(TIMEOUT)
    assert not thread.is_alive()
    assert server.worker_slots == {}
    for pid in workers:
        assert not process_exists(pid)


def test_a_fork_that_fails_leaves_the_slot_vacant_until_one_succeeds(monkeypatch):
    server = launcher.build_server("echo", model="prefork", port=0, workers=1)
    events = []
    server.events.subscribe(events.append)
    thread = launcher.start(server)
    try:
        assert settles_to(lambda: len(server.worker_slots), 1) == 1
        first, = server.worker_slots
        real_fork = os.fork

        def failing_fork():
            raise BlockingIOError(11, "Resource temporarily unavailable")

        monkeypatch.setattr(os, "fork", failing_fork)
        os.kill(first, signal.SIGKILL)
        assert settles_to(lambda: server.fork_failing, True) is True
        monkeypatch.setattr(os, "fork", real_fork)
        assert settles_to(lambda: len(server.worker_slots), 1) == 1
    finally:
        launcher.stop(server, thread, grace=0)
    told = [event.detail for event in events if event.kind == "worker"]
    assert told[0]["worker"] is None and "fork() failed" in told[0]["reason"]
    assert told[1]["replaced"] == first and told[1]["worker"] is not None
    assert len(told) == 2                   # the failure was said once
