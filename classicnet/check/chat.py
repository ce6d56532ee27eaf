"""Checks for a chat room: members hear each other, and the room outlives a member.

A chat room is the one protocol here where a client's line is answered
on *another* client's connection.  The checks ask only what any chat
server promises, whatever its greetings and commands: a line one member
sends reaches the other members, as a line that contains it.

One thing no event announces: when the server has added a new member to
its room.  A line sent before that moment rightly reaches no one.  So
the first line between two members is said again every quarter second
until it is heard (``Conversation.expect_match_nudging``), bounded by the
timeout; each line carries a token of its own, so nothing else in the
room can be taken for it.  A chat server must serve members at once:
one that passes is concurrent.
"""

import re
import secrets

from .report import Check

__all__ = ["CHECKS"]

CHAT = "docs/classics.md, \"The chat room\""
SOCKETSERVER = "course notes: 并发socketserver模块; README.md, \"Models\""


def token():
    return secrets.token_hex(4).encode()


def line_with(text):
    """A pattern for a whole line that contains *text* (bytes)."""
    return re.compile(rb"[^\n]*" + re.escape(text) + rb"[^\n]*\n?")


def hears(listener, speaker, line):
    """*listener* hears *line* (bytes) said by *speaker*, said again until heard."""
    speaker.send(line + b"\n")
    listener.expect_match_nudging(line_with(line), repr(line),
                                  nudge=lambda: speaker.send(line + b"\n"))


def in_touch(probe):
    """Two members, each heard by the other."""
    first, second = probe.connect(), probe.connect()
    hears(second, first, b"check " + token() + b" from the first member")
    hears(first, second, b"check " + token() + b" from the second member")
    probe.model_seen = "concurrent"
    return first, second


def two_members(probe):
    in_touch(probe)


def lines_in_one_piece(probe):
    first, second = in_touch(probe)
    lines = [word + b" " + token() for word in (b"one", b"two", b"three")]
    first.send(b"\n".join(lines) + b"\n")
    for line in lines:
        second.expect_match(line_with(line), repr(line))


def not_utf8(probe):
    first, second = in_touch(probe)
    first.send(b"\xff\xfe not utf-8 \xc3\x28\n")
    line = b"after the bytes " + token()
    first.send(line + b"\n")
    second.expect_match(line_with(line), repr(line))


def room_outlives(leave):
    """A check: a member leaves (``leave(conversation)``), then the one who
    stays is heard by a newcomer."""
    def run(probe):
        leaving, staying = in_touch(probe)
        leave(leaving)
        newcomer = probe.connect()
        hears(newcomer, staying, b"check " + token() + b" after a member left")
    return run


def _reset(conversation):
    conversation.vanish()


def _close(conversation):
    conversation.close()


CHECKS = (
    Check("two members", sends="a line from each of two members",
          expects="each line reaches the other member", run=two_members,
          lesson="a chat server serves its members at once (a thread each) and "
                 "sends each line to every other member's socket", see=SOCKETSERVER),
    Check("three lines in one piece", sends="three lines in one send",
          expects="three lines at the other member", run=lines_in_one_piece,
          see="course notes: tcp协议的粘包问题; " + CHAT,
          lesson="lines sent one after another may arrive in one recv() (粘包): "
                 "split what arrived into lines and pass on each"),
    Check("not UTF-8", sends="a line that is not UTF-8, then a line",
          expects="the second line reaches the other member", see=CHAT, run=not_utf8,
          lesson="data.decode() raises UnicodeDecodeError on bytes that are not "
                 "UTF-8: decode with errors='replace', or that member's thread dies"),
    Check("member leaves", sends="one member closes; the other speaks to a newcomer",
          expects="the newcomer hears the line", see=CHAT, run=room_outlives(_close),
          lesson="take a member out of the room when its recv() returns b'', and "
                 "catch a failed send to one member instead of stopping the room"),
    Check("member vanishes", run=room_outlives(_reset), see=CHAT,
          sends="one member resets its connection; the other speaks to a newcomer",
          expects="the newcomer hears the line",
          lesson="recv() and send() raise ConnectionResetError for a member that "
                 "vanished: catch it for that member alone"),
)
