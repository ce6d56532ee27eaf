"""The chat room: shared state between connections, several clients at once."""

import os
import socket
import struct
import threading

import pytest

from classicnet.errors import UsageError
from classicnet.handlers.chat import Member
from classicnet.launcher import build_server, running
from classicnet.testing import running_server

from conftest import TIMEOUT, run_cli


class ChatClient:
    """A test participant: sends lines, reads the room's lines one at a time."""

    def __init__(self, address, receive_buffer=None):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if receive_buffer:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        self.sock.settimeout(TIMEOUT)
        self.sock.connect(address)
        self.pending = b""
        self.welcome = self.read_line()
        self.name = "%s:%d" % self.sock.getsockname()

    def send(self, text):
        self.sock.sendall(text.encode("utf-8"))

    def read_line(self):
        """The next line from the room, without its newline; '' at the end."""
        while b"\n" not in self.pending:
            chunk = self.sock.recv(65536)
            if not chunk:
                line, self.pending = self.pending, b""
                return line.decode("utf-8")
            self.pending += chunk
        line, _, self.pending = self.pending.partition(b"\n")
        return line.decode("utf-8")

    def wait_for(self, expected):
        """Read lines until *expected* comes; return the lines before it."""
        before = []
        while True:
            line = self.read_line()
            if line == expected:
                return before
            assert line, f"connection closed while waiting for {expected!r}; got {before}"
            before.append(line)

    def rename(self, name):
        self.send(f"/nick {name}\n")
        assert self.read_line() == f"* you are now {name}"
        self.name = name

    def close(self):
        self.sock.close()


@pytest.fixture
def room():
    """A chat server under --threading, and a way to add clients to it."""
    clients = []
    with running_server("chat", model="threading", max_behind=8, max_rate=0) as address:
        def join(name=None, receive_buffer=None):
            client = ChatClient(address, receive_buffer)
            clients.append(client)
            for other in clients[:-1]:
                other.wait_for(f"* {client.name} joined")
            if name:
                old = client.name
                client.rename(name)
                for other in clients[:-1]:
                    other.wait_for(f"* {old} is now {name}")
            return client
        yield join
        for client in clients:
            client.close()


def test_the_first_client_is_welcomed_alone(room):
    ada = room()
    assert ada.welcome.startswith(f"* welcome, {ada.name}; nobody else is here yet.")
    assert "/nick NAME" in ada.welcome


def test_lines_go_to_everyone_else_with_the_senders_name(room):
    ada, bob, cy = room("ada"), room("bob"), room()
    assert "; here: ada, bob." in cy.welcome
    ada.send("hello, anyone?\n")
    assert bob.read_line() == "ada: hello, anyone?"
    assert cy.read_line() == "ada: hello, anyone?"
    bob.send("hi ada\n")
    assert ada.read_line() == "bob: hi ada"      # ada never got her own line back
    cy.send("and me\n")
    assert ada.read_line() == f"{cy.name}: and me"
    assert bob.read_line() == f"{cy.name}: and me"


def test_default_names_come_from_the_address(room):
    ada = room("ada")
    other = room()
    assert other.name.startswith("127.0.0.1:")
    other.send("anonymous\n")
    assert ada.read_line() == f"{other.name}: anonymous"


def test_every_line_of_a_chunk_and_a_line_without_newline_are_messages(room):
    ada, bob = room("ada"), room("bob")
    ada.send("one\r\ntwo\n\n   \nthree")          # blank lines are skipped
    assert [bob.read_line() for _ in range(3)] == ["ada: one", "ada: two", "ada: three"]


def test_control_characters_are_shown_escaped(room):
    ada, bob = room("ada"), room("bob")
    ada.send("\x1b[2Jgotcha \u4f60\u597d\n")
    assert bob.read_line() == "ada: \\x1b[2Jgotcha \u4f60\u597d"


def test_who_and_nick_rules(room):
    ada, bob = room("ada"), room("bob")
    ada.send("/who\n")
    assert ada.read_line() == "* here: ada, bob"
    bob.send("/nick ada\n")
    assert bob.read_line() == "* the name ada is taken"
    for bad in ("", "two words", "x" * 21, "a:b"):
        bob.send(f"/nick {bad}\n")
        assert bob.read_line().startswith("* a name is 1 to 20 letters")
    bob.send("/dance\n")
    assert bob.read_line().startswith("* unknown command /dance; /nick NAME")
    bob.rename("\u5c0f\u660e")                        # letters of any script
    assert ada.read_line() == "* bob is now \u5c0f\u660e"


def test_quit_and_vanishing_are_announced(room):
    ada, bob, cy = room("ada"), room("bob"), room("cy")
    bob.send("/quit\n")
    assert bob.read_line() == "* bye"
    assert bob.read_line() == ""                     # and the server closed
    assert ada.read_line() == "* bob left"
    cy.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    cy.close()                                       # a reset, as if killed
    assert ada.read_line() == "* cy left"
    ada.send("/who\n")
    assert ada.read_line() == "* here: ada"


def test_a_client_that_stops_reading_stalls_nobody_and_is_cut_off(room):
    ada, bob = room("ada"), room("bob")
    slow = room("slow", receive_buffer=4096)        # never reads again
    filler = "x" * 350
    cut_off = "* slow was disconnected: fell 8 lines behind"
    batch = 4                                       # fewer than --max-behind
    for first in range(0, 20_000, batch):           # about 7 MB at most
        lines = [f"{number} {filler}\n" for number in range(first, first + batch)]
        ada.send("".join(lines))
        heard = bob.wait_for("ada: " + lines[-1].rstrip("\n"))   # at once, every time
        expected = ["ada: " + line.rstrip("\n") for line in lines[:-1]]
        if cut_off in heard:
            heard.remove(cut_off)
            assert heard == expected
            break
        assert heard == expected
    else:
        pytest.fail("the client that stopped reading was never cut off")
    assert ada.wait_for(cut_off) == []
    ada.send("still here\n")
    assert bob.read_line() == "ada: still here"
    while slow.read_line():                         # what it had, then the end
        pass


def test_the_server_stops_with_clients_connected():
    server = build_server("chat", model="threading", port=0)
    with running(server):
        clients = [ChatClient(server.server_address) for _ in range(3)]
    for client in clients:
        client.sock.settimeout(TIMEOUT)
        while client.read_line():
            pass
        client.close()
    assert server.shared.room.names() == []


@pytest.mark.parametrize("model", ["plain", "forking"])
def test_models_that_cannot_share_a_room_are_refused(model):
    if model == "forking" and not hasattr(os, "fork"):
        pytest.skip("no os.fork() here")
    with pytest.raises(UsageError, match=rf"chat cannot run with --{model}: .* --threading"):
        build_server("chat", model=model, port=0)


def test_max_behind_must_be_positive():
    with pytest.raises(UsageError, match="--max-behind must be a whole number from 1 to 1000000, not 0"):
        build_server("chat", model="threading", port=0, max_behind=0)


def test_command_line_refusal_is_one_friendly_line():
    result = run_cli("chat", "--forking", "--port", "0")
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("classicnet: chat cannot run with --forking: ")
    assert "its own process" in lines[0] and "use --threading" in lines[0]


def member_behind(sock, max_behind):
    """A member whose client has not read yet: more to send than the socket
    buffers hold, and its writer thread sending."""
    member = Member(sock, "stuck", max_behind=max_behind)
    member.deliver("x" * 20_000_000)
    writer = threading.Thread(target=member.send_queued, daemon=True)
    writer.start()
    return member, writer


def test_a_leaving_member_with_a_full_outbox_is_cut_off():
    server_side, client_side = socket.socketpair()
    with server_side, client_side:
        member, writer = member_behind(server_side, max_behind=1)
        member.outbox.put(b"waiting\n", timeout=TIMEOUT)  # once the writer is sending
        member.close(writer)                          # outbox full: hang up at once
        assert not writer.is_alive()
        client_side.settimeout(TIMEOUT)
        while client_side.recv(1 << 20):              # what was sent, then the end
            pass


def test_a_leaving_member_that_does_not_read_its_last_lines_is_cut_off():
    server_side, client_side = socket.socketpair()
    with server_side, client_side:
        member, writer = member_behind(server_side, max_behind=4)
        member.close(writer)                          # waits WRITER_LINGER, then cuts
        assert not writer.is_alive()
