"""A chat member who floods the room (issue 12, point 7): the talker is
slowed, never the listeners cut, and a listener who reads normally stays."""

import queue
import socket
import threading
import time

from classicnet.handlers.chat import Member, Pace
from classicnet.testing import running_server
from conftest import TIMEOUT
from test_chat import ChatClient


def members(address, count):
    """*count* clients in the room, each having seen the others join."""
    clients = []
    for _ in range(count):
        client = ChatClient(address)
        for other in clients:
            other.wait_for(f"* {client.name} joined")
        clients.append(client)
    return clients


def test_a_burst_from_one_member_disconnects_no_listener():
    with running_server("chat", model="threading") as address:   # the defaults
        talker, *listeners = members(address, 3)
        burst = [f"line {number}" for number in range(300)]
        talker.send("".join(line + "\n" for line in burst))   # a single send
        for listener in listeners:
            heard = [listener.read_line() for _ in burst]
            assert heard == [f"{talker.name}: {line}" for line in burst]
        talker.send("and the end\n")
        for listener in listeners:
            assert listener.read_line() == f"{talker.name}: and the end"
        for client in [talker, *listeners]:
            client.close()


def test_listeners_that_read_survive_several_talkers_flooding_at_once():
    with running_server("chat", model="threading", max_behind=16) as address:
        clients = members(address, 4)
        talkers, listener = clients[:3], clients[3]
        for talker in talkers:
            talker.send("".join(f"flood {number}\n" for number in range(100)))
        heard = [listener.read_line() for _ in range(300)]
        for talker in talkers:
            mine = [line for line in heard if line.startswith(talker.name + ": ")]
            assert mine == [f"{talker.name}: flood {number}" for number in range(100)]
        for client in clients:
            client.close()


def test_a_fast_talker_is_slowed_to_its_rate():
    with running_server("chat", model="threading", max_rate=20) as address:
        talker, listener = members(address, 2)
        talker.send("".join(f"quick {number}\n" for number in range(40)))
        first = listener.read_line()
        started = time.monotonic()
        for _ in range(39):
            listener.read_line()
        # 20 lines at once, then 20 a second: the last 20 need a second.
        assert time.monotonic() - started >= 0.9
        assert first == f"{talker.name}: quick 0"
        talker.close()
        listener.close()


def test_a_full_outbox_that_drains_takes_the_line_within_the_patience():
    server_side, client_side = socket.socketpair()
    with server_side, client_side:
        member = Member(server_side, "reader", max_behind=1)
        assert member.deliver("first\n")
        assert not member.deliver("second\n")           # full, and no waiting
        taken = threading.Thread(target=member.outbox.get)
        taken.start()                                   # the writer takes one
        assert member.deliver("second\n", patience=TIMEOUT)
        taken.join()
        assert member.outbox.get_nowait() == b"second\n"
        try:
            member.outbox.put_nowait(b"x")
        except queue.Full:                              # pragma: no cover
            raise AssertionError("the outbox should have room again")


def test_a_pace_of_zero_never_waits():
    pace = Pace(0)
    started = time.monotonic()
    for _ in range(10_000):
        pace.wait_for_turn()
    assert pace.tokens == 0.0 and time.monotonic() - started < TIMEOUT
