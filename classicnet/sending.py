"""Sending: part of a file into a socket, zero-copy where it can be, never for ever.

Both ends of CNFP/1 send files: the server for a download, the client for
an upload.  ``socket.sendfile()`` is the obvious tool, and it hides a trap:
on a socket without a Python timeout (``settimeout(None)``, as a server's
connections are: its idle timeout is the kernel's ``SO_SNDTIMEO``, see
``servers.streams.set_idle_timeout``) it answers the kernel's "the client
read nothing for that long" (``EAGAIN``) by waiting, without a limit, for
the socket to become writable.  A downloader that never reads would hold
its thread or child for ever.  So this module calls ``os.sendfile`` itself::

    os.sendfile raises              the socket                what happens
    -----------------------------   -----------------------   -------------------
    BlockingIOError (EAGAIN)        blocking, SO_SNDTIMEO     SendTimedOut: the
                                    fired                     peer read nothing
    BlockingIOError                 settimeout(S) (clients)   wait up to S s to
                                                              be writable, again

Every wait is bounded by the socket's own timeout, whichever kind it is.

Zero-copy needs a plain TCP or Unix socket: a TLS socket must encrypt
every byte in Python's process, so for it (and for anything else that only
has ``sendall``) the file is read through one reused buffer instead.
"""

import os
import selectors
import socket
import sys

__all__ = ["BLOCK_SIZE", "SendTimedOut", "send_file"]

# How much one call may send: between calls *progress* is told.
BLOCK_SIZE = 4 * 1024 * 1024

# The buffer of the copying path (TLS): large enough for few calls.
COPY_SIZE = 256 * 1024


class SendTimedOut(TimeoutError):
    """The peer read nothing for as long as the socket's timeout allows."""


def send_file(sock, file, offset, count, progress=None):
    """Send *count* bytes of the open binary *file* from *offset*; return how many.

    Fewer than *count* only when the file is shorter than that (it shrank).
    *progress*, if given, is called as ``progress(sent)`` after each block.
    Raises ``SendTimedOut`` when the peer stops reading.

    The file's position does not matter (hashing leaves it at the end):
    ``os.sendfile`` is given *offset*, and the copying path (TLS) seeks
    to *offset* before it reads.
    """
    if can_send_zero_copy(sock, file):
        return _sendfile(sock, file, offset, count, progress)
    return _copy(sock, file, offset, count, progress)


def can_send_zero_copy(sock, file):
    """True for a plain kernel socket (not TLS) and a file with a descriptor."""
    # An ssl.SSLSocket is a subclass of socket.socket: the exact type is
    # what says that the kernel sees every byte the program sends.
    if type(sock) is not socket.socket or not hasattr(os, "sendfile"):
        return False
    try:
        file.fileno()
    except (AttributeError, OSError):
        return False
    return True


def _sendfile(sock, file, offset, count, progress):
    sent = 0
    while sent < count:
        try:
            got = os.sendfile(sock.fileno(), file.fileno(), offset + sent,
                              min(BLOCK_SIZE, count - sent))
        except BlockingIOError:
            _wait_writable(sock)
            continue
        if got == 0:
            break                   # the end of the file came early
        sent += got
        if progress:
            progress(sent)
    return sent


def _wait_writable(sock):
    """Wait as long as the socket's timeout allows for room to send."""
    timeout = sock.gettimeout()
    if not timeout:
        # The kernel has already waited SO_SNDTIMEO seconds for us.
        raise SendTimedOut("the peer has read nothing for the whole idle timeout")
    with selectors.DefaultSelector() as selector:
        selector.register(sock, selectors.EVENT_WRITE)
        if not selector.select(timeout):
            raise SendTimedOut(f"the peer has read nothing for {timeout:g} s")


def _copy(sock, file, offset, count, progress):
    buffer = memoryview(bytearray(min(COPY_SIZE, max(count, 1))))
    file.seek(offset)               # sha256_of() left the position at the end
    sent = 0
    while sent < count:
        got = file.readinto(buffer[:min(len(buffer), count - sent)])
        if not got:
            break
        try:
            sock.sendall(buffer[:got])
        except OSError as error:
            if not is_send_timeout(error):
                raise
            raise SendTimedOut("the peer has read nothing for the whole "
                               "idle timeout") from None
        sent += got
        if progress:
            progress(sent)
    return sent


def is_send_timeout(error):
    """True when *error* is the kernel's send timeout (SO_SNDTIMEO) firing.

    A plain socket raises BlockingIOError; a TLS socket the same failure as
    ``ssl.SSLWantWriteError``.  (If ``ssl`` was never imported, no TLS
    socket exists to raise it.)
    """
    ssl = sys.modules.get("ssl")
    return isinstance(error, BlockingIOError) or (
        ssl is not None and isinstance(error, ssl.SSLWantWriteError))
