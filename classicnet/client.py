"""The interactive client: talk to a running server, by hand or from a script.

    python -m classicnet client echo                    # a prompt, on a terminal
    printf 'hi\\n' | python -m classicnet client echo    # like nc, in a script

On a terminal it is the course notes' client grown up a little: a prompt,
each line sent as you press Enter, the server's answer printed the moment
it arrives (and a greeting such as hello's ``Welcome!`` before the first
prompt), a note when the server closes.  It leaves on ``##``, Ctrl-D or
Ctrl-C, and it never sends an empty message: on TCP, ``send(b"")`` sends
nothing at all, and a server waiting in ``recv`` would wait forever while
the client waits for an answer.

With standard input not a terminal it behaves like ``nc``: it streams
standard input to the server and the server's bytes, unchanged, to standard
output (``classicnet.relay``).

Over UDP each line is one datagram.  UDP has no connection, so on the
terminal each answer is shown with the address that sent it.

Theory of operation.  One loop waits, with ``selectors``, for whichever
comes first: a line from the keyboard or bytes from the server.  A
selector can wait on sockets on every system, but not on a terminal on
Windows, so a small thread copies standard input into one end of a
``socket.socketpair()`` and the loop watches the other end
(``relay.reader_socket()``).  The terminal session (``talk()``, below) and
the relays each run such a loop.
"""

import codecs
import selectors
import sys

from .endpoints import format_address
from .relay import (RECV_SIZE, Lines, reader_socket, receive_all_ready, relay_tcp,
                    relay_udp)
from .text import printable

__all__ = ["DEFAULT_WAIT", "run_client"]

PROMPT = "> "
LEAVE_WORD = b"##"

# How long to wait, on a terminal, for a server that speaks first.
BANNER_WAIT = 0.3

# How long to wait for a TCP connection to be accepted.
CONNECT_TIMEOUT = 10.0

# After the end of piped input: the longest wait for the server's last words.
DEFAULT_WAIT = 3.0


def run_client(endpoint, wait=DEFAULT_WAIT, stdin=None, stdout=None):
    """Talk to the server at *endpoint*: a prompt on a terminal, like nc otherwise."""
    stdin = sys.stdin if stdin is None else stdin
    stdout = sys.stdout if stdout is None else stdout
    sock, address = endpoint.connect(CONNECT_TIMEOUT)
    sock.settimeout(None)
    transport = endpoint.kind
    keyboard = reader_socket(stdin.fileno())
    with sock, keyboard:
        if stdin.isatty():
            screen = Screen(stdout)
            if transport == "tcp":
                return talk_tcp(sock, keyboard, screen)
            return talk_udp(sock, address, keyboard, screen)
        raw = getattr(stdout, "buffer", stdout)
        if transport == "tcp":
            return relay_tcp(sock, keyboard, raw, wait)
        return relay_udp(sock, address, keyboard, raw, wait)


class Screen:
    """The terminal: a prompt, and server bytes shown safely as they arrive.

    Bytes are decoded incrementally (a character split between two chunks
    is still one character) and control characters are shown as escapes,
    so a server cannot drive the terminal.
    """

    def __init__(self, stream):
        self.stream = stream
        self.decoder = codecs.getincrementaldecoder("utf-8")("backslashreplace")

    def say(self, text):
        """A line of our own, on a line of its own."""
        self.stream.write(f"\r{text}\n")
        self.stream.flush()

    def prompt(self):
        self.stream.write(PROMPT)
        self.stream.flush()

    def show(self, data, sender=None):
        """Server bytes over the prompt, then the prompt again."""
        text = self.decoder.decode(data).replace("\r\n", "\n")
        shown = printable(text, limit=None, keep_newlines=True)
        if sender is not None:
            shown = f"{format_address(sender)}: {shown}"
        self.stream.write("\r" + shown + ("" if shown.endswith("\n") else "\n"))
        self.prompt()


def talk_tcp(sock, keyboard, screen):
    """The terminal session over TCP; returns when the user or the server leaves."""
    peer = format_address(sock.getpeername())
    screen.say(f"connected to {peer} (tcp); leave with ## or Ctrl-D")

    def send(line):
        sock.sendall(line + b"\n")

    def receive():
        data = receive_all_ready(sock)      # a TLS socket may hold more than select() sees
        if not data:
            screen.say(f"connection closed by {peer}")
            return False
        screen.show(data)
        return True

    try:
        return talk(sock, keyboard, screen, send, receive, BANNER_WAIT)
    except ConnectionError as error:
        screen.say(f"connection to {peer} lost: {error.strerror or error}")
        return 1


def talk_udp(sock, address, keyboard, screen):
    """The terminal session over UDP: each line a datagram, each answer with its sender."""
    screen.say(f"sending datagrams to {format_address(address)} (udp); "
               "leave with ## or Ctrl-D")

    def send(line):
        sock.sendto(line + b"\n", address)

    def receive():
        data, sender = sock.recvfrom(65535)
        screen.show(data, sender)
        return True

    return talk(sock, keyboard, screen, send, receive, 0)


def talk(sock, keyboard, screen, send, receive, banner_wait):
    """The terminal loop, the same for both transports.

    Each line typed goes out with ``send(line)``, except empty lines and
    the leave word; ``receive()`` shows what came from the server and
    returns False when the server has closed.  The first prompt waits up
    to *banner_wait* seconds for a server that speaks first.
    """
    selector = selectors.DefaultSelector()
    selector.register(sock, selectors.EVENT_READ)
    selector.register(keyboard, selectors.EVENT_READ)
    lines = Lines()
    try:
        if not selector.select(banner_wait):
            screen.prompt()
        while True:
            for key, _ in selector.select():
                if key.fileobj is sock:
                    if not receive():
                        return 0
                    continue
                chunk = keyboard.recv(RECV_SIZE)
                for line in lines.feed(chunk) + ([] if chunk else lines.rest()):
                    if line == LEAVE_WORD:
                        return leave(screen)
                    if line:        # never an empty message
                        send(line)
                    screen.prompt()
                if not chunk:       # Ctrl-D
                    return leave(screen)
    except KeyboardInterrupt:       # Ctrl-C
        return leave(screen)


def leave(screen):
    screen.say("bye")
    return 0
