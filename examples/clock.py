"""clock: answer each datagram with the server's clock, on UDP (the homework tutorial)."""

import datetime
import socketserver

from classicnet import Option, register


@register("clock", "udp")
class TimeHandler(socketserver.BaseRequestHandler):
    """Answers each datagram with the time, e.g. 2024-05-01T08:30:00+08:00."""

    options = [Option("--utc", "answer in UTC instead of local time", bool, False)]

    def handle(self):
        data, sock = self.request                 # UDP: (the datagram, the socket)
        if not data:                              # never answer an empty datagram
            return
        now = datetime.datetime.now(datetime.timezone.utc)
        if not self.server.options.utc:           # the --utc flag, in the options
            now = now.astimezone()
        answer = now.isoformat(timespec="seconds") + "\n"
        sock.sendto(answer.encode("ascii"), self.client_address)
