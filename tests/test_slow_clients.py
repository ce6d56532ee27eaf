"""Slow clients under every model (issue 12, point 6): idle connections that
hold every slot a model has, a newcomer who must hear why it is not served,
and one host that may not take every slot.

``test_what_each_model_withstands`` gives the figures of docs/security.md.
"""

import os
import select
import time

import pytest

from classicnet.launcher import build_server, running
from classicnet.servers.streams import REFUSAL, REFUSAL_PER_CLIENT
from conftest import MODELS, TIMEOUT, without_coverage
from resources import connect, greeted, greeted_eventually, read_until_closed

EVERY_MODEL = MODELS + ["pool"]


def echoed(client, data=b"ping"):
    client.sendall(data)
    return client.recv(100) == data


def answered_within(client, seconds):
    return bool(select.select([client], [], [], seconds)[0])


def refused(client, limit, line=REFUSAL):
    """The client reads the refusal line at once, then the end."""
    assert answered_within(client, TIMEOUT)
    return read_until_closed(client) == line.format(limit).encode()


# The flags that give each model two slots, and the settings build_server takes.
TWO_SLOTS = {
    "plain": ([], {}),
    "threading": (["--max-connections", "2"], {"max_connections": 2}),
    "pool": (["--pool", "2"], {"pool_size": 2}),
    "forking": (["--max-children", "2"], {"max_children": 2}),
}


@pytest.mark.parametrize("model", EVERY_MODEL)
def test_a_newcomer_past_the_limit_is_refused_in_one_line_under_every_model(cli, model):
    # Idle clients hold every slot; one more may wait; the next is refused.
    slots = 1 if model == "plain" else 2
    waiting_room = 0 if model == "threading" else 1
    limit = slots + waiting_room
    flags = [f"--{model}"] if model != "pool" else []
    flags += TWO_SLOTS[model][0]
    if model != "threading":
        flags += ["--max-connections", str(limit)]
    server = cli("echo", *flags, "--timeout", "60", env=without_coverage())
    idle = [connect(server.address) for _ in range(slots)]
    try:
        for client in idle:
            assert echoed(client)                 # served, then silent
        waiting = [connect(server.address) for _ in range(waiting_room)]
        for client in waiting:
            client.sendall(b"w")
            assert not answered_within(client, 0.2)    # waits its turn, quietly
        with connect(server.address) as newcomer:
            assert refused(newcomer, limit)
        if waiting:
            idle.pop().close()                   # a slot frees: the first waiting
            assert answered_within(waiting[0], TIMEOUT)
            assert waiting[0].recv(1) == b"w"
    finally:
        for client in idle + waiting:
            client.close()
    assert server.stop() == 0


@pytest.mark.parametrize("model", EVERY_MODEL)
def test_one_host_may_not_take_every_slot(cli, model):
    flags = [f"--{model}"] if model != "pool" else ["--pool", "4"]
    server = cli("hello", *flags, "--max-per-client", "1", "--timeout", "60",
                 env=without_coverage())
    first = greeted(server.address)
    with connect(server.address) as second:
        assert refused(second, 1, REFUSAL_PER_CLIENT)
    assert "from one host (--max-per-client)" in server.wait_for_log("refusing")
    first.close()
    greeted_eventually(server.address).close()     # the host's slot is free again
    assert server.stop() == 0


@pytest.mark.parametrize("model, host, expected", [
    ("threading", "192.0.2.7", 250), ("threading", "127.0.0.1", 0),
    ("threading", "::1", 0), ("pool", "192.0.2.7", 4), ("plain", "192.0.2.7", 0),
    ("plain", "127.0.0.2", 0), ("threading", "::ffff:127.0.0.1", 0),
    ("threading", "::ffff:192.0.2.7", 250), ("threading", "", 0),
] + ([("forking", "2001:db8::1", 20)] if "forking" in MODELS else []))
def test_by_default_a_host_may_hold_half_the_slots_and_loopback_is_free(model, host,
                                                                        expected):
    server = build_server("echo", model=model, port=0)
    try:
        assert server.per_client_limit(host) == expected
        server.max_per_client = 3                       # given: every host
        assert server.per_client_limit(host) == 3
        server.max_per_client, server.max_connections = None, 0
        if model == "threading":                       # no limit at all: none
            assert server.per_client_limit(host) == 0
    finally:
        server.server_close()


@pytest.mark.skipif("forking" not in MODELS, reason="needs os.fork")
def test_a_forking_server_at_its_child_limit_still_stops_at_once(cli):
    server = cli("echo", "--forking", "--max-children", "1", "--grace", "0.2", "-v",
                 env=without_coverage())
    busy = connect(server.address)
    assert echoed(busy)
    waiting = [connect(server.address) for _ in range(3)]
    for client in waiting:
        client.sendall(b"w")
    try:
        # Accepted (and waiting) by the server, not only by the kernel: a
        # client still in the listen backlog at Ctrl-C is never cut off.
        server.wait_for(lambda: sum(e["event"] == "accepted" for e in server.events) >= 4,
                        "the waiting clients accepted", TIMEOUT)
        started = time.monotonic()
        server.ctrl_c()
        assert server.wait() == 0
        assert time.monotonic() - started < TIMEOUT
        assert "4 cut off" in server.wait_for_log("stopped:")
        for client in waiting:                  # told by the end of the stream
            assert read_until_closed(client) == b""
    finally:
        for client in [busy, *waiting]:
            client.close()


def test_a_plain_server_serves_the_waiting_in_the_order_they_came():
    server = build_server("echo", model="plain", port=0)
    with running(server):
        first = connect(server.server_address)
        assert echoed(first)
        waiting = [connect(server.server_address) for _ in range(5)]
        for number, client in enumerate(waiting):
            client.sendall(b"%d" % number)
        first.close()
        for number, client in enumerate(waiting):
            with client:
                assert client.recv(10) == b"%d" % number
                client.close()


# What each model withstands, with its default settings: how many idle
# connections take every slot, and what a newcomer meets then.
DEFAULT_SLOTS = {"plain": 1, "threading": 500, "pool": 8, "forking": 40}


@pytest.mark.parametrize("model", EVERY_MODEL)
def test_what_each_model_withstands(cli, model, record_property):
    slots = DEFAULT_SLOTS[model]
    flags = [f"--{model}"] if model != "pool" else ["--pool", "8"]
    server = cli("echo", *flags, "--max-connections", str(slots), "--timeout", "60",
                 env=without_coverage())
    idle = []
    try:
        for _ in range(slots):
            client = connect(server.address)
            idle.append(client)
        assert echoed(idle[-1])                  # the last of them is served
        started = time.monotonic()
        with connect(server.address) as newcomer:
            assert refused(newcomer, slots)
        took = time.monotonic() - started
        record_property("refusal_ms", round(took * 1000, 1))
        assert took < TIMEOUT
    finally:
        for client in idle:
            client.close()
    assert server.stop() == 0
    if os.environ.get("CLASSICNET_SHOW_FIGURES"):
        print(f"\n{model}: {slots} idle connections hold every slot; "
              f"the next client is refused in {took * 1000:.1f} ms")
