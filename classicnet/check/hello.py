"""Checks for a hello server: Welcome!, then Hello, NAME! per name, until exit.

The protocol is the course notes' threaded server (``tcplink``): say
``Welcome!`` on connect, answer each name with ``Hello, NAME!``, and close
on ``exit``.  The notes' own server answers ``Hello,NAME!`` without the
space and without a newline, and its client sends names without one: the
answers are matched leniently (a space or not, a newline or not), and a
name is sent the way the course's client sends it.

One shape of the stream checks is left out: a name in pieces.  The
course's client sends each name alone, with no newline to end it, so a
hello server rightly takes each ``recv()`` result as one name, and a name
cut in two is two names.
"""

import re

from .clients import Exchange, client_checks
from .conversation import Failed, describe
from .report import Check

__all__ = ["CHECKS"]

HELLO_SERVER = "course notes: TCP 服务器 (tcplink); README.md, \"Handlers\""
STICKY = "course notes: tcp协议的粘包问题; docs/homework.md, section 3"


def greeting(name):
    """The answer to *name* (a bytes pattern), as a pattern: a space and a
    newline optional."""
    return re.compile(rb"Hello, ?" + name + rb"!\n?")


WELCOME = re.compile(rb"\AWelcome!?\n?")


def welcomed(probe):
    """A new client, once it has read the welcome."""
    conversation = probe.connect()
    conversation.expect_match(WELCOME, "b'Welcome!'")
    return conversation


def welcome(probe):
    welcomed(probe)


def answers(probe, sends, names, strict=True):
    """Send *sends* after the welcome; expect a greeting for each of *names*
    (patterns, in bytes).  When *strict*, an answer that ends with ``!`` but
    is not the greeting fails at once, without waiting for the timeout."""
    conversation = welcomed(probe)
    conversation.send(sends)
    for name in names:
        pattern, awaited = greeting(name), f"b'Hello, {name.decode('latin-1')}!'"

        def found(pending):
            match = pattern.search(pending)
            if match:
                return match.end()
            if strict and b"!" in pending:
                raise Failed(f"expected {awaited}, received {describe(pending)}")
            return None
        conversation.receive_until(found, awaited)


def greets(sends, *names):
    """A check: send *sends*, expect a greeting for each of *names*, strictly."""
    return lambda probe: answers(probe, sends, names)


def exit_closes(probe):
    conversation = welcomed(probe)
    conversation.send(b"exit")
    conversation.expect_close()


def half_close(probe):
    conversation = welcomed(probe)
    conversation.send(b"Eve\n")
    conversation.half_close()
    conversation.expect_match(greeting(b"Eve"), "b'Hello, Eve!'")
    conversation.expect_close()


def _hear_welcome(conversation):
    conversation.expect_match(WELCOME, "b'Welcome!'")


CHECKS = (
    Check("welcome", sends="nothing: connect", expects="b'Welcome!'",
          lesson="in this protocol the server speaks first: send Welcome! as soon "
                 "as a client connects", see=HELLO_SERVER, run=welcome),
    Check("one name", sends="b'Ada', no newline (as the course's client)",
          expects="b'Hello, Ada!'", see=HELLO_SERVER, run=greets(b"Ada", b"Ada"),
          lesson="answer each message with Hello, NAME!; the course's client sends "
                 "a name without a newline and waits, so answer what arrived "
                 "without waiting for one"),
    Check("a name and its newline", sends="b'Bob\\n' (as nc sends it)",
          expects="b'Hello, Bob!'", run=greets(b"Bob\n", b"Bob"),
          lesson="strip the message (data.strip()) before using it: the newline "
                 "ends the line nc sends, it is not part of the name", see=HELLO_SERVER),
    Check("three names in one piece", sends="b'Ann\\nBen\\nCid\\n' in one send",
          expects="three answers, in order", see=STICKY,
          lesson="names sent one after another may arrive in one recv() (粘包): "
                 "split what arrived into lines and answer each",
          run=greets(b"Ann\nBen\nCid\n", b"Ann", b"Ben", b"Cid")),
    Check("not UTF-8", sends="b'Zo\\xe9\\n' (Latin-1, not UTF-8)",
          expects="a greeting, whatever it makes of the name",
          run=greets(b"Zo\xe9\n", rb"Zo[^!]{1,12}"), see=HELLO_SERVER,
          lesson="data.decode() raises UnicodeDecodeError on bytes that are not "
                 "UTF-8 and the connection dies with it: decode with "
                 "errors='replace', or work on the bytes"),
    Check("empty line", sends="b'\\n', then b'Dan\\n'",
          expects="b'Hello, Dan!' (the empty line needs no answer)",
          lesson="an empty line carries no name: skip it (or answer it) and keep "
                 "serving the connection",
          see="course notes: 客户端向服务端发送空消息的话 服务端的接收会卡住",
          run=lambda probe: answers(probe, b"\nDan\n", [b"Dan"], strict=False)),
    Check("exit", sends="b'exit'", expects="the server closes the connection",
          lesson="exit ends the conversation: compare the stripped message with "
                 "b'exit', then close the connection", see=HELLO_SERVER,
          run=exit_closes),
    Check("half-close", sends="b'Eve\\n', then shutdown(SHUT_WR)",
          expects="b'Hello, Eve!', then the server closes",
          lesson="recv() returns b'' once the client has finished sending: answer "
                 "what came before, then close (if not data: break)",
          see="course notes: if not data:break  #针对linux", run=half_close),
) + client_checks(Exchange(lambda conversation: None, _hear_welcome,
                           "a connection (b'Welcome!' expected)"), partial=b"Fr")
