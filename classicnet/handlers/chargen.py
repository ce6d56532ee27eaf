"""chargen: the character generator (RFC 864), on TCP and UDP.

chargen sends a test pattern that a person can check by eye: the 95
printable ASCII characters, from the space (32) to the tilde (126), in
lines of 72, each line starting one character later than the one before::

     !"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefg
    !"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefgh
    "#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghi

Every line ends with CR LF.  After 95 lines the pattern is back where it
began, so the whole stream is one block of 95 * 74 = 7030 bytes, sent
again and again.  A dropped, doubled or changed byte shows up as a crooked
diagonal.

On TCP chargen sends until the client goes away.  That is the *only* way
a chargen session ends, so the errors that announce it (a broken pipe, a
connection reset) are normal here and are not logged as failures.

On UDP the RFC asks for "a random number (between 0 and 512) of
characters" per datagram.  An answer larger than its question is what
made chargen a favourite of reflection attacks, so classicnet picks that
number as the size of the request itself, at most 512: the answer is never
larger than the question.  ``docs/classics.md`` tells the story.
"""

import logging
import socketserver

from ..registry import register

log = logging.getLogger("classicnet.chargen")

PRINTABLE = bytes(range(32, 127))       # the 95 characters from " " to "~"
LINE_LENGTH = 72
MAX_DATAGRAM = 512                      # RFC 864's most characters per datagram


def pattern_line(number):
    """Line *number* of the pattern (counting from 0), CR LF included."""
    start = number % len(PRINTABLE)
    doubled = PRINTABLE + PRINTABLE
    return doubled[start:start + LINE_LENGTH] + b"\r\n"


# One full turn of the pattern: 95 lines, 7030 bytes.
PATTERN = b"".join(pattern_line(number) for number in range(len(PRINTABLE)))


@register("chargen", "tcp")
class ChargenHandler(socketserver.BaseRequestHandler):
    """Streams the 72-character rotating pattern until the client goes away (RFC 864).

    RFC 864: "Once a connection is established the server sends a stream of
    data.  Any data received is thrown away.  The server continues sending
    data until the calling user terminates the connection."
    """

    def handle(self):
        try:
            while True:
                self.request.sendall(PATTERN)
        except (BrokenPipeError, ConnectionResetError) as error:
            log.debug("client went away, as chargen clients do: %s", error)


@register("chargen", "udp")
class ChargenDatagramHandler(socketserver.BaseRequestHandler):
    """Answers each datagram with 0 to 512 characters of the pattern (RFC 864).

    RFC 864: "Send a datagram with a random number (between 0 and 512) of
    characters."  classicnet sends as many as the request had (at most 512),
    so the answer is never larger than the question.
    """

    def handle(self):
        data, sock = self.request
        sock.sendto(PATTERN[:min(len(data), MAX_DATAGRAM)], self.client_address)
