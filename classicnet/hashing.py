"""Hashing: the sha256 that proves a transferred file arrived whole.

CNFP/1 sends a file's sha256 beside its bytes (``docs/protocol.md``): the
server announces it with every download and checks it on every upload, and
the client checks it on every download and announces it with every upload.
Both ends hash the same way, so they share this module::

    sha256_of(file)             a file on disk, read through one buffer
                                (the client before an upload, the server
                                before a download)
    sha256_of(file, length)     only its first bytes (a resumed download
                                goes on from what it already holds)
    BackgroundSha256            a stream as it arrives, in a second thread
                                (the server, while an upload comes in)
    DigestCache                 what the server has hashed already, so a
                                file is read once, not on every download

Memory stays flat however large the file: one buffer, or two used in turn,
never the whole file.
"""

import hashlib
import threading

from .framing import CHUNK_SIZE

__all__ = ["BackgroundSha256", "DigestCache", "HashingFailed", "is_sha256", "sha256_of"]


class HashingFailed(Exception):
    """The hashing thread failed; the message says how, in one line."""


def sha256_of(file, length=None, chunk_size=CHUNK_SIZE):
    """The sha256 of an open binary file, read from its start through one buffer.

    With *length*, of its first *length* bytes only (EOFError if the file
    is shorter), and the file is left positioned just after them.  Returns
    the ``hashlib`` object: ask it for ``hexdigest()``, or go on feeding it
    with ``update()``, as a resumed download does.
    """
    digest = hashlib.sha256()
    buffer = memoryview(bytearray(chunk_size))
    file.seek(0)
    left = float("inf") if length is None else length
    while left:
        got = file.readinto(buffer[:min(left, chunk_size)])
        if not got:
            if length is None:
                return digest               # the end of the file
            raise EOFError(f"{file.name} is shorter than {length} bytes")
        digest.update(buffer[:got])
        left -= got
    return digest


def is_sha256(text):
    """True for a sha256 written out: 64 hexadecimal digits, in either case."""
    return len(text) == 64 and all(char in "0123456789abcdefABCDEF" for char in text)


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

    Memory stays flat: two buffers of half a MiB, used in turn (1 MiB per
    transfer, taken when it starts).  ``free_buffer()`` hands
    out the one the thread is not reading, and ``update()`` waits until the
    previous chunk is hashed before it hands over the next, so at most one
    chunk is being hashed at any time.  An error in the thread is raised
    again in the caller's, as ``HashingFailed``, at the next ``update()`` or
    ``hexdigest()``::

        with BackgroundSha256() as digest:
            for chunk in reader.body_chunks(digest.free_buffer):
                upload.write(chunk)
                digest.update(chunk)        # returns at once
            return digest.hexdigest()
    """

    def __init__(self, chunk_size=CHUNK_SIZE // 2):
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
            raise HashingFailed(f"hashing failed ({error})") from error

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.worker.shutdown(wait=True)


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
