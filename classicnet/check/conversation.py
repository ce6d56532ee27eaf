"""A conversation with a server under test: every wait bounded, every byte counted.

A check talks to a server nobody here wrote, which may answer wrongly,
slowly, never, or die.  So each ``Conversation`` has three habits:

* **Every wait is bounded.**  A wait that has not got what it waits for
  within the probe's timeout ends the check with ``NoAnswer`` ("no answer
  within 5 s"), never a hang, even if the server keeps talking; the run
  goes on to the next check.
* **Everything is counted.**  The bytes sent and received are tallied
  (how many, and the first few), so a failed check can say what was sent
  and what came back without each check writing that sentence itself.
* **It is given its socket.**  ``probe.Probe.connect()`` asks an
  ``Endpoint`` for it, so a new transport (TLS, a Unix socket) needs no
  change here or in the protocol modules.

The errors, all ``Failed`` (the message is what the report shows)::

    Failed              the server did something the protocol forbids
     +-- NoAnswer       nothing (or not enough) arrived within the timeout
     +-- Closed         the server closed the connection too early
     +-- CannotConnect  no connection at all (is the server still running?)
"""

import socket
import struct
import threading
import time
from contextlib import contextmanager

__all__ = ["CannotConnect", "Closed", "Conversation", "Failed", "NoAnswer",
           "describe", "require_same", "socket_errors"]

# The pause between the pieces of a message sent in pieces: long enough
# for the server to read each piece alone, so that the pieces really
# arrive as separate recv() results (the other half of 粘包).
PIECE_GAP = 0.25

# How often a line that may not have been heard yet is said again.
NUDGE_EVERY = 0.25

RECV_SIZE = 65536

# The most bytes kept while waiting for something that has not come.
MAX_PENDING = 16 * 1024 * 1024

# SO_LINGER on, for 0 seconds: close() then resets the connection.
LINGER_RESET = struct.pack("ii", 1, 0)


class Failed(Exception):
    """The server broke the protocol; the message says how, in one line."""


class NoAnswer(Failed):
    """Nothing, or not enough, arrived within the timeout."""


class Closed(Failed):
    """The server closed the connection before it said what it had to."""


class CannotConnect(Failed):
    """The connection itself failed."""


def describe(data, limit=40):
    """Bytes for a report line: ``b'ab\\n'``, or for more than *limit*
    bytes their count and their start: ``50 bytes b'xxx'...``."""
    if not data:
        return "nothing"
    shown = repr(bytes(data[:limit]))
    if len(data) <= limit:
        return shown
    return f"{len(data)} bytes {shown}..."


def require_same(expected, data):
    """``Failed``, saying where they part, unless *data* is *expected*."""
    if data != expected:
        at = next((i for i, (a, b) in enumerate(zip(data, expected)) if a != b),
                  min(len(data), len(expected)))
        raise Failed(f"expected {describe(expected)} back, received "
                     f"{describe(data)} (they differ from byte {at} on)")


@contextmanager
def socket_errors(timed_out, failed):
    """Within the block, a timeout raises *timed_out* (a ``Failed``), and any
    other ``OSError`` raises ``failed(reason)``, the reason in words."""
    try:
        yield
    except socket.timeout:
        raise timed_out from None
    except OSError as error:
        raise failed(error.strerror or str(error)) from None


class Tally:
    """The bytes that went one way: how many, and the first few, for the report."""

    KEEP = 64

    def __init__(self):
        self.head = bytearray()
        self.count = 0

    def __iadd__(self, data):
        self.head += data[:self.KEEP - len(self.head)]
        self.count += len(data)
        return self

    def __len__(self):
        return self.count

    def __getitem__(self, index):
        return bytes(self.head[index])


class Conversation:
    """One client's connection, its reads bounded by *timeout* seconds.

    Methods for checks: ``send()``, ``send_in_pieces()``, ``send_while_reading()``,
    ``receive()``, ``receive_until()``, ``expect()``, ``expect_close()``,
    ``half_close()``, ``vanish()``, ``close()``.  What was received but
    not yet taken waits in ``pending``.
    """

    def __init__(self, sock, timeout):
        self.sock = sock
        self.timeout = timeout
        self.sock.settimeout(timeout)
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sent = Tally()
        self.received = Tally()
        self.pending = bytearray()
        self.closed_by_server = False

    # --- sending ------------------------------------------------------------

    def send(self, data):
        """Send all of *data*; a server that hung up is ``Closed``."""
        self.sock.settimeout(self.timeout)
        stopped = NoAnswer(f"the server stopped reading: could not send within "
                           f"{self.timeout:g} s")
        with socket_errors(stopped, lambda reason: Closed(
                f"the server closed the connection while we were sending ({reason})")):
            self.sock.sendall(data)
        self.sent += data

    def send_in_pieces(self, pieces, gap=PIECE_GAP):
        """Send each piece alone, with a pause between, so each arrives alone."""
        pause = threading.Event()
        for number, piece in enumerate(pieces):
            if number:
                pause.wait(gap)
            self.send(piece)

    def send_while_reading(self, data, size):
        """Send *data* while reading *size* bytes of answer; return them.

        An echo of a large message has to be read while it is still being
        sent: otherwise both sides fill their buffers and wait for each
        other forever.
        """
        if type(self.sock) is not socket.socket:    # TLS
            return self._send_and_read_in_turn(data, size)
        errors = []

        def sender():
            try:
                self.send(data)
            except Failed as error:
                errors.append(error)

        thread = threading.Thread(target=sender, name="check-sender", daemon=True)
        thread.start()
        try:
            return self.receive(size)
        finally:
            thread.join(self.timeout)

    def _send_and_read_in_turn(self, data, size, piece=16384):
        """``send_while_reading()`` in one thread, for a TLS connection: one
        SSL connection must never be used by two threads at once.  Send a
        piece, read the answer to it, and so on."""
        deadline = time.monotonic() + self.timeout
        for start in range(0, len(data), piece):
            self.send(data[start:start + piece])
            answered = min(size, (start + piece) * size // len(data))
            while len(self.pending) < answered:
                self._fill(f"{size} bytes", deadline)
        while len(self.pending) < size:
            self._fill(f"{size} bytes", deadline)
        answer = bytes(self.pending[:size])
        del self.pending[:size]
        return answer

    # --- receiving ----------------------------------------------------------

    def _fill(self, awaited, deadline):
        """Read once more into ``pending``, by *deadline* (a ``time.monotonic()``
        value); *awaited* names what we wait for."""
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise self._no_answer(awaited)
        self.sock.settimeout(remaining)
        with socket_errors(self._no_answer(awaited), lambda reason: Closed(
                f"the connection failed ({reason}) while waiting for {awaited}")):
            chunk = self.sock.recv(RECV_SIZE)
        if not chunk:
            self.closed_by_server = True
            raise Closed(f"the server closed the connection while we waited for "
                         f"{awaited}; received {describe(self.pending)}")
        self.received += chunk
        self.pending += chunk

    def _no_answer(self, awaited):
        return NoAnswer(f"no answer within {self.timeout:g} s (waiting for "
                        f"{awaited}; received {describe(self.pending)} so far)")

    def _too_much(self, awaited):
        """A server that talks and talks (chargen, say) ends the wait too."""
        if len(self.pending) > MAX_PENDING:
            raise Failed(f"the server sent {len(self.pending)} bytes, none of "
                         f"them {awaited}")

    def receive(self, size, awaited=None):
        """Exactly *size* bytes."""
        deadline = time.monotonic() + self.timeout
        while len(self.pending) < size:
            self._fill(awaited or f"{size} bytes", deadline)
        data = bytes(self.pending[:size])
        del self.pending[:size]
        return data

    def receive_until(self, found, awaited, within=None):
        """Read until ``found(pending)`` returns an end position; take up to it.

        *found* returns None while what it looks for has not arrived.  The
        wait lasts at most *within* seconds (the timeout by default).
        """
        deadline = time.monotonic() + (self.timeout if within is None else within)
        while True:
            end = found(self.pending)
            if end is not None:
                data = bytes(self.pending[:end])
                del self.pending[:end]
                return data
            self._too_much(awaited)
            self._fill(awaited, deadline)

    def expect_match(self, pattern, awaited, within=None):
        """Read until *pattern* (a compiled bytes regex) is found in what
        arrived; take everything up to the end of the match."""
        def found(pending):
            match = pattern.search(pending)
            return match.end() if match else None
        return self.receive_until(found, awaited, within)

    def expect_match_nudging(self, pattern, awaited, nudge, every=NUDGE_EVERY):
        """``expect_match()``, calling ``nudge()`` each time *every* seconds
        pass with nothing found; still bounded by the timeout in all.

        For what no event announces: a chat member cannot tell when the
        server has added it to the room, so the other member says its line
        again until it is heard.
        """
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                return self.expect_match(pattern, awaited, within=every)
            except NoAnswer:
                if time.monotonic() >= deadline:
                    raise self._no_answer(awaited) from None
                nudge()

    def expect(self, expected, awaited=None):
        """Read as many bytes as *expected* has; fail unless they are equal."""
        data = self.receive(len(expected), awaited or f"{describe(expected)} back")
        require_same(expected, data)
        return data

    def expect_close(self, awaited="the server to close the connection"):
        """Wait for the server to close; what arrives first is returned."""
        deadline = time.monotonic() + self.timeout
        try:
            while True:
                self._too_much(awaited)
                self._fill(awaited, deadline)
        except Closed:
            if not self.closed_by_server:
                raise
        data = bytes(self.pending)
        self.pending.clear()
        return data

    # --- ending -------------------------------------------------------------

    def half_close(self):
        """Say "I am done sending" (a FIN), and keep reading."""
        self.sock.shutdown(socket.SHUT_WR)

    def vanish(self):
        """Disappear without a goodbye: close with a reset (RST), as a
        crashed client or a pulled cable does."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER_RESET)
        self.sock.close()

    def close(self):
        self.sock.close()
