"""Framing: give a TCP byte stream message edges (the sticky-packet cure, 粘包).

Theory of operation
-------------------
TCP delivers a stream of bytes, not messages.  Two ``sendall`` calls of
``b"hello"`` and ``b"world"`` may arrive as one ``recv`` of
``b"helloworld"`` (they "stick together", 粘包), or as ``b"hel"`` and
``b"loworld"``.  Nothing in the bytes says where one message ends: the
program has to say it.  ``scripts/demo_sticky.py`` shows both halves of that
sentence on a real socket.

The course notes' cure, kept here, is to send each message's length before
the message.  A CNFP/1 message (see ``docs/protocol.md``) is::

    +---------------------+-----------------------------+------------------+
    | N: 4 bytes, "!I"    | header: N bytes, UTF-8 JSON | body: "size"     |
    | (network order)     | object, N <= 65535          | bytes, if any    |
    +---------------------+-----------------------------+------------------+

So a reader always knows how much to read next: 4 bytes, then N, then the
body the header announces.  Three rules make that safe against any client:

* ``recv(n)`` returns *at most* n bytes, so "read exactly n" is a loop
  (``MessageReader.read_exactly``), and a close inside that loop is an
  ``IncompleteMessage``, while a close before the first byte of a message is
  the ordinary end of a conversation, ``ConnectionClosed``.
* A length the peer sent is never given to ``recv``: Python allocates the
  whole size up front, so ``recv(4_000_000_000)`` would let one client
  reserve 4 GB.  N is checked against 65535 first, and every byte is read
  with ``recv_into`` into a buffer taken when it is needed and dropped
  after: a header gets one of its own size, a body one buffer of at most
  ``CHUNK_SIZE`` for all of it.  A connection waiting for its next request
  holds no buffer at all (a server with 500 idle clients must not hold
  500 MiB).
* The header is decoded strictly (UTF-8, a JSON object, no ``NaN``, no
  repeated keys, no absurd nesting), and each field is then read with its
  type checked (``classicnet.fields``), since in Python ``True == 1``:
  ``{"size": true}`` is not a size.

The course notes write the prefix with ``struct.pack('i', n)``, which is
little-endian on the machines they ran on.  Because N < 65536, the two
orders cannot be confused: a prefix that starts with two zero bytes is
network order, one that ends with two zero bytes is little-endian, and
anything else is not a CNFP/1 prefix (``BadPrefix``).  Writers here always
use network order.

The errors, all ``FramingError``::

    FramingError
     +-- ConnectionClosed    (also EOFError) the peer closed between messages
     +-- IncompleteMessage   (also EOFError) the peer closed inside a message
     +-- BadPrefix           the 4 bytes are no valid length: the stream is
     |                       lost, so the connection must end
     +-- BadHeader           the header arrived whole but is wrong: answer
                             it and read the next message
"""

import json
import socket
import struct

__all__ = [
    "BadHeader", "BadPrefix", "ConnectionClosed", "FramingError",
    "IncompleteMessage", "KINDS", "MAX_HEADER_SIZE", "MessageReader",
    "decode_header", "encode_header", "encode_message", "json_kind",
    "parse_prefix", "send_message",
]

PREFIX = struct.Struct("!I")           # the 4-byte header length, network order
MAX_HEADER_SIZE = 65535

# How many bytes one recv_into may fill while a body streams in.  Larger
# means fewer system calls; the buffer lives as long as the body.
CHUNK_SIZE = 1024 * 1024

# A body that is read only to be thrown away (a refused upload's) goes
# through a smaller buffer: speed does not matter there, memory does.
SKIP_SIZE = 64 * 1024

# While a body streams in, ask the kernel to fill the whole buffer before
# returning (where it can), rather than return each small piece at once.
WAIT_ALL = getattr(socket, "MSG_WAITALL", 0)


def wait_all_flag(sock):
    """MSG_WAITALL for a plain kernel socket (TCP or Unix); 0 for anything
    else, such as a TLS socket (``ssl.SSLSocket``, a subclass), whose bytes
    OpenSSL decrypts in Python, record by record, and whose ``recv_into()``
    refuses every flag."""
    return WAIT_ALL if type(sock) is socket.socket else 0


class FramingError(Exception):
    """The byte stream does not hold a well-formed message."""


class ConnectionClosed(FramingError, EOFError):
    """The peer closed the connection between two messages: a normal end."""


class IncompleteMessage(FramingError, EOFError):
    """The peer closed the connection in the middle of a message."""


class BadPrefix(FramingError):
    """The 4-byte length prefix is not a valid header length.

    The reader cannot tell where the next message starts, so the
    connection has to end.
    """


class BadHeader(FramingError):
    """The header arrived whole but is not a valid JSON object, or a field is wrong."""


# --- the length prefix ----------------------------------------------------

def parse_prefix(prefix):
    """The header length in 4 prefix bytes, in either byte order (see above).

    >>> parse_prefix(b"\\x00\\x00\\x00\\x10"), parse_prefix(b"\\x10\\x00\\x00\\x00")
    (16, 16)
    """
    if len(prefix) != PREFIX.size:
        raise BadPrefix(f"a length prefix is {PREFIX.size} bytes, not {len(prefix)}")
    prefix = bytes(prefix)
    if prefix[:2] == b"\0\0":
        return PREFIX.unpack(prefix)[0]
    if prefix[2:] == b"\0\0":
        return struct.unpack("<I", prefix)[0]
    raise BadPrefix(f"invalid length prefix {prefix!r}: a header is at most "
                    f"{MAX_HEADER_SIZE} bytes in either byte order "
                    "(is this a CNFP/1 client?)")


# --- JSON kinds, in words -------------------------------------------------

# What each Python type a header may hold is called in an error message.
KINDS = {str: "a string", int: "a whole number", bool: "true or false",
         list: "a list", dict: "an object"}


def json_kind(value):
    """What a decoded JSON value is, in words: ``json_kind([])`` is ``"a list"``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, float):
        return "a fraction"
    return KINDS.get(type(value), type(value).__name__)


# --- the JSON header ------------------------------------------------------

def _refuse_constant(name):
    raise ValueError(f"{name} is not allowed")


def _finite_float(text):
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError(f"{text[:20]} is too large")
    return value


def _object_without_repeats(pairs):
    header = {}
    for key, value in pairs:
        if key in header:
            raise ValueError(f"key {key!r} appears twice")
        header[key] = value
    return header


_STRICT_JSON = json.JSONDecoder(parse_constant=_refuse_constant,
                                parse_float=_finite_float,
                                object_pairs_hook=_object_without_repeats)


def decode_header(data):
    """The JSON object in *data* (bytes), decoded strictly, or BadHeader."""
    try:
        text = bytes(data).decode("utf-8")
    except UnicodeDecodeError as error:
        raise BadHeader(f"the header is not UTF-8 (byte {error.start})") from None
    try:
        header = _STRICT_JSON.decode(text)
    except RecursionError:
        raise BadHeader("the header nests too deeply") from None
    except ValueError as error:
        reason = error.msg if isinstance(error, json.JSONDecodeError) else str(error)
        reason = reason[:100]
        raise BadHeader(f"the header is not valid JSON: {reason}") from None
    if not isinstance(header, dict):
        raise BadHeader(f"the header must be a JSON object, not {json_kind(header)}")
    return header


def encode_header(header):
    """*header* (a dict) as compact UTF-8 JSON, checked against the size limit."""
    data = json.dumps(header, ensure_ascii=False, allow_nan=False,
                      separators=(",", ":")).encode("utf-8")
    if len(data) > MAX_HEADER_SIZE:
        raise ValueError(f"header of {len(data)} bytes is over {MAX_HEADER_SIZE}")
    return data


def encode_message(header, body=b""):
    """The bytes of one whole message: prefix, header and (small) body."""
    data = encode_header(header)
    return PREFIX.pack(len(data)) + data + body


def send_message(sock, header, body=b""):
    """Send one message with ``sendall`` (``send`` may send only part of it)."""
    sock.sendall(encode_message(header, body))


# --- reading --------------------------------------------------------------

class MessageReader:
    """Reads CNFP/1 messages from one connected socket.

    Methods for the caller: ``read_header()``, then, when the header
    announces a body, ``start_body(size)`` and ``body_chunks()`` (or
    ``skip_body()``).  ``body_left`` counts the body bytes not yet read, so
    a caller can always get the stream back in step with ``skip_body()``.
    """

    def __init__(self, sock, chunk_size=CHUNK_SIZE):
        self.sock = sock
        self.chunk_size = chunk_size
        self.body_left = 0
        self.wait_all = wait_all_flag(sock)

    def read_exactly(self, count, what="message"):
        """Exactly *count* bytes, in a buffer of their own (a memoryview).

        Only for lengths already checked (a prefix, a header).  A close
        before the first byte raises ConnectionClosed, a close after it
        IncompleteMessage.
        """
        view = memoryview(bytearray(count))
        received = 0
        while received < count:
            got = self.sock.recv_into(view[received:])
            if not got:
                if received == 0 and what == "length prefix":
                    raise ConnectionClosed("the peer closed the connection")
                raise IncompleteMessage(
                    f"connection closed in the middle of a message: received "
                    f"{received} of {count} {what} bytes")
            received += got
        return view

    def read_header(self):
        """The next message's header, a dict.

        Raises ConnectionClosed, IncompleteMessage, BadPrefix or BadHeader
        on bad bytes (and OSError when the socket itself fails).
        """
        if self.body_left:
            raise RuntimeError(f"{self.body_left} body bytes are still unread")
        # parse_prefix() never returns more than MAX_HEADER_SIZE: whatever
        # the peer sent, at most 64 KiB are read next.
        length = parse_prefix(self.read_exactly(PREFIX.size, "length prefix"))
        return decode_header(self.read_exactly(length, "header"))

    def start_body(self, size):
        """Announce that *size* body bytes follow the header just read."""
        self.body_left = size

    def body_chunks(self, next_buffer=None):
        """Yield the body as views of one buffer, each valid until the next.

        *next_buffer*, if given, is called before each read and returns the
        (writable memoryview) buffer to read into, so that a caller can
        still be using the previous chunk while the next one arrives.
        Without it, one buffer of at most ``chunk_size`` bytes is taken for
        the whole body.  Raises IncompleteMessage if the peer closes before
        the end.
        """
        if next_buffer is None and self.body_left:
            buffer = memoryview(bytearray(min(self.body_left, self.chunk_size)))
            next_buffer = lambda: buffer        # noqa: E731
        while self.body_left:
            buffer = next_buffer()
            want = min(self.body_left, len(buffer))
            got = self.sock.recv_into(buffer[:want], want, self.wait_all)
            if not got:
                raise IncompleteMessage(
                    f"connection closed in the middle of a message: "
                    f"{self.body_left} body bytes never arrived")
            self.body_left -= got
            yield buffer[:got]

    def skip_body(self):
        """Read and throw away the rest of the body, to keep the stream in step."""
        if not self.body_left:
            return
        buffer = memoryview(bytearray(min(self.body_left, SKIP_SIZE)))
        for _ in self.body_chunks(lambda: buffer):
            pass
