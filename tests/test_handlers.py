"""Every built-in handler under every model and transport it supports."""

import socket

import pytest
from conftest import MODELS, TIMEOUT

from classicnet.testing import running_server

BIG_DATAGRAM = 65507            # the largest UDP payload over IPv4


def connect(address):
    return socket.create_connection(address, timeout=TIMEOUT)


def recv_exactly(sock, size):
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        assert chunk, f"server closed after {len(data)} of {size} bytes"
        data += chunk
    return data


def udp_client():
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.settimeout(TIMEOUT)
    return sock


STREAM_CASES = [
    ("echo", b"hello, world\n", b"hello, world\n"),
    ("echo", bytes(range(256)), bytes(range(256))),
    ("echo", b"no newline", b"no newline"),
    ("upper", b"Hello, abc xyz!\n", b"HELLO, ABC XYZ!\n"),
    ("upper", "你好 abc\xff".encode("utf-8", "surrogateescape"),
     "你好 ABC\xff".encode("utf-8", "surrogateescape")),
]


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("name, sent, expected", STREAM_CASES)
def test_stream_handlers_answer_each_chunk(model, name, sent, expected):
    with running_server(name, model=model) as address, connect(address) as client:
        for _ in range(3):
            client.sendall(sent)
            assert recv_exactly(client, len(expected)) == expected


@pytest.mark.parametrize("model", MODELS)
def test_echo_returns_a_large_stream_whole(model):
    payload = bytes(range(256)) * 4096              # 1 MiB
    with running_server("echo", model=model) as address, connect(address) as client:
        client.sendall(payload)
        client.shutdown(socket.SHUT_WR)
        received = b"".join(iter(lambda: client.recv(65536), b""))
    assert received == payload


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("name, sent, expected", [
    ("echo", b"ping", b"ping"),
    ("upper", b"ping \xe4\xbd\xa0", b"PING \xe4\xbd\xa0"),
])
def test_datagram_handlers_answer_each_datagram(model, name, sent, expected):
    with running_server(name, model=model, transport="udp") as address:
        with udp_client() as client:
            client.sendto(sent, address)
            reply, sender = client.recvfrom(65535)
    assert reply == expected
    assert sender == address


@pytest.mark.parametrize("name", ["echo", "upper"])
def test_datagrams_are_not_cut_at_8192_bytes(name):
    payload = b"x" * BIG_DATAGRAM
    with running_server(name, model="plain", transport="udp") as address:
        with udp_client() as client:
            client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
            client.sendto(payload, address)
            reply, _ = client.recvfrom(65535)
    assert len(reply) == BIG_DATAGRAM


@pytest.mark.parametrize("name", ["echo", "upper", "reply"])
def test_an_empty_datagram_gets_no_answer(name):
    # UDP on loopback keeps order, so if the empty datagram had been
    # answered, that answer would arrive before the answer to "x".
    with running_server(name, model="plain", transport="udp") as address:
        with udp_client() as client:
            client.sendto(b"", address)
            client.sendto(b"x", address)
            first, _ = client.recvfrom(65535)
    assert first != b""
    assert first in (b"x", b"X") or first.endswith(b": 1 bytes\n")


@pytest.mark.parametrize("model", MODELS)
def test_reply_names_the_sender_and_the_size(model):
    with running_server("reply", model=model) as address:
        with udp_client() as client:
            client.bind(("127.0.0.1", 0))
            client.sendto(b"12345", address)
            reply, _ = client.recvfrom(65535)
            port = client.getsockname()[1]
    assert reply == f"from 127.0.0.1:{port}: 5 bytes\n".encode()


def test_reply_stays_short_for_a_large_datagram():
    with running_server("reply", model="plain") as address:
        with udp_client() as client:
            client.sendto(b"y" * 60000, address)
            reply, _ = client.recvfrom(65535)
    assert reply.endswith(b": 60000 bytes\n")
    assert len(reply) < 64


@pytest.mark.parametrize("model", MODELS)
def test_hello_greets_answers_and_stops_at_exit(model):
    with running_server("hello", model=model) as address, connect(address) as client:
        assert recv_exactly(client, 9) == b"Welcome!\n"
        client.sendall(b"  Michael \n")
        assert recv_exactly(client, 16) == b"Hello, Michael!\n"
        client.sendall(b"Tracy")                     # no newline: still a message
        assert recv_exactly(client, 14) == b"Hello, Tracy!\n"
        client.sendall("小明\n".encode())
        assert recv_exactly(client, 15) == "Hello, 小明!\n".encode()
        client.sendall(b"exit")
        assert client.recv(100) == b""               # the server closed


def test_hello_answers_every_line_of_one_chunk_and_skips_blank_ones():
    with running_server("hello") as address, connect(address) as client:
        recv_exactly(client, 9)
        client.sendall(b"Ann\n\n  \nBob\r\nexit\nNever\n")
        assert recv_exactly(client, 24) == b"Hello, Ann!\nHello, Bob!\n"
        assert client.recv(100) == b""


def test_hello_ends_quietly_when_the_client_leaves():
    with running_server("hello") as address:
        with connect(address) as client:
            recv_exactly(client, 9)
        with connect(address) as second:             # still serving
            assert recv_exactly(second, 9) == b"Welcome!\n"
