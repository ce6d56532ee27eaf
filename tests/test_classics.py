"""The inetd classics against their RFCs: discard (863), daytime (867),
chargen (864) and time (868), on TCP and UDP, in every model."""

import logging
import re
import select
import signal
import socket
import socketserver
import struct
import time

import pytest

from classicnet import registry
from classicnet.handlers import chargen, daytime, timeserver
from classicnet.servers import datagrams
from classicnet.launcher import build_server, running
from classicnet.testing import running_server

from conftest import MODELS, TIMEOUT, recv_exactly
from resources import read_until_closed, reset

# RFC 864's pattern, rebuilt here from the RFC's words rather than taken
# from the handler: the 95 printable characters, 72 to a line, each line
# starting one character later.
PRINTABLE = "".join(chr(code) for code in range(32, 127))
CTIME_LINE = re.compile(rb"[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4}\r\n")
SECONDS_1900_TO_1970 = 2208988800


def check_chargen_lines(data, first_line=0):
    """Assert that *data* is RFC 864's pattern, starting at line *first_line*."""
    lines = data.split(b"\r\n")
    whole, rest = lines[:-1], lines[-1]
    for number, line in enumerate(whole, start=first_line):
        start = number % 95
        assert line == (PRINTABLE * 2)[start:start + 72].encode("ascii"), \
            f"line {number} is {line!r}"
    start = (first_line + len(whole)) % 95
    assert (PRINTABLE * 2)[start:start + 72].encode("ascii").startswith(rest)


def udp_client(address):
    client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    client.settimeout(TIMEOUT)
    client.connect(address)
    return client


def nothing_waiting(sock):
    """True if no datagram is queued on *sock* right now."""
    return not select.select([sock], [], [], 0)[0]


# --- discard (RFC 863) ---------------------------------------------------

@pytest.mark.parametrize("model", MODELS)
def test_discard_tcp_reads_everything_and_answers_nothing(model):
    with running_server("discard", model=model) as address:
        with socket.create_connection(address, timeout=TIMEOUT) as client:
            client.sendall(b"x" * 1_000_000)     # more than any socket buffer holds
            client.shutdown(socket.SHUT_WR)
            assert client.recv(1) == b""         # no response, then the close


def test_discard_udp_answers_nothing():
    with running_server("discard", transport="udp", model="plain") as address:
        with udp_client(address) as client:
            client.send(b"into the void")
            # A negative check: nothing can arrive later than a slow machine
            # allows, so this can only pass wrongly, never fail wrongly.
            assert not select.select([client], [], [], 0.3)[0]


# --- daytime (RFC 867) ---------------------------------------------------

def assert_now(line, before, after):
    """*line* is a ctime() line for a moment between *before* and *after*."""
    assert CTIME_LINE.fullmatch(line), line
    moment = time.mktime(time.strptime(line.decode("ascii").strip()))
    assert int(before) <= moment <= after


def test_daytime_tcp_throws_away_what_the_client_sends():
    with running_server("daytime") as address:
        with socket.create_connection(address, timeout=TIMEOUT) as client:
            client.sendall(b"what time is it?\r\n" * 100)
            assert CTIME_LINE.fullmatch(read_until_closed(client))


def test_daytime_udp_answers_each_datagram_with_one_line():
    with running_server("daytime", transport="udp") as address:
        with udp_client(address) as client:
            for request in (b"?", b"x" * 1000):
                before = time.time()
                client.send(request)
                assert_now(client.recv(65536), before, time.time())


def test_daytime_line_is_inetds_ctime_format():
    assert CTIME_LINE.fullmatch(daytime.daytime_line(0))
    assert daytime.daytime_line(86400 * 365).endswith(b"\r\n")


# --- chargen (RFC 864) ---------------------------------------------------

def test_chargen_pattern_is_the_rfc_pattern():
    assert len(chargen.PATTERN) == 95 * 74
    check_chargen_lines(chargen.PATTERN)
    assert chargen.PATTERN.startswith(b' !"#$%&')
    assert chargen.pattern_line(95) == chargen.pattern_line(0)


@pytest.mark.parametrize("model", MODELS)
def test_chargen_tcp_streams_the_pattern(model):
    with running_server("chargen", model=model) as address:
        with socket.create_connection(address, timeout=TIMEOUT) as client:
            data = recv_exactly(client, 3 * 95 * 74 + 1000)   # three turns and more
    check_chargen_lines(data)
    assert all(len(line) == 72 for line in data.split(b"\r\n")[:-1])


def test_chargen_tcp_ignores_what_the_client_sends():
    with running_server("chargen") as address:
        with socket.create_connection(address, timeout=TIMEOUT) as client:
            client.sendall(b"stop, please\r\n")
            check_chargen_lines(recv_exactly(client, 10_000))


class Records(logging.Handler):
    """Collects the classicnet logger's records, from every thread."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.records = []

    def emit(self, record):
        self.records.append(record)


@pytest.fixture
def server_log():
    """The records the classicnet loggers write during the test."""
    logger = logging.getLogger("classicnet")
    records, level = Records(), logger.level
    logger.addHandler(records)
    logger.setLevel(logging.DEBUG)
    yield records.records
    logger.removeHandler(records)
    logger.setLevel(level)


@pytest.mark.parametrize("model", ["plain", "threading"])
@pytest.mark.parametrize("ending", [reset, socket.socket.close])
def test_chargen_tcp_survives_the_client_leaving_quietly(model, ending, server_log):
    server = build_server("chargen", model=model, port=0)
    with running(server):
        address = server.server_address
        client = socket.create_connection(address, timeout=TIMEOUT)
        recv_exactly(client, 5000)
        ending(client)
        assert server.wait_for_clients(time.monotonic() + TIMEOUT) == 0
        with socket.create_connection(address, timeout=TIMEOUT) as again:
            check_chargen_lines(recv_exactly(again, 1000))
    went_away = [record for record in server_log if "went away" in record.getMessage()]
    assert went_away and all(record.name == "classicnet.chargen" for record in went_away)
    loud = [record for record in server_log
            if record.levelno >= logging.WARNING or record.exc_info]
    assert loud == []


@pytest.mark.parametrize("size, expected", [
    (1, 1), (72, 72), (100, 100), (512, 512), (513, 512), (65507, 512),
])
def test_chargen_udp_answers_with_no_more_than_was_asked(size, expected):
    with running_server("chargen", transport="udp") as address:
        with udp_client(address) as client:
            client.send(b"q" * size)
            answer = client.recv(65536)
    assert len(answer) == expected
    check_chargen_lines(answer)


# --- time (RFC 868) ------------------------------------------------------

def seconds_since_1970(answer):
    assert len(answer) == 4
    return struct.unpack("!I", answer)[0] - SECONDS_1900_TO_1970


def assert_time_now(answer, before, after):
    """*answer* is RFC 868's four bytes for a moment between *before* and *after*."""
    assert int(before) <= seconds_since_1970(answer) <= after


def test_time_udp_answers_any_datagram_with_four_bytes():
    with running_server("time", transport="udp") as address:
        with udp_client(address) as client:
            before = time.time()
            client.send(b"\0")
            answer = client.recv(65536)
        assert_time_now(answer, before, time.time())


def test_time_counts_from_1900_and_wraps_in_2036():
    assert timeserver.time_bytes(0) == struct.pack("!I", SECONDS_1900_TO_1970)
    last = 2**32 - 1 - SECONDS_1900_TO_1970          # 2036-02-07 06:28:15 UTC
    assert timeserver.time_bytes(last) == b"\xff\xff\xff\xff"
    assert timeserver.time_bytes(last + 1) == b"\0\0\0\0"
    assert timeserver.unix_seconds(timeserver.time_bytes(1234567890)) == 1234567890


# --- the clocks over TCP: their answer, then the close ---------------------

@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("name, assert_answer", [
    ("daytime", assert_now),            # one ctime() line (RFC 867)
    ("time", assert_time_now),          # four bytes (RFC 868)
])
def test_a_clock_over_tcp_sends_the_time_once_and_closes(name, assert_answer, model):
    with running_server(name, model=model) as address:
        before = time.time()
        with socket.create_connection(address, timeout=TIMEOUT) as client:
            answer = read_until_closed(client)
        assert_answer(answer, before, time.time())


# --- no reflection, no loops (every UDP classic) -------------------------

# The size of each UDP classic's answer to a one-byte request.
ANSWER_TO_ONE_BYTE = {"daytime": 26, "chargen": 1, "time": 4}
ANSWERING = sorted(ANSWER_TO_ONE_BYTE)


@pytest.mark.parametrize("name", ANSWERING)
def test_udp_classics_never_answer_an_empty_datagram(name):
    # The plain model serves datagrams in order: an answer to the empty one
    # would be queued before the answer to the second.
    with running_server(name, transport="udp", model="plain") as address:
        with udp_client(address) as client:
            client.send(b"")
            client.send(b"?")
            first = client.recv(65536)
            assert nothing_waiting(client)
    assert len(first) == ANSWER_TO_ONE_BYTE[name]


def bound_to_classic_port(port):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.bind(("127.0.0.1", port))
    except OSError as error:
        sock.close()
        pytest.skip(f"cannot bind 127.0.0.1:{port} to forge a loop: {error}")
    return sock


# Every handler that serves UDP, built-in or not: the server applies the
# rules, so no handler can forget them.
DATAGRAM_HANDLERS = [name for name in registry.names()
                     if "udp" in registry.lookup(name).kinds]


@pytest.mark.parametrize("name", DATAGRAM_HANDLERS)
@pytest.mark.parametrize("port", [7, 19])
def test_no_datagram_handler_answers_a_classic_service(name, port):
    """The echo-chargen loop of CERT CA-1996-01 cannot start, even with the
    rate limit off: a datagram from a classic port is never answered."""
    with running_server(name, transport="udp", model="plain", udp_rate=0) as address:
        with bound_to_classic_port(port) as classic, udp_client(address) as client:
            classic.sendto(b"x" * 100, address)     # as if from echo or chargen
            client.send(b"?")                       # served after it, in order
            if name != "discard":
                client.recv(65536)
            assert nothing_waiting(classic)


def test_a_students_datagram_handler_gets_the_rules_too():
    class Loud(socketserver.BaseRequestHandler):
        def handle(self):
            data, sock = self.request
            sock.sendto(b"!" + data, self.client_address)   # answers even b""

    with running_server(Loud, transport="udp", model="plain") as address:
        with bound_to_classic_port(7) as classic, udp_client(address) as client:
            classic.sendto(b"x", address)
            client.send(b"")
            client.send(b"?")
            assert client.recv(65536) == b"!?"
            assert nothing_waiting(classic) and nothing_waiting(client)


def test_drop_reasons_name_the_rule():
    assert "empty" in datagrams.drop_reason(b"", 5000, 10)
    assert "port 0" in datagrams.drop_reason(b"x", 0, 10)
    assert "loop" in datagrams.drop_reason(b"x", 19, 10)
    assert "more than 10 a second" in datagrams.drop_reason(b"x", 5000, 10)


def test_a_datagram_from_the_server_itself_is_not_answered():
    server = build_server("echo", transport="udp", port=0)
    try:
        own = server.server_address
        assert not server.verify_request((b"x", None), own)
        assert server.verify_request((b"x", None), (own[0], own[1] + 1))
    finally:
        server.server_close()


@pytest.mark.parametrize("model", MODELS)
def test_chargen_command_line_logs_no_error_when_clients_leave(cli, model):
    """The whole program, with -v: clients that reset or close mid-stream
    leave no traceback and no error in the log, and Ctrl-C still stops it."""
    server = cli("chargen", f"--{model}", "-v")
    for ending in (reset, socket.socket.close, reset):
        client = socket.create_connection(server.address, timeout=TIMEOUT)
        recv_exactly(client, 20_000)
        ending(client)
    server.send_signal(signal.SIGINT)
    assert server.wait() == 0
    log = server.log_text()
    assert log.count("connection from") == 3
    for noise in ("Traceback", "ERROR", "WARNING", "went away"):
        assert noise not in log
