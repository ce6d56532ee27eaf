"""The checks of a stream server that answers every byte: echo and upper.

Both protocols send back what they receive, upper with the letters a-z
upper-cased, so one table serves both: ``stream_checks(transform)``
builds it from the answer the server owes to some bytes (``echo`` and
``upper`` are each that one line).

A stream has no message edges (粘包), so these checks send in every shape
a real client may: one byte, 1 KiB, 1 MiB at once, one message in three
pieces, three messages in one piece, bytes that are not UTF-8, an empty
``send``, a half-close.  A correct server answers every shape the same
way: with exactly the transformed bytes, in order.
"""

from functools import partial

from .clients import Exchange, client_checks
from .conversation import require_same
from .report import Check

__all__ = ["stream_checks"]

STICKY = "course notes: tcp协议的粘包问题; docs/homework.md, section 3"

ONE_MEBIBYTE = b"0123456789abcdef" * 65536
PIECES = (b"sticky ", b"packet ", b"problem\n")
MESSAGES = b"one\ntwo\nthree\n"
NOT_UTF8 = b"\xff\xfe not utf-8 \xc3\x28\n"


def answers(probe, transform, data):
    """Send *data* on a new connection and expect its transform back."""
    conversation = probe.connect()
    conversation.send(data)
    conversation.expect(transform(data))


def one_mebibyte(probe, transform):
    conversation = probe.connect()
    expected = transform(ONE_MEBIBYTE)
    require_same(expected, conversation.send_while_reading(ONE_MEBIBYTE, len(expected)))


def in_pieces(probe, transform):
    conversation = probe.connect()
    conversation.send_in_pieces(PIECES)
    conversation.expect(transform(b"".join(PIECES)))


def empty_send(probe, transform):
    conversation = probe.connect()
    conversation.send(b"")                 # puts nothing on the wire
    conversation.send(b"\n")
    conversation.expect(transform(b"\n"))


def half_close(probe, transform):
    conversation = probe.connect()
    conversation.send(b"last words\n")
    conversation.half_close()
    conversation.expect(transform(b"last words\n"))
    conversation.expect_close()


def stream_checks(transform):
    """The table for a server that answers bytes with ``transform(bytes)``."""
    def ask(conversation):
        conversation.send(b"ping")

    def hear(conversation):
        conversation.expect(transform(b"ping"))

    return (
        Check("one byte", sends="b'a'", expects="its answer, without waiting for more",
              lesson="recv() returns whatever has arrived, even one byte: answer "
                     "it at once, without waiting for a newline or a full buffer",
              see="README.md, \"Handlers\"; course notes: 最基本服务端程序",
              run=partial(answers, transform=transform, data=b"a")),
        Check("1 KiB", sends="1024 bytes in one sendall", expects="all 1024 answered",
              lesson="send() may send only part of its bytes and says how many; "
                     "sendall() sends them all",
              see="docs/protocol.md, \"Classic mistakes\", 6",
              run=partial(answers, transform=transform, data=ONE_MEBIBYTE[:1024])),
        Check("1 MiB at once", sends="1 MiB in one sendall, reading meanwhile",
              expects="all of it answered, in order",
              lesson="recv(1024) returns at most 1024 bytes: one message may take "
                     "many recv() calls, so keep receiving and answering until the "
                     "client closes (a single recv per message loses the rest)",
              see=STICKY, run=partial(one_mebibyte, transform=transform)),
        Check("one message in three pieces", sends="'sticky ', 'packet ', "
              "'problem\\n' as three sends", expects="all three pieces answered",
              lesson="TCP is a stream (粘包): one message may arrive in several "
                     "recv() results; answer each piece, or collect them until "
                     "the message is whole", see=STICKY,
              run=partial(in_pieces, transform=transform)),
        Check("three messages in one piece", sends="'one\\ntwo\\nthree\\n' in one "
              "send", expects="all three answered",
              lesson="messages sent one after another may arrive in one recv() "
                     "(粘包): answer all of what arrived, not only the first message",
              see=STICKY, run=partial(answers, transform=transform, data=MESSAGES)),
        Check("not UTF-8", sends="bytes that are not UTF-8", expects="their answer",
              lesson="a socket carries bytes, not text: data.decode() raises "
                     "UnicodeDecodeError on bytes that are not UTF-8; work on the "
                     "bytes (bytes.upper() does), or decode with errors='replace'",
              see="README.md, \"Handlers\" (upper)",
              run=partial(answers, transform=transform, data=NOT_UTF8)),
        Check("empty send", sends="send(b''), then an empty line b'\\n'",
              expects="the empty line answered",
              lesson="send(b'') puts nothing on the wire, so no server ever receives "
                     "an empty message; an empty line is a message like any other",
              see="course notes: 客户端向服务端发送空消息的话 服务端的接收会卡住",
              run=partial(empty_send, transform=transform)),
        Check("half-close", sends="'last words\\n', then shutdown(SHUT_WR)",
              expects="the answer, then the server closes",
              lesson="recv() returns b'' once the client has finished sending: "
                     "answer what came before, then close (if not data: break); a "
                     "loop that ignores b'' spins or hangs forever",
              see="course notes: if not data:break  #针对linux",
              run=partial(half_close, transform=transform)),
    ) + client_checks(Exchange(ask, hear, "'ping'"), partial=b"half a mess")
