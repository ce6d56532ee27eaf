"""The lab's workload handlers: slow (waits), work (computes), who (tells)."""

import os
import socket

import pytest

from classicnet import launcher
from classicnet.errors import UsageError
from classicnet.handlers.work import compute
from classicnet.testing import running_server

from conftest import MODELS, TIMEOUT


def round_trip(address, message, transport="tcp"):
    if transport == "udp":
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
            client.settimeout(TIMEOUT)
            client.sendto(message, address)
            return client.recvfrom(65535)[0]
    with socket.create_connection(address, timeout=TIMEOUT) as client:
        client.sendall(message)
        return client.recv(65535)


@pytest.mark.parametrize("transport", ["tcp", "udp"])
@pytest.mark.parametrize("name, settings", [
    ("slow", {"delay": 1}), ("slow", {"delay": 0}), ("work", {"cost": 1}),
    ("work", {"cost": 0}),
])
def test_slow_and_work_echo_every_message(name, settings, transport):
    with running_server(name, transport=transport, **settings) as address:
        assert round_trip(address, b"data \x00\xff", transport) == b"data \x00\xff"


@pytest.mark.parametrize("name, setting", [("slow", "delay"), ("work", "cost")])
@pytest.mark.parametrize("value", [-1.0, float("nan"), float("inf")])
def test_negative_or_endless_costs_are_usage_errors(name, setting, value):
    with pytest.raises(UsageError, match=f"--{setting} must be from 0 to 60000 milliseconds"):
        launcher.build_server(name, port=0, **{setting: value})


def test_the_defaults_are_small():
    server = launcher.build_server("slow", port=0)
    server.server_close()
    assert server.options.delay == 10.0
    server = launcher.build_server("work", port=0)
    server.server_close()
    assert server.options.cost == 5.0


def test_compute_spends_cpu_time():
    import time
    before = time.thread_time()
    compute(2)
    assert time.thread_time() - before >= 0.002


@pytest.mark.parametrize("model", MODELS)
def test_who_names_the_thread_and_process(model):
    with running_server("who", model=model) as address:
        with socket.create_connection(address, timeout=TIMEOUT) as client:
            client.sendall(b"who?")
            answer = client.recv(4096).decode()
            client.sendall(b"again")
            again = client.recv(4096).decode()
    assert answer == again and answer.endswith("\n")
    thread, pid = answer[len("thread "):-1].rsplit(" in process ", 1)
    assert (int(pid) == os.getpid()) == (model != "forking")
    assert (thread == "classicnet-server") == (model in ("plain", "forking"))


def test_who_over_udp():
    with running_server("who", transport="udp", model="plain") as address:
        answer = round_trip(address, b"?", "udp")
    assert answer == f"thread classicnet-server in process {os.getpid()}\n".encode()


def test_who_stops_when_the_client_closes():
    with running_server("who", model="plain") as address:
        with socket.create_connection(address, timeout=TIMEOUT) as client:
            client.shutdown(socket.SHUT_WR)
            assert client.recv(10) == b""
