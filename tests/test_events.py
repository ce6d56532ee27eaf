"""Events: what happened to each connection, as data, on a channel of its own."""

import json
import os
import socket
import socketserver

import pytest

from classicnet.events import Channel, Event, JsonLines
from classicnet.launcher import build_server, running
from classicnet.process import ServerProcess, ServerProcessError
from conftest import MODELS, TIMEOUT, run_cli


def talk(address, data=b"ping"):
    with socket.create_connection(address, timeout=TIMEOUT) as client:
        client.sendall(data)
        assert client.recv(64) == data


def read_events(path):
    with open(path) as file:
        return [json.loads(line) for line in file]


@pytest.mark.parametrize("model", MODELS)
def test_the_events_file_says_who_served_each_client(cli, tmp_path, model):
    path = tmp_path / "events.jsonl"
    server = cli("echo", f"--{model}", "--events", str(path))
    talk(server.address)
    talk(server.address)
    server.stop()
    events = read_events(path)
    kinds = [event["event"] for event in events]
    assert kinds[0] == "listening" and kinds[-1] == "stopped"
    assert events[0]["address"] == f"127.0.0.1:{server.address[1]}"
    assert kinds.count("accepted") == kinds.count("served") == kinds.count("closed") == 2
    served = [event for event in events if event["event"] == "served"]
    assert all(event["client"].startswith("127.0.0.1:") for event in served)
    parent = server.pid
    pids = {event["pid"] for event in served}
    threads = {event["thread"] for event in served}
    if model == "forking":
        assert len(pids) == 2 and parent not in pids       # a process per client
    elif model == "threading":
        assert pids == {parent} and len(threads) == 2      # a thread per client
    else:
        assert pids == {parent} and threads == {"classicnet-server"}


def test_the_harness_learns_the_address_and_the_servers_from_events():
    with ServerProcess(["who", "--pool", "2", "--port", "0", "-q"]) as server:
        address = server.wait_ready(TIMEOUT)
        with socket.create_connection(address, timeout=TIMEOUT) as client:
            client.sendall(b"?")
            assert client.recv(100).startswith(b"thread classicnet-pool-")
        server.wait_for_event("closed", TIMEOUT)
        assert {thread for _, thread in server.served_by} <= {
            "classicnet-pool-1", "classicnet-pool-2"}


def test_a_server_that_fails_to_start_is_reported_with_its_last_words():
    with ServerProcess(["ecko", "--port", "0"]) as server:
        with pytest.raises(ServerProcessError, match="the server has ended; its last "
                                                     "words: .*unknown handler 'ecko'"):
            server.wait_ready(TIMEOUT)


def test_refusals_and_limits_are_events_too():
    seen = []
    server = build_server("hello", model="threading", port=0, max_connections=1)
    server.events.subscribe(seen.append)
    with running(server):
        with socket.create_connection(server.server_address, timeout=TIMEOUT) as first:
            assert first.recv(64) == b"Welcome!\n"
            with socket.create_connection(server.server_address, timeout=TIMEOUT) as second:
                assert second.recv(100).startswith(b"classicnet: too many connections")
    kinds = [event.kind for event in seen]
    assert "limit" in kinds and "refused" in kinds
    refused = next(event for event in seen if event.kind == "refused")
    assert refused.detail == {"reason": "too many connections"}


def test_a_handler_error_is_a_failed_event_with_the_exception():
    class Broken(socketserver.BaseRequestHandler):
        def handle(self):
            raise KeyError("oops")

    seen = []
    server = build_server(Broken, port=0)
    server.events.subscribe(seen.append)
    with running(server):
        with socket.create_connection(server.server_address, timeout=TIMEOUT) as client:
            assert client.recv(1) == b""
    failed = [event for event in seen if event.kind == "failed"]
    assert len(failed) == 1
    assert failed[0].detail["reason"] == "error"
    assert isinstance(failed[0].detail["error"], KeyError)
    assert failed[0].as_dict()["error"] == "'oops'"


def test_routine_events_cost_nothing_when_nobody_listens():
    server = build_server("echo", port=0)
    try:
        assert not server.events.routine           # the log shows warnings only
        server.events.subscribe(lambda event: None)
        assert server.events.routine
    finally:
        server.server_close()


def test_json_lines_are_whole_and_plain(tmp_path):
    path = tmp_path / "e.jsonl"
    writer = JsonLines.to_file(path)
    writer(Event("served", ("::1", 5, 0, 0), {"arrival": "x", "error": OSError(5, "io")},
                 "Thread-1", 42, 1.5))
    writer.close()
    (event,) = read_events(path)
    assert event == {"event": "served", "time": 1.5, "thread": "Thread-1", "pid": 42,
                     "client": "[::1]:5", "arrival": "x", "error": "[Errno 5] io"}


def test_a_reader_that_went_away_does_not_stop_the_server():
    read_end, write_end = os.pipe()
    os.close(read_end)
    channel = Channel()
    channel.subscribe(JsonLines(write_end))
    channel.emit("accepted", ("127.0.0.1", 1))      # EPIPE is swallowed
    os.close(write_end)


def test_an_events_fd_that_is_not_open_is_a_usage_error():
    result = run_cli("echo", "--port", "0", "--events-fd", "999")
    assert result.returncode == 2
    assert result.stderr == ("classicnet: --events-fd 999 is not an open file "
                             "descriptor (the program that starts the server passes it)\n")
