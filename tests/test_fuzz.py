"""Fuzzing the file protocol with hypothesis: framing, the request reader,
file names, and the files server itself.

Each property runs a bounded number of examples in the suite;
``CLASSICNET_FUZZ_EXAMPLES=20000 scripts/test tests/test_fuzz.py`` runs a
longer search.
"""

import json
import os
import socket
import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from classicnet import fields, framing
from classicnet.framing import FramingError, MessageReader
from classicnet.testing import running_server
from conftest import TIMEOUT
from resources import connect

EXAMPLES = int(os.environ.get("CLASSICNET_FUZZ_EXAMPLES", "100"))
fuzz = settings(max_examples=EXAMPLES, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])

json_values = st.one_of(
    st.none(), st.booleans(), st.integers(), st.text(max_size=20),
    st.floats(allow_nan=False, allow_infinity=False),
    st.lists(st.integers() | st.text(max_size=5), max_size=3))
headers = st.dictionaries(st.text(max_size=12).filter(lambda key: key != "size"),
                          json_values, max_size=4)


def pieces_of(data, cuts):
    """*data* cut at the given positions, as TCP might deliver it."""
    points = sorted({cut % (len(data) + 1) for cut in cuts} | {0, len(data)})
    return [data[start:end] for start, end in zip(points, points[1:])]


class Pieces:
    """A stand-in for a socket whose every receive returns at most one of
    *pieces*: the smallest pieces TCP could hand the reader, in order."""

    def __init__(self, pieces):
        self.pieces = [bytes(piece) for piece in pieces if piece]

    def recv_into(self, buffer, nbytes=0, flags=0):
        if not self.pieces:
            return 0
        room = nbytes or len(buffer)
        piece, self.pieces[0] = self.pieces[0][:room], self.pieces[0][room:]
        if not self.pieces[0]:
            self.pieces.pop(0)
        buffer[:len(piece)] = piece
        return len(piece)


def read_all(reader):
    """Every (header, body) the reader finds until the stream ends."""
    messages = []
    while True:
        try:
            header = reader.read_header()
        except framing.ConnectionClosed:
            return messages
        reader.start_body(header.get("size", 0))
        body = b"".join(bytes(chunk) for chunk in reader.body_chunks())
        messages.append((header, body))


def on_the_wire(messages):
    """The (header, body) pairs with each header's "size", and the bytes
    that carry them all, one message after another."""
    sent = [(dict(header, size=len(body)), body) for header, body in messages]
    return sent, b"".join(framing.encode_message(header, body) for header, body in sent)


@fuzz
@given(st.lists(st.tuples(headers, st.binary(max_size=300)), min_size=1, max_size=4),
       st.lists(st.integers(min_value=0), max_size=30))
def test_framing_reassembles_messages_however_they_are_split(messages, cuts):
    sent, stream = on_the_wire(messages)
    reader = MessageReader(Pieces(pieces_of(stream, cuts)), chunk_size=64)
    assert read_all(reader) == sent


@fuzz
@given(st.lists(st.tuples(headers, st.binary(max_size=2000)), min_size=1, max_size=3),
       st.lists(st.integers(min_value=0), max_size=10))
def test_framing_reassembles_messages_sent_in_pieces_over_a_socket(messages, cuts):
    sent, stream = on_the_wire(messages)
    left, right = socket.socketpair()
    with left, right:
        right.settimeout(TIMEOUT)

        def write():
            for piece in pieces_of(stream, cuts):
                left.sendall(piece)
            left.shutdown(socket.SHUT_WR)

        writer = threading.Thread(target=write)
        writer.start()
        try:
            assert read_all(MessageReader(right, chunk_size=512)) == sent
        finally:
            writer.join(TIMEOUT)


def prefixed(data):
    return len(data).to_bytes(4, "big") + data


garbage = st.one_of(
    st.binary(max_size=200),
    st.binary(max_size=100).map(prefixed),                         # a prefix, then noise
    headers.map(lambda h: prefixed(json.dumps(h).encode())),       # valid JSON, any fields
    st.text(max_size=60).map(lambda t: prefixed(t.encode("utf-8", "surrogatepass"))),
    st.tuples(st.integers(0, 2 ** 32 - 1), st.binary(max_size=50)).map(
        lambda pair: pair[0].to_bytes(4, "little") + pair[1]),     # the course's 'i' order
)


@fuzz
@given(st.lists(garbage, min_size=1, max_size=4).map(b"".join),
       st.lists(st.integers(min_value=0), max_size=10))
def test_any_bytes_give_messages_or_a_framing_error(data, cuts):
    reader = MessageReader(Pieces(pieces_of(data, cuts)), chunk_size=64)
    while True:
        try:
            header = reader.read_header()
        except framing.BadHeader:
            continue                    # answered; the stream is still in step
        except FramingError:
            return                      # closed, or out of step: the end
        assert isinstance(header, dict)
        size = header.get("size")
        if isinstance(size, int) and not isinstance(size, bool) and size >= 0:
            reader.start_body(size)
            try:
                reader.skip_body()
            except framing.IncompleteMessage:
                return


path_alphabet = st.sampled_from(["..", ".", "/", "\\", "\0", "a", "b.txt", "~",
                                 "\u2215", "\uff0f", "%2f", "\u00e9", "\ud800", " "])
names = st.one_of(st.text(max_size=300), st.lists(path_alphabet, max_size=8).map("".join))


@fuzz
@given(names)
def test_an_accepted_file_name_never_leaves_the_root(name):
    root = "/srv/root"
    try:
        accepted = fields.check_file_name(name)
    except framing.BadHeader:
        return
    path = os.path.normpath(os.path.join(root, accepted))
    assert os.path.dirname(path) == root
    assert os.path.basename(path) == accepted
    assert len(accepted.encode("utf-8")) <= fields.MAX_NAME_BYTES


@pytest.fixture(scope="module")
def files_server(tmp_path_factory):
    root = tmp_path_factory.mktemp("fuzz-root")
    (root / "kept.txt").write_bytes(b"kept")
    with running_server("files", model="threading", root=str(root),
                        max_size=4096) as address:
        yield address, root


def ask(address, header):
    with connect(address) as client:
        framing.send_message(client, header)
        return MessageReader(client).read_header()


@fuzz
@given(st.lists(garbage, min_size=1, max_size=4).map(b"".join))
def test_the_files_server_survives_any_bytes(files_server, caplog, data):
    address, root = files_server
    with connect(address) as client:
        try:
            client.sendall(data)
            client.shutdown(socket.SHUT_WR)
            while client.recv(65536):
                pass
        except OSError:
            pass            # the server closed first: a reset, or no connection left
    listing = ask(address, {"op": "list"})
    assert listing["ok"] is True
    assert {"name": "kept.txt", "size": 4} in listing["files"]
    assert "failed while serving" not in caplog.text
    assert not [entry for entry in os.listdir(root) if entry.endswith(".part")]
