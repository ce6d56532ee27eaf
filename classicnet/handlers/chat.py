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

Theory of operation (the room's classes are in ``chatroom.py``)::

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
  That alone does not prove it has stopped reading: one member pasting 300
  lines fills every outbox faster than any writer can empty it.  So the
  speaker waits for room, up to ``PATIENCE`` seconds per line, without the
  lock: a listener that reads drains its outbox meanwhile, and the speaker
  is slowed to the pace of its listeners (TCP then slows the speaker's
  client too).  Only a listener whose outbox stays full that long is
  disconnected, and the room is told, as IRC servers do ("Max SendQ
  exceeded").  Silently dropping its lines instead would leave it a
  conversation full of holes and no way to know.
* A speaker may also say at most ``--max-rate`` lines a second (after a
  burst of as many): beyond that its handler waits before reading on.  A
  flood from one member is slowed at its source, so it cannot crowd out
  the others' lines either.  So the limits are two, as in IRC: per speaker
  (rate) and per listener (backlog); a fast talker is slowed, never the
  listeners cut.

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

import socketserver
import threading

from ..contract import Option
from ..endpoints import format_address
from ..errors import UsageError
from ..quantities import count, limit
from ..registry import register
from ..text import printable
from .chatroom import COMMANDS, PATIENCE, WRITER_LINGER, Member, Pace, Room

__all__ = ["ChatHandler", "Member", "Pace", "Room", "WRITER_LINGER"]

RECV_SIZE = 4096
MAX_MESSAGE = 400                   # characters of one message shown to others

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


@register("chat", "tcp")
class ChatHandler(socketserver.BaseRequestHandler):
    """A chat room: each line goes to everyone else as NAME: line (needs --threading).

    Every line a client sends goes to every other connected client, prefixed
    with the sender's name; ``/nick NAME`` chooses a name, and joins and
    leaves are announced.  Not an RFC: this one is classicnet's own.
    """

    options = (
        Option("--max-behind", "lines a client may fall behind (and stay "
               f"behind {PATIENCE:g} s) before it is disconnected; 1 to 1000000",
               count, 256, "LINES"),
        Option("--max-rate", "lines a second one member may say, after a burst "
               "of as many; faster talkers are slowed; 0 to 1000000 (0: no limit)",
               limit, 100, "LINES"),
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
        self.pace = Pace(self.server.options.max_rate)
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
                    self.pace.wait_for_turn()
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
