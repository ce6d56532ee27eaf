"""The file client: list, get and put files on a CNFP/1 server (``classicnet files``).

For scripts, one function per operation, each on a connection of its own::

    from classicnet import fileclient

    address = ("127.0.0.1", 9000)
    fileclient.list_files(address)          # [{"name": "a.txt", "size": 12}, ...]
    fileclient.put(address, "notes.md")     # {"ok": True, "name": ..., "sha256": ...}
    fileclient.get(address, "notes.md", "copy.md")

or several requests on one connection::

    with fileclient.FileClient(address) as client:
        for file in client.list():
            client.get(file["name"])

A download is written to ``TARGET.part`` and renamed to TARGET only once
every byte has arrived and the sha256 the server announced matched, so
TARGET is never half-written.  If the connection breaks, ``TARGET.part``
stays: ``get(..., resume=True)`` asks the server for the rest (the
request's ``"offset"``) and checks the whole file against the server's
size and sha256 at the end, as FTP's REST command does for the course's
FTP homework.

A download is written while a second thread hashes what came before
(``hashing.BackgroundSha256``), so it goes as fast as one core hashes.
An upload is hashed first, since the request's header carries the
sha256 (so the server can check what it received and keep nothing if
it differs); then it leaves with zero-copy ``os.sendfile()``
(``classicnet.sending``).  Neither direction will replace an existing
file unless asked: ``overwrite=True`` (a download's default, as
``open(path, "wb")`` does; the command line asks for ``--force``).  Both directions take *progress*, a function called
as ``progress(done, total)``; ``ProgressBar.on(sys.stderr, name)``
(``classicnet.progress``) draws one on a terminal.

Errors: ``ServerRefused`` when the server answers ``"ok": false`` (its
message is the exception's), ``ChecksumMismatch`` when a download's sha256
differs, both ``FileTransferError``; ``framing.FramingError`` when the
server breaks the protocol; ``UsageError`` for a host that cannot be
resolved (``classicnet.endpoints`` connects); ``OSError`` for the network
and local files.
"""

import os

from . import framing
from .endpoints import Endpoint
from .fields import check_file_name, optional_field, quoted, required_field, size_field
from .hashing import BackgroundSha256, HashingFailed, sha256_of
from .progress import ProgressBar
from .sending import send_file
from .text import printable

__all__ = [
    "ChecksumMismatch", "FileClient", "FileTransferError", "ProgressBar",
    "ServerRefused", "TargetExists", "download_paths", "get", "list_files", "put",
]

DEFAULT_ADDRESS = ("127.0.0.1", 9000)
DEFAULT_TIMEOUT = 30.0


class FileTransferError(Exception):
    """A transfer that did not happen; the message says why, in one line."""


class ServerRefused(FileTransferError):
    """The server answered a request with ``"ok": false``."""


class ChecksumMismatch(FileTransferError):
    """A download's sha256 differs from the one the server announced."""


class TargetExists(FileTransferError):
    """A download's target exists, and the caller did not ask to replace it."""


def write_all(file, data):
    """Write all of *data* to an unbuffered file (one write may take only part)."""
    while data:
        data = data[file.write(data):]


def publish(partial, target, overwrite):
    """Give a checked download its name; without *overwrite*, never replace one."""
    if overwrite:
        os.replace(partial, target)
        return
    try:
        os.link(partial, target)        # fails, atomically, if target exists
    except FileExistsError:
        raise TargetExists(f"{target} appeared during the download; the download "
                           f"is kept in {partial}") from None
    except OSError:                     # a file system without hard links
        if os.path.lexists(target):
            raise TargetExists(f"{target} already exists") from None
        os.replace(partial, target)
        return
    os.unlink(partial)


def download_paths(name, target=None):
    """Where a download of *name* goes: ``(target, partial)``.

    *target* defaults to *name* in the current directory; a directory
    means *name* inside it.  The download is written to *partial*
    (``TARGET.part``) until it is complete and checked.
    """
    check_file_name(name)
    target = os.fspath(target if target is not None else name)
    if os.path.isdir(target):
        target = os.path.join(target, name)
    return target, target + ".part"


class FileClient:
    """One connection to a CNFP/1 server, for any number of requests.

    Methods for the caller: ``list()``, ``get()``, ``put()``, ``close()``
    (which sends ``quit``).  It is a context manager.  *address* is
    ``(host, port)``, or an ``endpoints.Endpoint`` (over TLS, or a Unix socket).
    """

    def __init__(self, address=DEFAULT_ADDRESS, timeout=DEFAULT_TIMEOUT):
        endpoint = address if isinstance(address, Endpoint) else \
            Endpoint("tcp", tuple(address))
        self.sock, _ = endpoint.connect(timeout)
        self.reader = framing.MessageReader(self.sock)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close(polite=exc_info[0] is None)

    def close(self, polite=True):
        """Say ``quit`` (when *polite* and the connection is in step), then close."""
        try:
            if polite and not self.reader.body_left:
                self.request({"op": "quit"})
        except (OSError, framing.FramingError, FileTransferError):
            pass            # the server may have closed first; we close anyway
        finally:
            self.sock.close()

    def request(self, header):
        """Send one request without a body and return the server's answer."""
        framing.send_message(self.sock, header)
        return self.response()

    def response(self):
        """The server's next answer; ServerRefused if it says ``"ok": false``."""
        try:
            header = self.reader.read_header()
        except framing.ConnectionClosed:
            raise framing.IncompleteMessage(
                "the server closed the connection without answering") from None
        if optional_field(header, "ok", bool) is not True:
            error = optional_field(header, "error", str, "no reason given")
            raise ServerRefused(printable(error, limit=300))
        return header

    # --- list -------------------------------------------------------------

    def list(self):
        """The server's files: a list of ``{"name": str, "size": int}``, by name."""
        files = required_field(self.request({"op": "list"}), "files", list)
        for file in files:
            if not isinstance(file, dict):
                raise framing.BadHeader("each listed file must be an object")
            check_file_name(required_field(file, "name", str))
            size_field(file)
        return files

    # --- get --------------------------------------------------------------

    def get(self, name, target=None, resume=False, offset=None, progress=None,
            overwrite=True):
        """Download *name* to *target* (default: *name* in the current directory).

        *target* may be a directory.  With *resume*, continue from the bytes
        already in ``TARGET.part``; *offset* continues from exactly that many
        of them.  *progress*, if given, is called as ``progress(done, total)``.
        Without *overwrite*, an existing TARGET is left alone
        (``TargetExists``), checked before asking and again at the end.
        Returns the server's answer with ``"path"`` added.
        """
        target, partial = download_paths(name, target)
        if not overwrite and os.path.lexists(target):
            raise TargetExists(f"{target} already exists")
        start = self.resume_offset(partial, resume, offset)
        header = {"op": "get", "name": name}
        if resume or offset is not None:
            header["offset"] = start
        answer = self.request(header)
        count = size_field(answer)
        self.reader.start_body(count)
        expected = required_field(answer, "sha256", str).lower()
        if answer.get("offset", 0) != start or answer.get("name") != name:
            raise framing.BadHeader(f"the server answered for another name or "
                                    f"offset: {printable(str(answer))}")
        total = start + count
        with open(partial, "r+b" if start else "wb", buffering=0) as file:
            try:
                digest = sha256_of(file, start)
            except EOFError as error:       # it shrank since we looked
                raise FileTransferError(str(error)) from None
            file.truncate(start)
            received = self.receive_body(file, digest, start, total, progress)
        if received != expected:
            os.unlink(partial)
            raise ChecksumMismatch(
                f"sha256 mismatch for {quoted(name)}: received {received}, "
                f"the server announced {expected}; the download was discarded"
                + (" (did the file change on the server since the first part?)"
                   if start else ""))
        publish(partial, target, overwrite)
        return dict(answer, path=target, size=total)

    def receive_body(self, file, digest, done, total, progress):
        """Write the body to *file*, hashing it on the way; return the sha256.

        Each chunk is written here while the ones before it are hashed in a
        second thread (``hashing.BackgroundSha256``), so a download goes
        as fast as one core hashes.
        """
        try:
            with BackgroundSha256(digest=digest) as hashing:
                for chunk in self.reader.body_chunks(hashing.free_buffer):
                    write_all(file, chunk)
                    hashing.update(chunk)
                    done += len(chunk)
                    if progress:
                        progress(done, total)
                return hashing.hexdigest()
        except HashingFailed as error:
            raise FileTransferError(f"{error}; the download cannot be checked") from None

    @staticmethod
    def resume_offset(partial, resume, offset):
        if offset is None and not resume:
            return 0
        try:
            have = os.path.getsize(partial)
        except FileNotFoundError:
            have = 0
        if offset is None:
            return have
        if offset < 0 or offset > have:
            raise FileTransferError(f"cannot continue from byte {offset}: "
                                    f"{partial} holds {have} bytes")
        return offset

    # --- put --------------------------------------------------------------

    def put(self, path, name=None, overwrite=False, progress=None):
        """Upload the file at *path* as *name* (default: its own file name).

        The server keeps it only if all of it arrives with the same sha256;
        an existing file is replaced only with *overwrite*.
        """
        name = check_file_name(name if name is not None else os.path.basename(path))
        with open(path, "rb") as file:
            size = os.fstat(file.fileno()).st_size
            header = {"op": "put", "name": name, "size": size,
                      "sha256": sha256_of(file).hexdigest()}
            if overwrite:
                header["overwrite"] = True
            try:
                framing.send_message(self.sock, header)
                self.send_body(file, size, progress)
            except (BrokenPipeError, ConnectionResetError):
                # The server may have refused the upload and closed
                # (over --max-size): its answer says why, if it came.
                self.response()
                raise
        return self.response()

    def send_body(self, file, size, progress):
        """Send the upload's bytes, zero-copy where the socket allows it."""
        sent = send_file(self.sock, file, 0, size,
                         progress and (lambda done: progress(done, size)))
        if sent != size:
            raise FileTransferError(f"{file.name} shrank while being sent; "
                                    "the server will keep nothing")


# --- one connection per call ----------------------------------------------

def list_files(address=DEFAULT_ADDRESS, **options):
    """The server's files, as ``FileClient.list()`` returns them."""
    with FileClient(address, **options) as client:
        return client.list()


def get(address, name, target=None, resume=False, offset=None, progress=None,
        overwrite=True, **options):
    """Download one file, as ``FileClient.get()`` does."""
    with FileClient(address, **options) as client:
        return client.get(name, target, resume, offset, progress, overwrite)


def put(address, path, name=None, overwrite=False, progress=None, **options):
    """Upload one file, as ``FileClient.put()`` does."""
    with FileClient(address, **options) as client:
        return client.put(path, name, overwrite, progress)
