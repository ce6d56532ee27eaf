"""chat: a chat room on TCP, to show state that connections share.

Every other classicnet handler serves each client as if it were alone.  A
chat room cannot: what one client says must reach all the others, so the
connections share one object, the *room*.  Talk to it with ``nc`` or with
``python -m classicnet client chat``::

    $ python -m classicnet chat --threading
    $ nc 127.0.0.1 9000                      (in two or more other terminals)
    * welcome, 127.0.0.1:50312; nobody else is here yet ...
    /nick ada
    * you are now ada
    hello, anyone?                           (the others see "ada: hello, anyone?")

Theory of operation::

    client A --> A's handler thread --> room.broadcast("A: hi")  (holds the lock)
                                          |
                  +-----------------------+-----------------------+
                  v                       v                       v
            B's outbox (queue)      C's outbox (queue)      D's outbox (queue)
                  |                       |                       |
            B's writer thread       C's writer thread       D's writer thread
                  v                       v                       v
              client B                client C                client D

* The room is built once, by ``prepare_server()``, before the first client,
  and every handler reaches it as ``self.server.shared.room``.
* Handler threads run at the same time, so the room's list of members is
  guarded by a lock.  Joining, leaving, renaming and broadcasting hold it
  for a moment, and never while sending to a socket.
* Sending can block: a client that stops reading fills its socket buffers,
  and then ``sendall()`` waits for it.  If the sender's thread wrote to every
  socket itself, one such client would stall the whole room.  So each
  member has an *outbox*, a ``queue.Queue`` with a bound, and a writer
  thread of its own: broadcasting only drops lines into outboxes, which
  never waits.
* A client whose outbox is full has fallen ``--max-behind`` lines behind.
  It is disconnected and the room is told, as IRC servers do ("Max SendQ
  exceeded").  Silently dropping its lines instead would leave it a
  conversation full of holes and no way to know.

Why chat refuses ``--forking``, ``--prefork`` and ``--plain``.  With ``--forking`` each
client is served by its own process, and processes share no memory: every
child would get its own copy of the room and talk only to itself.  A real
server keeps the room in one process (threads, or an event loop such as
``asyncio``), or gives its processes a shared meeting place (a message
broker like Redis publish/subscribe, or a database).  With ``--plain``
the server serves one client at a time: nobody else could join until the
first one left.  Both are refused before the server starts, with a line
that says so.

A message is a line.  Like ``hello``, chat takes every complete line in a
chunk, and whatever is left at the end of the chunk, as one message each, so
clients that never send a newline (the course's) work too.  Names and
messages are made ``printable`` before anyone sees them: one member must not
be able to clear the others' screens with a control sequence.
"""

import logging
import queue
import re
import socket
import socketserver
import threading

from ..contract import Option
from ..endpoints import format_address
from ..errors import UsageError
from ..quantities import count
from ..registry import register
from ..text import printable

log = logging.getLogger("classicnet.chat")

RECV_SIZE = 4096
MAX_MESSAGE = 400                   # characters of one message shown to others
NAME_PATTERN = re.compile(r"[\w.-]{1,20}")
COMMANDS = "/nick NAME to choose a name, /who to see who is here, /quit to leave"

# How long a leaving client's writer may take to send its last lines
# before its connection is cut.
WRITER_LINGER = 1.0

REFUSED_MODELS = {
    "forking": "chat cannot run with --forking: every client would get its own "
               "process with its own copy of the room and hear nobody else; use "
               "--threading (a real server keeps the room in one process, or "
               "shares it between processes through a message broker such as Redis)",
    "prefork": "chat cannot run with --prefork: its workers are processes, each "
               "with its own copy of the room, serving one client at a time; use "
               "--threading",
    "plain": "chat cannot run with --plain: it serves one client at a time, so "
             "nobody else could join until the first client left; use --threading",
}


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

    def deliver(self, line):
        """Queue *line* for this client; False if its outbox is full.  Never waits."""
        try:
            self.outbox.put_nowait(line.encode("utf-8"))
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
        """Queue *line* for every member but *sender*; disconnect those too far behind.

        A member is taken out of the room in the same moment its outbox is
        found full, so that it is announced once, with the reason.
        """
        with self.lock:
            too_slow = [member for member in self.members.values()
                        if member is not sender and not member.deliver(line)]
            for member in too_slow:
                del self.members[member.name]
        for member in too_slow:
            member.hang_up()
            reason = f"was disconnected: fell {self.max_behind} lines behind"
            log.info("%s %s", member.name, reason)
            self.broadcast(f"* {member.name} {reason}\n")


@register("chat", "tcp")
class ChatHandler(socketserver.BaseRequestHandler):
    """A chat room: each line goes to everyone else as NAME: line (needs --threading).

    Every line a client sends goes to every other connected client, prefixed
    with the sender's name; ``/nick NAME`` chooses a name, and joins and
    leaves are announced.  Not an RFC: this one is classicnet's own.
    """

    options = (
        Option("--max-behind", "lines a client may fall behind before it is "
               "disconnected", count, 256, "LINES"),
    )

    # A member may listen for hours without a word, so the server's idle
    # timeout (--timeout) is off for chat; a member who stops reading is
    # --max-behind's business.
    idle_timeout = None

    @classmethod
    def prepare_server(cls, server):
        """Refuse models that cannot share a room; build the room."""
        refusal = REFUSED_MODELS.get(server.model)
        if refusal:
            raise UsageError(refusal)
        server.shared.room = Room(server.options.max_behind)

    def setup(self):
        self.room = self.server.shared.room
        self.member = self.room.join(self.request, format_address(self.client_address))
        self.writer = threading.Thread(target=self.member.send_queued, daemon=True,
                                       name=f"chat-writer-{self.member.name}")
        self.writer.start()

    def handle(self):
        for message in self.messages():
            if message.startswith("/"):
                if not self.command(message):
                    return
            else:
                self.room.broadcast(f"{self.member.name}: {message}\n",
                                    sender=self.member)

    def finish(self):
        self.room.leave(self.member)
        self.member.close(self.writer)

    def messages(self):
        """The client's messages, as printable text: each line of each chunk."""
        while True:
            chunk = self.request.recv(RECV_SIZE)
            if not chunk:
                return
            for line in chunk.splitlines():
                text = printable(line.strip(), limit=MAX_MESSAGE)
                if text:
                    yield text

    def command(self, message):
        """Carry out one /command; return False when the client is leaving."""
        word, _, argument = message.partition(" ")
        if word == "/quit":
            self.member.deliver("* bye\n")
            return False
        if word == "/nick":
            problem = self.room.rename(self.member, argument.strip())
            if problem:
                self.member.deliver(f"* {problem}\n")
            else:
                self.member.deliver(f"* you are now {self.member.name}\n")
        elif word == "/who":
            self.member.deliver(f"* here: {', '.join(self.room.names())}\n")
        else:
            self.member.deliver(f"* unknown command {word}; {COMMANDS}\n")
        return True
