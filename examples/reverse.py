"""reverse: send every line back reversed, on TCP (the homework tutorial)."""

import socketserver

from classicnet import register


@register("reverse", "tcp")
class ReverseHandler(socketserver.StreamRequestHandler):
    """Sends every line back reversed: hello -> olleh, 你好 -> 好你."""

    def handle(self):
        # TCP is a stream of bytes with no edges: recv() may return half a
        # line or two lines at once (粘包).  So read whole lines: the newline
        # is where one message ends and the next begins.
        for line in self.rfile:                   # until the client closes
            text = line.rstrip(b"\r\n").decode("utf-8", errors="replace")
            answer = text[::-1] + "\n"            # reverse characters, not bytes
            self.wfile.write(answer.encode("utf-8"))
