"""Relays: the client as ``nc``, copying bytes between standard input and a server.

    printf 'hi\\n' | python -m classicnet client echo     # the answer, on standard output

When standard input is a pipe or a file, ``classicnet client`` does what
``nc`` does and nothing more: the input goes to the server as it is, and
the server's bytes come back to standard output, unchanged, so another
program can read them.

* Over TCP, at the end of the input the relay half-closes the connection
  (``shutdown(SHUT_WR)``: "I have finished talking, go on answering") and
  reads on until the server closes, or until *wait* seconds pass.
  TLS has no half-close (a TLS ``close_notify`` ends both directions), so
  over TLS the relay only stops sending, and reads on for *wait* seconds.
* Over UDP each line is one datagram.  At the end of the input the relay
  waits until every datagram has had an answer, or *wait* seconds pass
  without one.

Two pieces are shared with the terminal session (``classicnet.client``):
``reader_socket()``, standard input made into a socket that a selector can
wait on on every system, and ``Lines``, which cuts a byte stream into lines.
"""

import os
import selectors
import socket
import ssl
import threading
import time

__all__ = ["Lines", "RECV_SIZE", "reader_socket", "receive_all_ready", "relay_tcp",
           "relay_udp"]

RECV_SIZE = 65536

# Stop reading standard input while this much is waiting to be sent: a
# server that does not read must not make the client swallow all its input.
MAX_PENDING = 1 << 20

# What a non-blocking socket raises when it has nothing to give yet; a TLS
# socket raises its own, since a readable socket may hold only part of a
# TLS record, or a record with no data (a TLS 1.3 session ticket).
WOULD_BLOCK = (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError)


def reader_socket(fd):
    """A socket that yields what can be read from *fd*, then end-of-stream."""
    ours, theirs = socket.socketpair()

    def copy():
        try:
            while True:
                chunk = os.read(fd, RECV_SIZE)
                if not chunk:
                    break
                theirs.sendall(chunk)
        except OSError:
            pass            # our end was closed: the client is leaving
        finally:
            theirs.close()

    threading.Thread(target=copy, name="classicnet-stdin", daemon=True).start()
    return ours


class Lines:
    """Cuts a stream of bytes into lines, keeping an unfinished one for later."""

    def __init__(self):
        self.unfinished = b""

    def feed(self, chunk):
        """The complete lines in ``unfinished + chunk``, without their newlines."""
        *lines, self.unfinished = (self.unfinished + chunk).split(b"\n")
        return [line.rstrip(b"\r") for line in lines]

    def rest(self):
        """What is left at the end of the input: one more line, or nothing."""
        rest, self.unfinished = self.unfinished, b""
        return [rest.rstrip(b"\r")] if rest else []


def relay_tcp(sock, keyboard, out, wait):
    """Like nc: standard input to the server, the server's bytes to *out*.

    Sending never blocks: bytes wait in *pending* until the socket can take
    them, and the loop goes on reading the server meanwhile.  (A client
    blocked in ``sendall`` to an echo server that is itself blocked sending
    back to that client would wait forever.)
    """
    sock.setblocking(False)
    selector = selectors.DefaultSelector()
    selector.register(sock, selectors.EVENT_READ)
    selector.register(keyboard, selectors.EVENT_READ)
    pending = b""
    input_open, reading_input = True, True
    deadline = None
    while deadline is None or time.monotonic() < deadline:
        timeout = None if deadline is None else deadline - time.monotonic()
        for key, events in selector.select(timeout):
            if key.fileobj is keyboard:
                chunk = keyboard.recv(RECV_SIZE)
                pending += chunk
                input_open = bool(chunk)
                continue
            try:
                if events & selectors.EVENT_READ:
                    data = receive_all_ready(sock)
                    if not data:
                        return 0            # the server has closed
                    out.write(data)
                    out.flush()
                if events & selectors.EVENT_WRITE and pending:
                    pending = pending[sock.send(pending):]
            except WOULD_BLOCK:
                pass
            except ConnectionError:
                return 1                    # the server has gone away
        if not input_open and not pending and deadline is None:
            if not isinstance(sock, ssl.SSLSocket):
                sock.shutdown(socket.SHUT_WR)   # "that was all": a half-close
            deadline = time.monotonic() + wait
        want_input = input_open and len(pending) < MAX_PENDING
        if want_input != reading_input:
            if want_input:
                selector.register(keyboard, selectors.EVENT_READ)
            else:
                selector.unregister(keyboard)
            reading_input = want_input
        selector.modify(sock, selectors.EVENT_READ
                        | (selectors.EVENT_WRITE if pending else 0))
    return 0


def receive_all_ready(sock):
    """What *sock* has to give now.  A TLS socket may hold decrypted bytes
    that the selector cannot see (``pending()``): they are taken too."""
    data = sock.recv(RECV_SIZE)
    while data and isinstance(sock, ssl.SSLSocket) and sock.pending():
        data += sock.recv(sock.pending())
    return data


def relay_udp(sock, address, keyboard, out, wait):
    """Like ``nc -u``: each line of input one datagram, each answer to *out*."""
    selector = selectors.DefaultSelector()
    selector.register(sock, selectors.EVENT_READ)
    selector.register(keyboard, selectors.EVENT_READ)
    lines = Lines()
    sent = answered = 0
    deadline = None
    while deadline is None or (answered < sent and time.monotonic() < deadline):
        timeout = None if deadline is None else deadline - time.monotonic()
        for key, _ in selector.select(timeout):
            if key.fileobj is sock:
                data, _ = sock.recvfrom(65535)
                out.write(data)
                out.flush()
                answered += 1
                if deadline is not None:
                    deadline = time.monotonic() + wait
                continue
            chunk = keyboard.recv(RECV_SIZE)
            for line in lines.feed(chunk) + ([] if chunk else lines.rest()):
                if line:
                    sock.sendto(line + b"\n", address)
                    sent += 1
            if not chunk:
                selector.unregister(keyboard)
                deadline = time.monotonic() + wait
    return 0
