"""Endpoints: hosts checked before binding, addresses printed and read in one place."""

import errno
import socket

import pytest

from classicnet.endpoints import (Endpoint, address_in_line, check_host, family_of,
                                  format_address, parse_address, server_endpoint)
from classicnet.errors import UsageError
from classicnet.launcher import build_server, describe


@pytest.mark.parametrize("host", [
    "127.0.0.1", "0.0.0.0", "::1", "::", "fe80::1%lo", "localhost", "example.com.",
    "a-b.example", "例子.测试", "x" * 63 + ".example",
])
def test_good_hosts_pass(host):
    assert check_host(host) == host


@pytest.mark.parametrize("host, problem", [
    ("", "--host is empty"),
    ("a..b", "it has an empty label"),
    (".a", "it has an empty label"),
    ("x" * 64, "a label is longer than 63 characters"),
    ("ä" * 70 + ".de", "a label is longer than 63 characters"),
    (".".join(["abcdefgh"] * 30), "it is longer than 253 characters"),
    ("a b", "neither a name nor an IPv4 or IPv6 address"),
    ("1.2.3.4:80", "neither a name nor an IPv4 or IPv6 address"),
    ("http://x", "neither a name nor an IPv4 or IPv6 address"),
])
def test_bad_hosts_are_one_line_usage_errors(host, problem):
    with pytest.raises(UsageError, match=problem) as caught:
        check_host(host)
    assert "\n" not in str(caught.value)


def test_the_family_follows_the_host():
    assert family_of(("::1", 0)) == socket.AF_INET6
    assert family_of(("127.0.0.1", 0)) == socket.AF_INET
    assert family_of(("localhost", 0)) in (socket.AF_INET, socket.AF_INET6)
    with pytest.raises(UsageError, match="cannot resolve host 'no.such.host.invalid'"):
        family_of(("no.such.host.invalid", 0))


def test_addresses_are_printed_and_read_back():
    assert format_address(("127.0.0.1", 9000)) == "127.0.0.1:9000"
    assert format_address(("::1", 9000, 0, 0)) == "[::1]:9000"
    assert parse_address("[::1]:9000") == ("::1", 9000)
    assert parse_address("127.0.0.1:9000") == ("127.0.0.1", 9000)
    for bad in ("9000", "host:", ":80", "a:b"):
        with pytest.raises(ValueError):
            parse_address(bad)
    line = "classicnet: serving echo (threading, tcp) on [::1]:9000\n"
    assert address_in_line(line) == ("::1", 9000)


def test_an_endpoint_knows_its_socket_and_its_handler_kind():
    tcp = server_endpoint("tcp", "::1", 0)
    udp = server_endpoint("udp", "127.0.0.1", 0)
    assert (tcp.socket_type, tcp.kind, tcp.family) == (
        socket.SOCK_STREAM, "tcp", socket.AF_INET6)
    assert (udp.socket_type, udp.kind, udp.family) == (
        socket.SOCK_DGRAM, "udp", socket.AF_INET)
    with pytest.raises(UsageError, match="unknown transport 'sctp'"):
        server_endpoint("sctp", "127.0.0.1", 0)


def test_the_readiness_line_names_the_endpoint():
    server = build_server("echo", model="threading", endpoint=Endpoint("udp", ("127.0.0.1", 0)))
    try:
        port = server.server_address[1]
        assert describe(server) == (f"classicnet: serving echo (threading, udp) "
                                    f"on 127.0.0.1:{port}")
        assert server.endpoint == Endpoint("udp", ("127.0.0.1", port))
    finally:
        server.server_close()


def test_a_udp_server_does_not_share_its_address():
    """Without SO_REUSEADDR on the server, another socket cannot bind its
    address and take its datagrams, whatever options that socket sets."""
    server = build_server("echo", transport="udp", port=0)
    try:
        assert server.socket.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR) == 0
        thief = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        thief.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        with thief, pytest.raises(OSError) as caught:
            thief.bind(server.server_address)
        assert caught.value.errno == errno.EADDRINUSE
    finally:
        server.server_close()


def test_a_tcp_server_still_reuses_its_address_at_once():
    server = build_server("echo", port=0)
    try:
        assert server.socket.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR) == 1
    finally:
        server.server_close()


def test_a_client_endpoint_with_a_bad_host_is_a_usage_error():
    with pytest.raises(UsageError, match="cannot resolve host"):
        Endpoint("udp", ("no.such.host.invalid", 9)).connect(1)


def test_a_client_endpoint_with_a_malformed_host_is_one_line():
    with pytest.raises(UsageError, match="host 'a..b' is not a valid host name"):
        Endpoint("tcp", ("a..b", 9)).connect(1)
