"""files: a file server speaking CNFP/1 (list, get, put) under one root directory.

The course notes send a file as a length prefix, a JSON header and the
bytes (``classicnet.framing`` is that lesson as a module).  This handler is
the server side, grown up: many requests on one connection, and every rule
a real server needs when clients may be careless or hostile::

    request                          what the server does
    ------------------------------   ---------------------------------------
    {"op": "list"}                   lists the regular files in the root
    {"op": "get", "name": n}         sends the file with socket.sendfile()
    {"op": "put", "name": n,         streams the body into a temporary file,
     "size": s, ...} + s bytes       then renames it into place
    {"filename": n, "filesize": s}   the course notes' upload: a put
    {"op": "quit"}                   answers, then closes

Theory of operation, one rule at a time:

* A name is one plain file name (``fields.check_file_name``), and the
  root is a ``storage.Root``: nothing outside it is ever read or written,
  and an upload gets its name only once all of it has arrived and its
  sha256 matched (``classicnet.storage`` says how).
* Memory stays flat: a download leaves the kernel with zero-copy
  ``socket.sendfile()``, and an upload comes through two reused buffers,
  one hashed in a second thread while the next one fills
  (``hashing.BackgroundSha256`` says why).  The server remembers each
  file's sha256 (``hashing.DigestCache``), so a file is hashed once, not on
  every download (under ``--forking`` each child remembers only for its
  own client).
* Every mistake is answered with ``{"ok": false, "error": "..."}``.  When
  the request announced a body the server still reads (and throws away)
  that body, so the next request is found where it should be; only when
  the body's length is unknown or over ``--max-size`` does it answer and
  close the connection.

POSIX only: Windows has no ``dir_fd`` and no ``O_NOFOLLOW``.
"""

import logging
import os
import socketserver

from .. import framing
from ..compat import HAS_DIR_FD
from ..contract import Option
from ..endpoints import format_address
from ..errors import UsageError
from ..fields import check_file_name, optional_field, required_field, size_field
from ..framing import BadHeader, BadPrefix, ConnectionClosed, IncompleteMessage
from ..hashing import BackgroundSha256, DigestCache, HashingFailed, is_sha256, sha256_of
from ..quantities import byte_count
from ..registry import register
from ..storage import Root, StorageError, clear_leftovers, is_temporary
from ..text import printable

__all__ = ["FilesHandler"]

log = logging.getLogger("classicnet.files")

DEFAULT_MAX_SIZE = 1 << 30        # 1 GiB


class Refusal(Exception):
    """A request the server answers with an error.

    The connection goes on, unless *close* says the stream cannot be
    trusted any more.
    """

    def __init__(self, message, close=False):
        super().__init__(message)
        self.close = close


@register("files", "tcp")
class FilesHandler(socketserver.BaseRequestHandler):
    """Serves the files in --root over CNFP/1: list, get, put (docs/protocol.md).

    Class variables that may be overridden: ``options``.
    Methods that may be extended: ``serve()`` (one request).
    """

    # The method that answers each "op" a request may name.
    operations = {"list": "list_files", "get": "send_file",
                  "put": "receive_file", "quit": "quit"}

    options = (
        Option("--root", "directory whose files are served", str, ".", "DIR"),
        Option("--max-size", "largest upload accepted, in bytes (K, M, G allowed)",
               byte_count, DEFAULT_MAX_SIZE, "BYTES"),
    )

    @classmethod
    def prepare_server(cls, server):
        """Check the settings, make the root absolute, clear old temporary files."""
        if not HAS_DIR_FD:
            raise UsageError("the files handler needs a POSIX system "
                             "(os.open with dir_fd); it cannot run here")
        options = server.options
        root = os.path.realpath(os.fspath(options.root))
        if not os.path.isdir(root):
            what = "does not exist" if not os.path.exists(root) else "is not a directory"
            raise UsageError(f"--root {os.fspath(options.root)!r} {what}; "
                             "give a directory to serve")
        options.root = root
        server.shared.digests = DigestCache()
        for name in clear_leftovers(root):
            log.info("removed %s, left by a server that stopped mid-upload", name)

    def setup(self):
        self.reader = framing.MessageReader(self.request)
        self.root = Root(self.server.options.root)

    def finish(self):
        self.root.close()

    def handle(self):
        try:
            while self.serve_next():
                pass
        except IncompleteMessage as error:
            log.info("client %s: %s", self.who, error)

    def serve_next(self):
        """Read and answer one request; return False when the connection should end."""
        try:
            header = self.reader.read_header()
        except ConnectionClosed:
            return False
        except BadPrefix as error:
            self.reply_error(error)
            return False
        except BadHeader as error:
            self.reply_error(error)
            return True
        if not self.serve(header):
            return False
        # Whatever body the operation did not read (a refused upload's)
        # is read now, so that the next header is found where it starts.
        self.reader.skip_body()
        return True

    @property
    def who(self):
        return format_address(self.client_address)

    def serve(self, header):
        """Answer one request; return False when the connection should end."""
        try:
            return self.operation_for(header)(header)
        except (Refusal, StorageError, BadHeader) as error:
            self.reply_error(error)
            return not getattr(error, "close", False)

    def operation_for(self, header):
        if "op" not in header and "filename" in header:
            return self.course_upload
        op = required_field(header, "op", str)
        if op not in self.operations:
            if "size" in header:
                self.expect_body(header)
            raise Refusal(f"unknown op '{printable(op, 40)}'; choose from: "
                          f"{', '.join(self.operations)}")
        return getattr(self, self.operations[op])

    # --- replies ----------------------------------------------------------

    def reply(self, header):
        framing.send_message(self.request, header)

    def reply_error(self, error):
        log.info("client %s: refused: %s", self.who, error)
        self.reply({"ok": False, "error": str(error)})

    # --- list and quit ----------------------------------------------------

    def list_files(self, header):
        files = [{"name": name, "size": size} for name, size in self.root.files()
                 if self.listable(name)]
        self.reply(fit_listing(files))
        return True

    @staticmethod
    def listable(name):
        try:
            check_file_name(name)
        except BadHeader:
            return False         # e.g. bytes that are not UTF-8
        return True

    def quit(self, header):
        self.reply({"ok": True})
        return False

    # --- get --------------------------------------------------------------

    def send_file(self, header):
        name = self.checked_name(header, "name")
        offset = optional_field(header, "offset", int, 0)
        if offset < 0:
            raise Refusal(f"field 'offset' must be 0 or more, not {offset}")
        with self.root.open_for_reading(name) as file:
            status = os.fstat(file.fileno())
            if offset > status.st_size:
                raise Refusal(f"offset {offset} is past the end of {name!r} "
                              f"({status.st_size} bytes)")
            count = status.st_size - offset
            response = {"ok": True, "name": name, "size": count,
                        "sha256": self.digest_of(file, status)}
            if "offset" in header:
                response["offset"] = offset
            self.reply(response)
            sent = self.request.sendfile(file, offset, count) if count else 0
        if sent != count:
            log.warning("client %s: %r shrank while being sent; closing", self.who, name)
            return False
        return True

    def digest_of(self, file, status):
        digest = self.server.shared.digests.get(status)
        if digest is None:
            digest = sha256_of(file).hexdigest()
            self.server.shared.digests.remember(status, digest)
        return digest

    # --- put --------------------------------------------------------------

    def course_upload(self, header):
        """The course notes' upload: ``{"filename": n, "filesize": s}`` + s bytes."""
        return self.receive_file(header, name_key="filename", size_key="filesize")

    def receive_file(self, header, name_key="name", size_key="size"):
        """Store an upload: check what can be checked before the body arrives,
        stream the body into a temporary file, then give it its name."""
        size = self.expect_body(header, size_key)
        name = self.checked_name(header, name_key)
        expected = optional_field(header, "sha256", str)
        if expected is not None and not is_sha256(expected):
            raise Refusal("field 'sha256' must be 64 hexadecimal digits")
        overwrite = optional_field(header, "overwrite", bool, False)
        self.root.check_target(name, overwrite)
        with self.root.upload() as upload:
            digest = self.store_body(upload)
            if expected is not None and digest != expected.lower():
                raise Refusal(f"sha256 mismatch for {name!r}: received {digest}, "
                              f"expected {expected.lower()}; the upload was discarded")
            status = upload.commit(name, overwrite)
        self.server.shared.digests.remember(status, digest)
        log.info("client %s: stored %r (%d bytes)", self.who, name, size)
        self.reply({"ok": True, "name": name, "size": size, "sha256": digest})
        return True

    def expect_body(self, header, key="size"):
        """Read the request's body size and tell the reader a body follows."""
        try:
            size = size_field(header, key)
        except BadHeader as error:
            raise Refusal(f"{error}; without a body size the connection "
                          "cannot go on", close=True) from None
        if size > self.server.options.max_size:
            raise Refusal(f"upload of {size} bytes is over this server's limit "
                          f"of {self.server.options.max_size} bytes", close=True)
        self.reader.start_body(size)
        return size

    def store_body(self, upload):
        """Stream the body into *upload*, hashing as it comes; return the sha256.

        Each chunk is written here while the previous one is hashed in a
        second thread (see ``hashing.BackgroundSha256`` for why).
        """
        try:
            with BackgroundSha256() as digest:
                for chunk in self.reader.body_chunks(digest.free_buffer):
                    upload.write(chunk)
                    digest.update(chunk)
                return digest.hexdigest()
        except HashingFailed as error:
            log.exception("hashing an upload failed")
            raise Refusal(f"cannot check the upload: {error}; nothing was kept") from None

    # --- names ------------------------------------------------------------

    def checked_name(self, header, key):
        name = check_file_name(required_field(header, key, str))
        if is_temporary(name):
            raise Refusal(f"{name!r} is reserved for uploads in progress")
        return name


def fit_listing(files):
    """The list response, cut short (with ``"more"``) if it would not fit a header."""
    budget = framing.MAX_HEADER_SIZE - 64
    used = 0
    for count, file in enumerate(files):
        used += len(framing.encode_header(file)) + 1
        if used > budget:
            return {"ok": True, "files": files[:count], "more": len(files) - count}
    return {"ok": True, "files": files}
