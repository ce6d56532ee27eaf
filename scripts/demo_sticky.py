#!/usr/bin/env python3
"""The sticky-packet problem (粘包) on a real TCP connection, and its cure.

Part 1 sends two messages with two sendall() calls and reads with one
recv(1024), as the course's first client and server do: both messages
come out of one recv, stuck together, and nothing says where the first
one ended.

Part 2 sends the same two messages framed (a 4-byte length prefix and a
JSON header, classicnet.framing): the reader gets them back as two
messages, however the bytes were cut up on the way.

Usage:  python scripts/demo_sticky.py
"""

import os
import select
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from classicnet import framing      # noqa: E402

TIMEOUT = 5


def connected_pair():
    """A sender and a receiver joined by a real TCP connection on 127.0.0.1."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        sender = socket.create_connection(listener.getsockname(), timeout=TIMEOUT)
        receiver, _ = listener.accept()
    receiver.settimeout(TIMEOUT)
    return sender, receiver


def wait_until_both_arrived(receiver, total):
    """Wait (with select, never sleep) until *total* bytes can be read at once."""
    while len(receiver.recv(total, socket.MSG_PEEK)) < total:
        select.select([receiver], [], [], TIMEOUT)


def without_framing():
    sender, receiver = connected_pair()
    with sender, receiver:
        sender.sendall("你好".encode("utf-8"))
        sender.sendall(b"hello")
        wait_until_both_arrived(receiver, len("你好".encode("utf-8")) + 5)
        data = receiver.recv(1024)
    print("without framing: two sendall() calls, one recv(1024) returned")
    print(f"    {data!r}")
    print("    -> one message or two?  the bytes do not say (粘包)\n")


def with_framing():
    sender, receiver = connected_pair()
    with sender, receiver:
        first = framing.encode_message({"text": "你好"})
        second = framing.encode_message({"text": "hello"})
        sender.sendall(first)
        sender.sendall(second)
        wait_until_both_arrived(receiver, len(first) + len(second))
        reader = framing.MessageReader(receiver)
        messages = [reader.read_header(), reader.read_header()]
    print("with framing: the same two messages, each after its 4-byte length")
    print(f"    on the wire: {first + second!r}")
    for number, message in enumerate(messages, 1):
        print(f"    message {number}: {message}")
    print("    -> the reader reads 4 bytes, then exactly that many: two messages")


if __name__ == "__main__":
    without_framing()
    with_framing()
