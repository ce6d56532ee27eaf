"""The thread-pool model (--pool N) and the forking limit (--max-children N)."""

import os
import select
import socket

import pytest

from classicnet import launcher, servers
from classicnet.errors import UsageError
from classicnet.testing import running_server

from conftest import TIMEOUT, run_cli
from resources import settles_to


def ask(client, message=b"?"):
    client.sendall(message)
    return client.recv(4096)


def answered_within(client, seconds):
    """True if the client has a reply to read within *seconds*."""
    readable, _, _ = select.select([client], [], [], seconds)
    return bool(readable)


def connect(address):
    return socket.create_connection(address, timeout=TIMEOUT)


@pytest.mark.parametrize("transport", ["tcp", "udp"])
def test_echo_under_the_pool(transport):
    with running_server("echo", model="pool", transport=transport,
                        pool_size=2) as address:
        if transport == "tcp":
            with connect(address) as client:
                assert ask(client, b"pool") == b"pool"
        else:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
                client.settimeout(TIMEOUT)
                client.sendto(b"pool", address)
                assert client.recvfrom(100)[0] == b"pool"


def test_pool_serves_up_to_n_at_once_and_queues_the_rest():
    with running_server("who", model="pool", pool_size=3) as address:
        first = [connect(address) for _ in range(3)]
        late = connect(address)
        try:
            names = {ask(client).decode().split(" in ")[0] for client in first}
            assert names == {f"thread classicnet-pool-{n}" for n in (1, 2, 3)}
            late.sendall(b"?")
            assert not answered_within(late, 0.2)     # every worker is busy
            first[0].close()
            assert answered_within(late, TIMEOUT)
            assert late.recv(4096).decode().split(" in ")[0] in names
        finally:
            for client in first + [late]:
                client.close()


def test_stop_with_idle_and_queued_clients_ends_the_workers():
    server = launcher.build_server("echo", model="pool", port=0, pool_size=2)
    thread = launcher.start(server)
    clients = [connect(server.server_address) for _ in range(3)]
    try:
        for client in clients[:2]:
            assert ask(client, b"x") == b"x"
        clients[2].sendall(b"queued")
        # Accepted (and queued) by the server, not only by the kernel:
        assert settles_to(server.connections_in_service, 3) == 3
        finished, cut = launcher.stop(server, thread, grace=0)
        assert cut == 3
        for client in clients:
            assert client.recv(10) in (b"", b"queued")
        for worker in server._workers:
            worker.join(TIMEOUT)
            assert not worker.is_alive()
    finally:
        for client in clients:
            client.close()


def test_block_on_close_waits_for_the_workers():
    class Pool(servers.ThreadPoolTCPServer):
        block_on_close = True

    from classicnet.handlers.echo import EchoHandler
    server = Pool(("127.0.0.1", 0), EchoHandler)
    thread = launcher.start(server)
    with connect(server.server_address) as client:
        assert ask(client, b"y") == b"y"
    server.shutdown()
    thread.join(TIMEOUT)
    server.server_close()
    assert not any(worker.is_alive() for worker in server._workers)


def test_a_server_closed_before_any_client_has_no_workers():
    server = launcher.build_server("echo", model="pool", port=0, pool_size=2)
    server.server_close()
    assert server._workers == ()


@pytest.mark.parametrize("settings, message", [
    ({"pool_size": 0}, "pool_size must be a whole number from 1 to 1000, not 0"),
    ({"pool_size": True}, "not True"),
    ({"pool_size": 2.5}, "not 2.5"),
])
def test_bad_pool_sizes_are_usage_errors(settings, message):
    with pytest.raises(UsageError, match=message):
        launcher.build_server("echo", model="pool", port=0, **settings)


def test_a_setting_of_another_model_is_a_usage_error():
    with pytest.raises(UsageError,
                       match="pool_size is a setting of the pool model, not of threading"):
        launcher.build_server("echo", model="threading", port=0, pool_size=2)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_forking_queues_clients_beyond_max_children(cli):
    # In a process of its own: a child forked here would inherit this
    # test's client sockets and keep them open after the test closes them.
    server = cli("who", "--forking", "--max-children", "2")
    first = [connect(server.address) for _ in range(2)]
    late = connect(server.address)
    try:
        pids = {ask(client).decode().split()[-1] for client in first}
        assert len(pids) == 2 and str(os.getpid()) not in pids
        late.sendall(b"?")
        assert not answered_within(late, 0.2)     # two children already
        first[0].close()
        assert answered_within(late, TIMEOUT)
        assert late.recv(4096).startswith(b"thread ")
    finally:
        for client in first + [late]:
            client.close()
    assert server.stop() == 0


def test_the_pool_flag_picks_the_model_and_its_size(cli):
    server = cli("who", "--pool", "2")
    assert server.ready_line.startswith("classicnet: serving who (pool, tcp) on ")
    with connect(server.address) as client:
        assert ask(client).startswith(b"thread classicnet-pool-")
    assert server.stop() == 0


@pytest.mark.parametrize("args, message", [
    (["--pool", "0"], "--pool: must be a whole number from 1 to 1000, not '0'"),
    (["--pool", "2", "--threading"], "not allowed with argument"),
    (["--max-children", "2"], "max_children is a setting of the forking model"),
    (["--max-children", "x"], "not 'x'"),
])
def test_bad_model_flags_exit_2(args, message):
    result = run_cli("echo", "--port", "0", *args)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_worker_threads_are_named_for_the_pool():
    with running_server("who", model="pool", pool_size=1) as address:
        with connect(address) as client:
            assert ask(client) == (f"thread classicnet-pool-1 in process "
                                   f"{os.getpid()}\n").encode()
