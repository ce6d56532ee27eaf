"""classicnet.framing and .fields: the prefix, strict headers, typed fields, names, the reader."""

import json
import socket
import struct
import subprocess
import sys

import pytest

from classicnet import fields, framing
from classicnet.framing import (BadHeader, BadPrefix, ConnectionClosed,
                                IncompleteMessage, MessageReader)

from conftest import ROOT, TIMEOUT


@pytest.fixture
def pair():
    left, right = socket.socketpair()
    left.settimeout(TIMEOUT)
    right.settimeout(TIMEOUT)
    yield left, right
    left.close()
    right.close()


class OneByteAtATime:
    """A real socket whose reader takes one byte per recv_into, the worst case."""

    def __init__(self, sock):
        self.sock = sock

    def recv_into(self, view, nbytes=0, flags=0):
        return self.sock.recv_into(view[:1], 1, flags)


# --- the prefix -----------------------------------------------------------

def test_prefix_is_read_in_both_byte_orders():
    assert framing.parse_prefix(struct.pack("!I", 300)) == 300
    assert framing.parse_prefix(struct.pack("<i", 300)) == 300
    assert framing.parse_prefix(struct.pack("!I", 65535)) == 65535
    assert framing.parse_prefix(struct.pack("<I", 65535)) == 65535


@pytest.mark.parametrize("prefix", [b"\xff\xff\xff\xff", b"GET ", b"\x00\x01\x01\x00",
                                    b"\x01\x00\x00"])
def test_impossible_prefixes_are_refused(prefix):
    with pytest.raises(BadPrefix):
        framing.parse_prefix(prefix)


def test_messages_are_written_in_network_order():
    message = framing.encode_message({"op": "list"})
    assert message[:4] == struct.pack("!I", len(b'{"op":"list"}'))
    assert message[4:] == b'{"op":"list"}'


def test_a_header_over_the_limit_is_not_encoded():
    with pytest.raises(ValueError, match="over 65535"):
        framing.encode_header({"x": "a" * 70000})


# --- the header -----------------------------------------------------------

@pytest.mark.parametrize("data, reason", [
    (b"not json", "not valid JSON"),
    (b"\xff\xfe{}", "not UTF-8"),
    (b"[1, 2]", "must be a JSON object, not a list"),
    (b'"text"', "not a string"),
    (b"", "not valid JSON"),
    (b'{"size": NaN}', "NaN is not allowed"),
    (b'{"size": Infinity}', "Infinity is not allowed"),
    (b'{"size": 1e999}', "too large"),
    (b'{"a": 1, "a": 2}', "appears twice"),
    (b"[" * 60000 + b"]" * 60000, "nests too deeply"),
    (b'{"size": ' + b"9" * 5000 + b"}", "not valid JSON"),
])
def test_bad_headers_are_refused_with_a_reason(data, reason):
    with pytest.raises(BadHeader, match=reason):
        framing.decode_header(data)


def test_a_good_header_decodes():
    assert framing.decode_header('{"name": "文件.txt", "size": 3}'.encode()) == {
        "name": "文件.txt", "size": 3}
    with pytest.raises(BadHeader, match="'size' must be a whole number, not a fraction"):
        fields.size_field(framing.decode_header(b'{"size": 2.5}'))


def test_fields_are_type_checked_and_true_is_not_a_size():
    header = {"size": True, "name": "a", "overwrite": 1, "n": 2.5, "x": None}
    with pytest.raises(BadHeader, match="'size' must be a whole number, not true"):
        fields.size_field(header)
    with pytest.raises(BadHeader, match="'overwrite' must be true or false"):
        fields.optional_field(header, "overwrite", bool)
    with pytest.raises(BadHeader, match="not a fraction"):
        fields.required_field(header, "n", int)
    with pytest.raises(BadHeader, match="not null"):
        fields.required_field(header, "x", str)
    with pytest.raises(BadHeader, match="needs the field 'op'"):
        fields.required_field(header, "op", str)
    with pytest.raises(BadHeader, match="must be 0 or more"):
        fields.size_field({"size": -1})
    assert fields.optional_field(header, "missing", bool, False) is False
    assert fields.required_field(header, "name", str) == "a"


# --- names ----------------------------------------------------------------

HOSTILE_NAMES = ["../x", "/abs", "a/b", "..", ".", "", "x\0y", "a" * 300,
                 "a\\b", "..\\x", "\udc80", "é" * 128]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_hostile_names_are_refused(name):
    with pytest.raises(BadHeader):
        fields.check_file_name(name)


@pytest.mark.parametrize("name", ["a.txt", ".hidden", "..a", "文件", "a" * 255,
                                  "é" * 127])
def test_plain_names_pass(name):
    assert fields.check_file_name(name) == name


def test_a_name_must_be_a_string():
    with pytest.raises(BadHeader, match="must be a string, not a whole number"):
        fields.check_file_name(5)


# --- the reader -----------------------------------------------------------

def test_messages_fed_one_byte_at_a_time(pair):
    left, right = pair
    left.sendall(framing.encode_message({"op": "put", "size": 5}, b"hello")
                 + framing.encode_message({"op": "quit"}))
    reader = MessageReader(OneByteAtATime(right))
    header = reader.read_header()
    assert header == {"op": "put", "size": 5}
    reader.start_body(header["size"])
    assert b"".join(bytes(chunk) for chunk in reader.body_chunks()) == b"hello"
    assert reader.read_header() == {"op": "quit"}


def test_two_messages_in_one_send_come_apart(pair):
    left, right = pair
    left.sendall(framing.encode_message({"n": 1}) + framing.encode_message({"n": 2}))
    reader = MessageReader(right)
    assert [reader.read_header(), reader.read_header()] == [{"n": 1}, {"n": 2}]


def test_the_course_notes_little_endian_prefix_is_read(pair):
    left, right = pair
    header = json.dumps({"filename": "vc.mp4", "filesize": 3}).encode("utf-8")
    left.sendall(struct.pack("i", len(header)) + header)
    assert MessageReader(right).read_header() == {"filename": "vc.mp4", "filesize": 3}


def test_a_close_between_messages_is_clean(pair):
    left, right = pair
    left.sendall(framing.encode_message({"n": 1}))
    left.close()
    reader = MessageReader(right)
    reader.read_header()
    with pytest.raises(ConnectionClosed):
        reader.read_header()


@pytest.mark.parametrize("sent, where", [
    (b"\x00\x00", "2 of 4 length prefix bytes"),
    (b"\x00\x00\x00\x10{", "1 of 16 header bytes"),
])
def test_a_close_inside_a_message_is_incomplete(pair, sent, where):
    left, right = pair
    left.sendall(sent)
    left.close()
    with pytest.raises(IncompleteMessage, match=where):
        MessageReader(right).read_header()


def test_a_close_inside_a_body_is_incomplete(pair):
    left, right = pair
    left.sendall(framing.encode_message({"size": 10}, b"abc"))
    left.close()
    reader = MessageReader(right)
    reader.start_body(reader.read_header()["size"])
    with pytest.raises(IncompleteMessage, match="7 body bytes never arrived"):
        reader.skip_body()


def test_a_huge_length_is_refused_before_reading_more(pair):
    left, right = pair
    left.sendall(b"\xff\xff\xff\xff")
    with pytest.raises(BadPrefix):
        MessageReader(right).read_header()


def test_an_unread_body_must_be_read_first(pair):
    left, right = pair
    reader = MessageReader(right)
    reader.start_body(3)
    with pytest.raises(RuntimeError, match="3 body bytes"):
        reader.read_header()
    with pytest.raises(BadPrefix, match="4 bytes, not 2"):
        framing.parse_prefix(b"ab")


def test_the_sticky_packet_demo_runs():
    demo = subprocess.run([sys.executable, f"{ROOT}/scripts/demo_sticky.py"],
                          capture_output=True, text=True, timeout=TIMEOUT, check=True)
    assert "b'\\xe4\\xbd\\xa0\\xe5\\xa5\\xbdhello'" in demo.stdout
    assert "message 2: {'text': 'hello'}" in demo.stdout
