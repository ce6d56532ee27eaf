"""Checks for a CNFP/1 file server (docs/protocol.md): list, get, put, safety.

Each check talks CNFP/1 as a client would, and proves what it can only
through the protocol itself: a file put is got back and compared byte for
byte, a name that must be refused must also be missing from a later
``list``.  The classic mistakes of the course notes' upload code each get
a check that catches them::

    recv_size += 1024         an upload that arrives in pieces
    recv(4) is 4 bytes        a length prefix in two pieces
    recv(1024) past the end   two uploads in one piece
    open(name, 'wb')          ../, an absolute path, a name with /
    writing in place          a cut upload must leave no file

Answers are read in either byte order (``framing.parse_prefix``), so a
server written with the notes' ``struct.pack('i', n)`` is understood.
The files a run uploads are named ``check-XXXXXXXX-...``: CNFP/1 has no
delete, so they stay in the server's folder.
"""

import hashlib
import secrets
import struct

from .. import framing
from ..fields import size_field
from .clients import Exchange, client_checks
from .conversation import Failed
from .report import Check

__all__ = ["CHECKS"]

MISTAKES = "docs/protocol.md, \"Classic mistakes\""
SEVERAL_MIB = 5 * 1024 * 1024


def unique(what):
    """A file name no other check, run or student uses: check-XXXXXXXX-what."""
    return f"check-{secrets.token_hex(4)}-{what}"


def content(size):
    """*size* bytes that differ from place to place, so a shifted copy shows."""
    block = hashlib.sha256(str(size).encode()).digest() * 2048
    return (block * (size // len(block) + 1))[:size]


def message(header, body=b"", order="!I"):
    """A whole CNFP/1 message, its prefix written in *order* (struct format)."""
    data = framing.encode_header(header)
    return struct.pack(order, len(data)) + data + body


def put_message(name, body):
    return message({"op": "put", "name": name, "size": len(body),
                    "sha256": hashlib.sha256(body).hexdigest()}, body)


def answer(conversation):
    """The next answer's header, a dict; ``Failed`` if it is not CNFP/1."""
    prefix = conversation.receive(4, "an answer's 4-byte length prefix")
    try:
        length = framing.parse_prefix(prefix)
        return framing.decode_header(conversation.receive(length, "an answer's header"))
    except framing.FramingError as error:
        raise Failed(f"the answer is not CNFP/1: {error}") from None


def accepted(conversation, what):
    """The next answer, which must say ``"ok": true``."""
    header = answer(conversation)
    if header.get("ok") is not True:
        raise Failed(f"{what} was refused: {header.get('error', header)!r}")
    return header


def stored(conversation, name, body):
    """Read a put's answer; check what the server says it stored."""
    header = accepted(conversation, f"the upload of {name!r}")
    digest = hashlib.sha256(body).hexdigest()
    said = (header.get("sha256", digest), header.get("size", len(body)))
    if said != (digest, len(body)):
        raise Failed(f"the server stored something else: {header}; sent "
                     f"{len(body)} bytes with sha256 {digest}")


def got_back(conversation, name, body):
    """Get *name*; it must be exactly *body*."""
    conversation.send(message({"op": "get", "name": name}))
    header = accepted(conversation, f"get {name!r}")
    try:
        size = size_field(header)
    except framing.BadHeader as error:
        raise Failed(f"the answer to get {name!r} is wrong: {error}") from None
    if size != len(body):
        raise Failed(f"get {name!r} announced {size} bytes, but {len(body)} were "
                     "put (a cut or overlong upload)")
    data = conversation.receive(size, f"the {size} bytes of {name!r}")
    if data != body:
        raise Failed(f"get {name!r} returned {size} bytes that differ from the "
                     "bytes put (a shifted upload)")


def names_listed(conversation):
    conversation.send(message({"op": "list"}))
    files = accepted(conversation, "list").get("files")
    if not isinstance(files, list):
        raise Failed(f"the answer to list has no list of files: {files!r}")
    return {entry.get("name") for entry in files if isinstance(entry, dict)}


# --- the checks ---------------------------------------------------------

def listing(probe):
    names_listed(probe.connect())


def round_trip(probe, size, what):
    name, body = unique(what), content(size)
    conversation = probe.connect()
    conversation.send(put_message(name, body))
    stored(conversation, name, body)
    got_back(conversation, name, body)


def upload_in_pieces(probe):
    name, body = unique("pieces"), content(3000)
    whole = put_message(name, body)
    conversation = probe.connect()
    cut = len(whole) - len(body) + 100          # the header and 100 body bytes
    conversation.send_in_pieces([whole[:cut], whole[cut:]])
    stored(conversation, name, body)
    got_back(conversation, name, body)


def prefix_in_pieces(probe):
    whole = message({"op": "list"})
    conversation = probe.connect()
    conversation.send_in_pieces([whole[:2], whole[2:]])
    accepted(conversation, "list")


def two_uploads_at_once(probe):
    first, second = unique("first"), unique("second")
    bodies = {first: content(1500), second: content(700)}
    conversation = probe.connect()
    conversation.send(b"".join(put_message(name, body) for name, body in bodies.items()))
    for name, body in bodies.items():
        stored(conversation, name, body)
    for name, body in bodies.items():
        got_back(conversation, name, body)


def little_endian_list(probe):
    conversation = probe.connect()
    conversation.send(message({"op": "list"}, order="<I"))
    accepted(conversation, "list with a little-endian prefix")


def course_upload(probe):
    name, body = unique("course.txt"), content(2000)
    conversation = probe.connect()
    header = {"filename": name, "filesize": len(body)}
    conversation.send(message(header, body, order="<i"))
    stored(conversation, name, body)
    got_back(conversation, name, body)


def refused(probe, name_for):
    """An upload to the name ``name_for(token)`` must be refused and leave nothing."""
    token = unique("escape")
    name = name_for(token)
    conversation = probe.connect()
    conversation.send(put_message(name, b"written outside the root\n"))
    header = answer(conversation)
    if header.get("ok") is not False:
        raise Failed(f"the server accepted the name {name!r}: {header}")
    leaked = [listed for listed in names_listed(conversation)
              if isinstance(listed, str) and token in listed]
    if leaked:
        raise Failed(f"the refused name {name!r} left {leaked} in the listing")


def cut_upload(probe):
    name, body = unique("cut"), content(100_000)
    gone = probe.connect()
    gone.send(put_message(name, body)[:-50_000])
    gone.vanish()
    if name in names_listed(probe.connect()):
        raise Failed(f"the cut upload left {name!r} in the listing")


def _ask_list(conversation):
    conversation.send(message({"op": "list"}))


def _hear_list(conversation):
    accepted(conversation, "list")


CHECKS = (
    Check("list", sends="{\"op\": \"list\"}", expects="{\"ok\": true, \"files\": [...]}",
          lesson="a message is a 4-byte length, a JSON header, then the body: read "
                 "them in that order", see="docs/protocol.md, \"A message\"",
          run=listing),
    Check("put and get", sends="put of 5000 bytes with its sha256, then get",
          expects="the same bytes back",
          lesson="store exactly the body the header announces, and send a file "
                 "with its size in the header first",
          see="docs/protocol.md, \"Requests and answers\"",
          run=lambda probe: round_trip(probe, 5000, "small")),
    Check("empty file", sends="put of 0 bytes, then get", expects="an empty file back",
          lesson="a body of 0 bytes is a file too: a loop `while n < size` must not "
                 "wait for a recv() that has nothing to receive",
          see="docs/protocol.md, \"Requests and answers\"",
          run=lambda probe: round_trip(probe, 0, "empty")),
    Check("several MiB", sends="put of 5 MiB, then get", expects="the same 5 MiB back",
          lesson="a large body arrives in many recv() results: loop until size "
                 "bytes have arrived, writing each piece", see=MISTAKES + ", 1",
          run=lambda probe: round_trip(probe, SEVERAL_MIB, "large")),
    Check("upload in pieces", sends="a put whose first 100 body bytes come alone",
          expects="the whole file stored",
          lesson="count the bytes recv() returned (n += len(data)), not the "
                 "bytes asked for (recv_size += 1024)", see=MISTAKES + ", 1",
          run=upload_in_pieces),
    Check("prefix in pieces", sends="a list request whose 4-byte prefix comes in "
          "two pieces", expects="its answer",
          lesson="recv(4) returns at most 4 bytes, maybe 2: read exactly 4 bytes "
                 "with a loop before struct.unpack", see=MISTAKES + ", 2",
          run=prefix_in_pieces),
    Check("two uploads in one piece", sends="two puts in one sendall",
          expects="both files stored whole",
          lesson="never recv() more than the body has left (recv(min(1024, size - "
                 "n))): the next message's header follows right after it",
          see=MISTAKES + ", 3", run=two_uploads_at_once),
    Check("little-endian prefix", sends="a list request with struct.pack('<I', n)",
          expects="its answer",
          lesson="the course notes' struct.pack('i', n) is little-endian; for "
                 "n < 65536 a prefix ending in two zero bytes is that order",
          see=MISTAKES + ", 7", run=little_endian_list),
    Check("course notes' upload", sends="{\"filename\": n, \"filesize\": s} with "
          "struct.pack('i'), then s bytes", expects="the file stored",
          lesson="the notes' header names the file 'filename' and its size "
                 "'filesize'; store it like a put",
          see="course notes: 进阶解决方法; docs/protocol.md", run=course_upload),
    Check("../ refused", sends="put of '../check-...'", expects="{\"ok\": false} and "
          "nothing new listed",
          lesson="never join a client's name onto a path: accept one plain file "
                 "name (no '..', no '/'), or ../ writes outside the folder",
          see=MISTAKES + ", 4", run=lambda probe: refused(probe, lambda t: f"../{t}")),
    Check("absolute path refused", sends="put of '/tmp/check-...'",
          expects="{\"ok\": false} and nothing new listed",
          lesson="os.path.join(root, '/tmp/x') is '/tmp/x': an absolute name "
                 "escapes any folder, so refuse it", see=MISTAKES + ", 4",
          run=lambda probe: refused(probe, lambda t: f"/tmp/{t}")),
    Check("name with / refused", sends="put of 'check-.../inner'",
          expects="{\"ok\": false} and nothing new listed",
          lesson="a name is one file name: refuse '/' and '\\\\' instead of "
                 "making or following folders", see=MISTAKES + ", 4",
          run=lambda probe: refused(probe, lambda t: f"{t}/inner")),
    Check("cut upload", sends="half of a put, then a reset",
          expects="no such file in a later list",
          lesson="write an upload under a temporary name and rename it only once "
                 "all of it has arrived: a cut connection must leave no half file",
          see="docs/protocol.md, \"Uploads\"", run=cut_upload),
) + client_checks(Exchange(_ask_list, _hear_list, "a list request"),
                  partial=message({"op": "list"})[:7])
