"""--trace: every socketserver step of every request, with thread and process."""

import logging
import re

import pytest

from classicnet import build_server, running
from classicnet.handlers.echo import EchoHandler
from classicnet.testing import connect
from classicnet.trace import trace_server
from conftest import MODELS

SERVER_STEPS = ["verify_request", "process_request", "finish_request"]
HANDLER_STEPS = ["setup", "handle", "finish"]
STEPS = SERVER_STEPS + HANDLER_STEPS + ["shutdown_request"]

LINE = re.compile(r"classicnet\.trace: (\w+) +\[(.+) pid (\d+)\]")


def traced_steps(log):
    """[(step, thread, pid), ...] from the server's standard error."""
    return [(m.group(1), m.group(2), int(m.group(3))) for m in LINE.finditer(log)]


@pytest.mark.parametrize("transport", ["tcp", "udp"])
@pytest.mark.parametrize("model", MODELS)
def test_trace_shows_each_step_with_its_thread_and_process(cli, model, transport):
    server = cli("echo", f"--{model}", f"--{transport}", "--trace")
    with connect(server.address, transport) as client:
        client.send(b"ping")
        assert client.recv_exactly(4) == b"ping"
    assert server.stop() == 0
    steps = traced_steps(server.log_text())
    assert [name for name, _, _ in steps] == STEPS
    where = {name: (thread, pid) for name, thread, pid in steps}
    server_thread, server_pid = where["verify_request"]
    assert where["process_request"] == (server_thread, server_pid)
    served_by = where["handle"]
    assert all(where[name] == served_by for name in HANDLER_STEPS + ["finish_request"])
    if model == "plain":
        assert served_by == (server_thread, server_pid)
    elif model == "threading":
        assert served_by[1] == server_pid and served_by[0] != server_thread
    else:
        assert served_by[1] != server_pid                 # a child process


def test_a_failing_handler_traces_handle_error(caplog):
    class Failing(EchoHandler):
        def handle(self):
            raise RuntimeError("traced failure")

    caplog.set_level(logging.INFO, logger="classicnet.trace")
    server = trace_server(build_server(Failing, model="plain", port=0))
    assert type(server).__name__ == "TracedPlainTCPServer"
    assert server.RequestHandlerClass.__name__ == "Failing"
    with running(server):
        with connect(server.server_address) as client:
            client.send(b"x")
            assert client.recv_all() == b""
    steps = [record.args[0] for record in caplog.records
             if record.name == "classicnet.trace"]
    assert steps[steps.index("handle"):] == \
        ["handle", "finish", "handle_error", "shutdown_request"]
    clients = {record.args[2] for record in caplog.records
               if record.name == "classicnet.trace"}
    assert len(clients) == 1 and clients.pop().startswith("  127.0.0.1:")
