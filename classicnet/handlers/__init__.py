"""The built-in handlers, one module each; importing this package registers them.

Every handler here is a plain ``socketserver`` request handler class, so
what a student reads in these files works with bare ``socketserver`` too.
Stream (TCP) handlers work on whatever chunk ``recv()`` returns and never
wait for a newline; datagram (UDP) handlers answer each datagram whole and
never answer an empty one.
"""

from . import chargen, chat, daytime, discard, echo, files, hello, reply, timeserver, upper

__all__ = ["chargen", "chat", "daytime", "discard", "echo", "files", "hello", "reply",
           "timeserver", "upper"]
