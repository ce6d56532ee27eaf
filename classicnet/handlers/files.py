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

* A name is one plain file name (``framing.check_file_name``): the server never
  joins a client's text onto a path.  Every file is opened *relative to a
  descriptor of the root* (``dir_fd``) and with ``O_NOFOLLOW``, so neither
  ``../x`` nor a symbolic link inside the root can reach anything outside.
* An upload is written to ``.cnfp-upload-PID-RANDOM.part`` beside its
  target, hashed as it streams in, and moved into place only when every
  byte has arrived and the sha256 matched.  A cut connection, a refusal or
  a full disk removes the temporary file, so a half-written file never
  appears under the real name.  Temporary files are never listed, and those
  a killed server left behind are removed when the next one starts.
* A new name appears with ``os.link`` (which fails if the name exists,
  atomically: no other upload can slip in between check and write); an
  existing file is replaced with ``os.replace`` only on ``"overwrite": true``.
* Memory stays flat: a download leaves the kernel with zero-copy
  ``socket.sendfile()``, and an upload comes through two reused buffers,
  one hashed in a second thread while the next one fills (``BackgroundSha256``
  says why).  The server remembers each file's sha256 (keyed by inode,
  size and times), so a file is hashed once, not on every download (under
  ``--forking`` each child remembers only for its own client).
* Every mistake is answered with ``{"ok": false, "error": "..."}``.  When
  the request announced a body the server still reads (and throws away)
  that body, so the next request is found where it should be; only when
  the body's length is unknown or over ``--max-size`` does it answer and
  close the connection.

POSIX only: Windows has no ``dir_fd`` and no ``O_NOFOLLOW``.
"""

import errno
import hashlib
import logging
import os
import socketserver
import stat
import threading

from .. import framing
from ..contract import Option
from ..endpoints import format_address
from ..errors import UsageError
from ..framing import BadHeader, BadPrefix, ConnectionClosed, IncompleteMessage
from ..quantities import byte_count
from ..registry import register
from ..text import printable

__all__ = ["FilesHandler", "clear_leftovers", "is_temporary"]

log = logging.getLogger("classicnet.files")

DEFAULT_MAX_SIZE = 1 << 30        # 1 GiB
TEMPORARY_PREFIX = ".cnfp-upload-"
TEMPORARY_SUFFIX = ".part"

def is_temporary(name):
    """True for the name of an upload still in progress (or left by a crash)."""
    return name.startswith(TEMPORARY_PREFIX) and name.endswith(TEMPORARY_SUFFIX)


def clear_leftovers(root):
    """Remove the temporary files of servers that no longer run; return their names.

    The writer's process id is part of each temporary name, so a server
    started beside a running one leaves the other's uploads alone.
    """
    removed = []
    with os.scandir(root) as entries:
        for entry in entries:
            if is_temporary(entry.name) and not _writer_alive(entry.name):
                try:
                    os.unlink(entry.path)
                except FileNotFoundError:
                    continue
                removed.append(entry.name)
    return removed


def _writer_alive(name):
    pid = name[len(TEMPORARY_PREFIX):].split("-")[0]
    if not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True         # a process of another user
    return True


class DigestCache:
    """The sha256 of files already hashed, so a file is read once, not per download.

    The key is what changes when a file's content can have changed: its
    device and inode, size, modification and change times (the change time
    cannot be set back by any user).
    """

    def __init__(self, limit=4096):
        self.limit = limit
        self.digests = {}
        self.lock = threading.Lock()

    @staticmethod
    def key(status):
        return (status.st_dev, status.st_ino, status.st_size,
                status.st_mtime_ns, status.st_ctime_ns)

    def get(self, status):
        with self.lock:
            return self.digests.get(self.key(status))

    def remember(self, status, digest):
        with self.lock:
            if len(self.digests) >= self.limit:
                self.digests.pop(next(iter(self.digests)))
            self.digests[self.key(status)] = digest


class Refusal(Exception):
    """A request the server answers with an error.

    The connection goes on, unless *close* says the stream cannot be
    trusted any more.
    """

    def __init__(self, message, close=False):
        super().__init__(message)
        self.close = close


class BackgroundSha256:
    """A sha256 computed in a second thread while the next chunk arrives.

    Why: storing an upload takes three passes over every byte, and one
    thread doing them one after the other leaves the second core idle.
    CPU time per GiB on the 2-core machine this was written on (sha256
    with the CPU's SHA instructions)::

        socket.recv_into              0.3 s
        os.write, to the page cache   0.25 s
        hashlib.sha256().update       0.65 s  (0.8 s on bytes another core
                                               has just received)

    One thread doing all three needs 1.2 s per GiB: at most 0.85 GB/s, about
    0.4 of a bare ``sendfile`` into ``recv_into`` (2.1 GB/s).  hashlib,
    ``recv_into`` and ``os.write`` release the GIL while they work on a
    large buffer, so two threads really run at once: this class hashes
    chunk *n* in its own thread while the handler receives and writes chunk
    *n + 1*, two stages of about the same cost (0.8 s and 0.6 s per GiB).
    With ``scripts/bench_files.py --size 256M`` on that machine, busy with
    other work (load average 4 to 6), put went from 0.39 to 0.43 of the
    baseline (medians of alternated runs); the hashing thread alone, at
    0.8 s per GiB, keeps it below about 0.6 even on an idle machine.

    Memory stays flat: two buffers, used in turn.  ``free_buffer()`` hands
    out the one the thread is not reading, and ``update()`` waits until the
    previous chunk is hashed before it hands over the next, so at most one
    chunk is being hashed at any time.  An error in the thread is raised
    again in the caller's, as a ``Refusal``, at the next ``update()`` or
    ``hexdigest()``::

        with BackgroundSha256() as digest:
            for chunk in reader.body_chunks(digest.free_buffer):
                write_all(fd, chunk)
                digest.update(chunk)        # returns at once
            return digest.hexdigest()
    """

    def __init__(self, chunk_size=framing.CHUNK_SIZE):
        self.digest = hashlib.sha256()
        self.buffers = [memoryview(bytearray(chunk_size)) for _ in range(2)]
        self.turn = 0
        self.hashing = None         # the Future of the chunk being hashed
        # Imported here, not at the top: every module a server imports makes
        # each fork() of the forking model slower (a bigger process to copy).
        from concurrent.futures import ThreadPoolExecutor
        self.worker = ThreadPoolExecutor(1, thread_name_prefix="sha256")

    def free_buffer(self):
        """The buffer to fill next: not the one whose chunk may be hashing."""
        self.turn = 1 - self.turn
        return self.buffers[self.turn]

    def update(self, chunk):
        """Start hashing *chunk*, a view of the last ``free_buffer()``."""
        self.wait()
        self.hashing = self.worker.submit(self.digest.update, chunk)

    def hexdigest(self):
        self.wait()
        return self.digest.hexdigest()

    def wait(self):
        """Wait for the chunk being hashed; raise the thread's error here."""
        hashing, self.hashing = self.hashing, None
        if hashing is None:
            return
        try:
            hashing.result()
        except Exception as error:
            log.exception("hashing an upload failed")
            raise Refusal(f"cannot check the upload: hashing failed ({error}); "
                          "nothing was kept") from None

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.worker.shutdown(wait=True)


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
        if os.open not in os.supports_dir_fd:
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
        self.root = os.open(self.server.options.root, os.O_RDONLY | os.O_DIRECTORY)

    def finish(self):
        os.close(self.root)

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
        except (Refusal, BadHeader) as error:
            self.reply_error(error)
            return not getattr(error, "close", False)

    def operation_for(self, header):
        if "op" not in header and "filename" in header:
            return self.course_upload
        op = framing.required_field(header, "op", str)
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
        files = []
        with os.scandir(self.root) as entries:
            for entry in entries:
                if self.listable(entry):
                    try:
                        size = entry.stat(follow_symlinks=False).st_size
                    except OSError:
                        continue        # removed while we looked
                    files.append({"name": entry.name, "size": size})
        files.sort(key=lambda file: file["name"])
        self.reply(fit_listing(files))
        return True

    @staticmethod
    def listable(entry):
        if is_temporary(entry.name) or not entry.is_file(follow_symlinks=False):
            return False
        try:
            framing.check_file_name(entry.name)
        except BadHeader:
            return False         # e.g. bytes that are not UTF-8
        return True

    def quit(self, header):
        self.reply({"ok": True})
        return False

    # --- get --------------------------------------------------------------

    def send_file(self, header):
        name = self.checked_name(header, "name")
        offset = framing.optional_field(header, "offset", int, 0)
        if offset < 0:
            raise Refusal(f"field 'offset' must be 0 or more, not {offset}")
        with self.open_for_reading(name) as file:
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

    def open_for_reading(self, name):
        """The regular file *name* in the root, opened without following links."""
        flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK  # a FIFO must not block
        try:
            fd = os.open(name, flags, dir_fd=self.root)
        except FileNotFoundError:
            raise Refusal(f"no file named {name!r} here") from None
        except OSError as error:
            if error.errno in (errno.ELOOP, errno.EMLINK):
                raise Refusal(f"{name!r} is a symbolic link, and links are "
                              "never followed") from None
            raise Refusal(f"cannot read {name!r}: {error.strerror}") from None
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise Refusal(f"{name!r} is not a regular file")
        return open(fd, "rb", buffering=0)

    def digest_of(self, file, status):
        digest = self.server.shared.digests.get(status)
        if digest is None:
            digest = sha256_of(file)
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
        expected = framing.optional_field(header, "sha256", str)
        if expected is not None and not is_sha256(expected):
            raise Refusal("field 'sha256' must be 64 hexadecimal digits")
        overwrite = framing.optional_field(header, "overwrite", bool, False)
        self.check_target(name, overwrite)
        temporary = self.create_temporary()
        try:
            digest = self.store_body(temporary)
            if expected is not None and digest != expected.lower():
                raise Refusal(f"sha256 mismatch for {name!r}: received {digest}, "
                              f"expected {expected.lower()}; the upload was discarded")
            status = self.move_into_place(temporary, name, overwrite)
        except BaseException:
            self.remove(temporary)
            raise
        self.server.shared.digests.remember(status, digest)
        log.info("client %s: stored %r (%d bytes)", self.who, name, size)
        self.reply({"ok": True, "name": name, "size": size, "sha256": digest})
        return True

    def expect_body(self, header, key="size"):
        """Read the request's body size and tell the reader a body follows."""
        try:
            size = framing.size_field(header, key)
        except BadHeader as error:
            raise Refusal(f"{error}; without a body size the connection "
                          "cannot go on", close=True) from None
        if size > self.server.options.max_size:
            raise Refusal(f"upload of {size} bytes is over this server's limit "
                          f"of {self.server.options.max_size} bytes", close=True)
        self.reader.start_body(size)
        return size

    def check_target(self, name, overwrite):
        try:
            status = os.stat(name, dir_fd=self.root, follow_symlinks=False)
        except FileNotFoundError:
            return
        if not stat.S_ISREG(status.st_mode):
            raise Refusal(f"{name!r} exists and is not a regular file; "
                          "only regular files are replaced")
        if not overwrite:
            raise Refusal(f"{name!r} already exists; send \"overwrite\": true "
                          "to replace it")

    def create_temporary(self):
        name = f"{TEMPORARY_PREFIX}{os.getpid()}-{os.urandom(8).hex()}{TEMPORARY_SUFFIX}"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
        try:
            fd = os.open(name, flags, 0o666, dir_fd=self.root)
        except OSError as error:
            raise Refusal(f"cannot store uploads here: {error.strerror}") from None
        os.close(fd)
        return name

    def store_body(self, temporary):
        """Stream the body into *temporary*, hashing as it comes; return the sha256.

        Each chunk is written here while the previous one is hashed in a
        second thread (see ``BackgroundSha256`` for why).
        """
        fd = os.open(temporary, os.O_WRONLY | os.O_NOFOLLOW, dir_fd=self.root)
        try:
            with BackgroundSha256() as digest:
                for chunk in self.reader.body_chunks(digest.free_buffer):
                    try:
                        write_all(fd, chunk)
                    except OSError as error:
                        raise Refusal(f"cannot store the upload: {error.strerror}; "
                                      "nothing was kept") from None
                    digest.update(chunk)
                return digest.hexdigest()
        finally:
            os.close(fd)

    def move_into_place(self, temporary, name, overwrite):
        """Give the finished upload its name; return the file's new status."""
        root = self.root
        try:
            if overwrite:
                os.replace(temporary, name, src_dir_fd=root, dst_dir_fd=root)
            else:
                os.link(temporary, name, src_dir_fd=root, dst_dir_fd=root)
                self.remove(temporary)
        except FileExistsError:
            raise Refusal(f"{name!r} appeared during the upload; send "
                          "\"overwrite\": true to replace it") from None
        except OSError as error:
            raise Refusal(f"cannot store {name!r}: {error.strerror}") from None
        return os.stat(name, dir_fd=root, follow_symlinks=False)

    def remove(self, temporary):
        try:
            os.unlink(temporary, dir_fd=self.root)
        except FileNotFoundError:
            pass

    # --- names ------------------------------------------------------------

    def checked_name(self, header, key):
        name = framing.check_file_name(framing.required_field(header, key, str))
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


def is_sha256(text):
    return len(text) == 64 and all(char in "0123456789abcdefABCDEF" for char in text)


def sha256_of(file, chunk_size=framing.CHUNK_SIZE):
    """The sha256 of an open binary file, read from its start through one buffer."""
    digest = hashlib.sha256()
    buffer = memoryview(bytearray(chunk_size))
    file.seek(0)
    while True:
        got = file.readinto(buffer)
        if not got:
            return digest.hexdigest()
        digest.update(buffer[:got])


def write_all(fd, data):
    """``os.write`` until all of *data* is written (a write may be partial)."""
    while data:
        data = data[os.write(fd, data):]
