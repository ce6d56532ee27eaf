"""Hashing: the sha256 that proves a transferred file arrived whole.

CNFP/1 sends a file's sha256 beside its bytes (``docs/protocol.md``): the
server announces it with every download and checks it on every upload, and
the client checks it on every download and announces it with every upload.
Both ends hash the same way, so they share this module::

    sha256_of(file)             a file on disk, read in this thread while
                                a second one hashes (the client before an
                                upload, the server before a download)
    sha256_of(file, length)     only its first bytes (a resumed download
                                goes on from what it already holds)
    BackgroundSha256            a stream as it arrives, in a second thread
                                (the server while an upload comes in, the
                                client while a download does)
    DigestCache                 what the server has hashed already, so a
                                file is read once, not on every download

Memory stays flat however large the file: one buffer, or four used in
turn, never the whole file.  ``docs/transfers.md`` has what this buys, and
what still bounds a verified transfer, measured.
"""

import hashlib
import os
import queue
import threading

from .framing import CHUNK_SIZE

__all__ = ["BackgroundSha256", "DigestCache", "HashingFailed", "is_sha256", "sha256_of"]


class HashingFailed(Exception):
    """The hashing thread failed; the message says how, in one line."""


def sha256_of(file, length=None, chunk_size=CHUNK_SIZE):
    """The sha256 of an open binary file, read from its start.

    With *length*, of its first *length* bytes only (EOFError if the file
    is shorter), and the file is left positioned just after them.  Returns
    the ``hashlib`` object: ask it for ``hexdigest()``, or go on feeding it
    with ``update()``, as a resumed download does.

    A large file is read in this thread while ``BackgroundSha256`` hashes
    in another, so reading costs no time; a small one (most files) is
    hashed here through one buffer, without starting a thread.
    """
    file.seek(0)
    if _size_of(file, length) < 2 * chunk_size:
        buffer = memoryview(bytearray(chunk_size))
        digest = hashlib.sha256()
        _feed(file, length, lambda: buffer, digest.update)
        return digest
    with BackgroundSha256() as hashing:
        _feed(file, length, hashing.free_buffer, hashing.update)
        hashing.hexdigest()         # waits for the last chunk; raises its error
    return hashing.digest


def _size_of(file, length):
    if length is not None:
        return length
    try:
        return os.fstat(file.fileno()).st_size
    except (AttributeError, OSError, ValueError):
        return 0


def _feed(file, length, next_buffer, update):
    """Read *file* (all of it, or *length* bytes) into buffers and hash each."""
    left = float("inf") if length is None else length
    while left:
        buffer = next_buffer()
        got = file.readinto(buffer[:min(left, len(buffer))])
        if not got:
            if length is None:
                return                      # the end of the file
            raise EOFError(f"{file.name} is shorter than {length} bytes")
        update(buffer[:got])
        left -= got


def is_sha256(text):
    """True for a sha256 written out: 64 hexadecimal digits, in either case."""
    return len(text) == 64 and all(char in "0123456789abcdefABCDEF" for char in text)


class BackgroundSha256:
    """A sha256 computed in a second thread while the next chunks arrive.

    Why: storing an upload takes three passes over every byte, and one
    thread doing them one after the other leaves the second core idle.
    CPU time per GiB on the 2-core machine this was written on (sha256
    with the CPU's SHA instructions)::

        socket.recv_into              0.3 s
        os.write, to the page cache   0.25 s
        hashlib.sha256().update       0.65 s  (0.8 s on bytes another core
                                               has just received)

    One thread doing all three needs 1.2 s per GiB.  hashlib,
    ``recv_into`` and ``os.write`` release the GIL while they work on a
    large buffer, so two threads really run at once: this class hashes in
    its own thread while the caller receives and writes the next chunks,
    and the transfer can go as fast as one core hashes.

    The thread must never wait for the caller: each hand-over costs two
    thread wake-ups (tens of microseconds, a tenth of the time to hash a
    chunk), so chunks queue up for it.  Four buffers of a quarter MiB go
    round (1 MiB per transfer, taken when it starts and dropped at its
    end): one being hashed, up to two waiting, one being filled.
    ``free_buffer()`` gives the next buffer the thread has finished with
    (waiting for one if none is free), ``update(chunk)`` queues a view of
    it.  An error in the thread is raised again in the caller's, as
    ``HashingFailed``, at the next call::

        with BackgroundSha256() as digest:
            for chunk in reader.body_chunks(digest.free_buffer):
                upload.write(chunk)
                digest.update(chunk)        # returns at once
            return digest.hexdigest()

    *digest* may be a ``hashlib`` object that already holds a beginning
    (a resumed download's).
    """

    def __init__(self, chunk_size=CHUNK_SIZE // 4, buffers=4, digest=None):
        self.digest = hashlib.sha256() if digest is None else digest
        self.free = queue.SimpleQueue()
        for _ in range(buffers):
            self.free.put(memoryview(bytearray(chunk_size)))
        self.queued = queue.SimpleQueue()
        self.filling = None
        self.error = None
        self.thread = threading.Thread(target=self.hash_queued, name="sha256",
                                       daemon=True)
        self.thread.start()

    def hash_queued(self):
        """The thread: hash each queued chunk, then give its buffer back."""
        while (item := self.queued.get()) is not None:
            buffer, chunk = item
            if self.error is None:
                try:
                    self.digest.update(chunk)
                except Exception as error:
                    self.error = error
            del chunk
            self.free.put(buffer)

    def free_buffer(self):
        """The buffer to fill next: one the thread has finished with."""
        self.check()
        self.filling = self.free.get()
        return self.filling

    def update(self, chunk):
        """Queue *chunk*, a view of the last ``free_buffer()``, for hashing."""
        self.check()
        self.queued.put((self.filling, chunk))
        self.filling = None

    def hexdigest(self):
        self.finish()
        self.check()
        return self.digest.hexdigest()

    def check(self):
        if self.error is not None:
            raise HashingFailed(f"hashing failed ({self.error})") from self.error

    def finish(self):
        """Wait until every queued chunk is hashed and the thread has ended."""
        if self.thread.is_alive():
            self.queued.put(None)
            self.thread.join()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.finish()


class DigestCache:
    """The sha256 of files already hashed, so a file is read once, not per download.

    The key is what changes when a file's content can have changed: its
    device and inode, size, modification and change times (the change time
    cannot be set back by any user).  Threads share one cache; under
    ``--forking`` each child has a copy of its own.
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
