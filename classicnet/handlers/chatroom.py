"""The chat room itself: its members, their outboxes, and the pace of a
speaker.  ``chat.py`` tells the theory of operation; its handler is the
only user of these classes.
"""

import logging
import queue
import re
import socket
import threading
import time

from ..text import printable

__all__ = ["COMMANDS", "Member", "PATIENCE", "Pace", "Room", "WRITER_LINGER"]

log = logging.getLogger("classicnet.chat")

NAME_PATTERN = re.compile(r"[\w.-]{1,20}")
COMMANDS = "/nick NAME to choose a name, /who to see who is here, /quit to leave"

# How long a leaving client's writer may take to send its last lines
# before its connection is cut.
WRITER_LINGER = 1.0

# How long a speaker waits for room in a listener's full outbox before the
# listener counts as not reading, and is disconnected.
PATIENCE = 2.0


class Member:
    """One client in the room: its name, its connection and its outbox.

    The outbox holds the lines not yet sent to this client, at most
    *max_behind* of them; the member's writer thread, running
    ``send_queued()``, is the only one that writes to its socket.
    """

    def __init__(self, connection, name, max_behind):
        self.connection = connection
        self.name = name
        self.outbox = queue.Queue(max_behind)

    def deliver(self, line, patience=0):
        """Queue *line* for this client; False if its outbox is full, and
        stays full for *patience* seconds (by default: never waits)."""
        try:
            self.outbox.put(line.encode("utf-8"), timeout=patience or None,
                            block=bool(patience))
        except queue.Full:
            return False
        return True

    def send_queued(self):
        """The writer thread: send queued lines until ``close()`` says stop."""
        while True:
            line = self.outbox.get()
            if line is None:
                return
            try:
                self.connection.sendall(line)
            except OSError as error:
                log.debug("cannot send to %s: %s", self.name, error)
                self.hang_up()      # wakes the reader too, which then leaves
                return

    def close(self, writer):
        """Let the writer send what is queued and stop; cut it off if it cannot."""
        try:
            self.outbox.put_nowait(None)
        except queue.Full:
            self.hang_up()
        writer.join(WRITER_LINGER)
        if writer.is_alive():
            self.hang_up()
            writer.join()

    def hang_up(self):
        """Shut the connection down both ways: blocked recv() and sendall() return."""
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass    # already shut down, or the client is gone


class Room:
    """The members of one chat room, shared by every connection.

    Methods for handlers: ``join()``, ``leave()``, ``rename()``, ``names()``,
    ``broadcast()``.  Each holds ``lock`` while it reads or changes
    ``members``, and none of them ever waits for a client.
    """

    def __init__(self, max_behind):
        self.max_behind = max_behind
        self.lock = threading.Lock()
        self.members = {}                  # name -> Member

    def join(self, connection, name):
        """Add a new member called *name*, greet it, tell the others."""
        member = Member(connection, name, self.max_behind)
        with self.lock:
            others = sorted(self.members)
            self.members[name] = member
        here = f"here: {', '.join(others)}" if others else "nobody else is here yet"
        member.deliver(f"* welcome, {name}; {here}. {COMMANDS}\n")
        self.broadcast(f"* {name} joined\n", sender=member)
        log.info("%s joined the chat", name)
        return member

    def leave(self, member):
        """Take *member* out of the room, if it is still in, and tell the others."""
        with self.lock:
            if self.members.get(member.name) is not member:
                return
            del self.members[member.name]
        self.broadcast(f"* {member.name} left\n")
        log.info("%s left the chat", member.name)

    def rename(self, member, name):
        """Give *member* a new name; return why not, or None when done."""
        if not NAME_PATTERN.fullmatch(name):
            return (f"a name is 1 to 20 letters, digits, '.', '-' or '_', "
                    f"not {printable(name, limit=40)!r}")
        with self.lock:
            if name in self.members:
                return f"the name {name} is taken"
            old = member.name
            del self.members[old]
            member.name = name
            self.members[name] = member
        self.broadcast(f"* {old} is now {name}\n", sender=member)
        return None

    def names(self):
        """The names of everyone in the room, sorted."""
        with self.lock:
            return sorted(self.members)

    def broadcast(self, line, sender=None):
        """Queue *line* for every member but *sender*; disconnect those that
        stay too far behind.

        Members with room get the line at once, under the lock.  For those
        whose outbox is full, the caller waits (the lock released) up to
        ``PATIENCE`` seconds each; a member still full then is taken out of
        the room, once, and announced with the reason.
        """
        with self.lock:
            full = [member for member in self.members.values()
                    if member is not sender and not member.deliver(line)]
        too_slow = [member for member in full
                    if not member.deliver(line, patience=PATIENCE)]
        with self.lock:
            too_slow = [member for member in too_slow
                        if self.members.get(member.name) is member]
            for member in too_slow:
                del self.members[member.name]
        for member in too_slow:
            member.hang_up()
            reason = f"was disconnected: fell {self.max_behind} lines behind"
            log.info("%s %s", member.name, reason)
            self.broadcast(f"* {member.name} {reason}\n")


class Pace:
    """At most *rate* lines a second, after a burst of *rate* (a token
    bucket); ``wait_for_turn()`` sleeps until the next line may go."""

    def __init__(self, rate):
        self.rate = rate
        self.tokens = float(rate)
        self.last = time.monotonic()

    def wait_for_turn(self):
        if not self.rate:
            return
        now = time.monotonic()
        self.tokens = min(self.rate, self.tokens + (now - self.last) * self.rate)
        self.last = now
        if self.tokens < 1:
            time.sleep((1 - self.tokens) / self.rate)
            self.last = time.monotonic()
            self.tokens = 1
        self.tokens -= 1
