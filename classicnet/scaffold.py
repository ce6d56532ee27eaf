'''``python -m classicnet new NAME``: write a starting handler and its test.

    $ python -m classicnet new reverse
    wrote reverse.py and test_reverse.py
    $ python -m pytest test_reverse.py        # passes: the handler echoes
    $ python -m classicnet reverse.py:ReverseHandler

The handler starts as echo (the smallest server that does something), and
its test checks exactly that with one line, so the student begins from
green and changes one thing at a time: a handler that answers lines
differently fails that test at once with the line it sent back, never
with a bare timeout.  Existing files are never overwritten.
'''

import keyword
import os

from .compat import is_standard_module
from .errors import UsageError
from .registry import COMMAND_WORDS, names

__all__ = ["class_name", "write_starter"]

TCP_HANDLER = '''\
"""{name}: a TCP handler (for now it sends back what it receives)."""

import socketserver

from classicnet import register


@register("{name}", "tcp")
class {cls}(socketserver.BaseRequestHandler):
    """Sends back every chunk it receives; change handle() to do more."""

    def handle(self):
        while True:
            data = self.request.recv(1024)
            if not data:            # b"": the client has closed
                return
            self.request.sendall(data)
'''

TCP_TEST = '''\
from classicnet.testing import connect, running_server

from {name} import {cls}


def test_{name}_answers():
    with running_server({cls}) as address, connect(address) as client:
        client.send(b"hello\\n")
        assert client.recv_until(b"\\n") == b"hello\\n"
'''

UDP_HANDLER = '''\
"""{name}: a UDP handler (for now it sends each datagram back)."""

import socketserver

from classicnet import register


@register("{name}", "udp")
class {cls}(socketserver.BaseRequestHandler):
    """Sends each datagram back to its sender; change handle() to do more."""

    def handle(self):
        data, sock = self.request
        if data:                    # never answer an empty datagram
            sock.sendto(data, self.client_address)
'''

UDP_TEST = '''\
from classicnet.testing import connect, running_server

from {name} import {cls}


def test_{name}_answers():
    with running_server({cls}) as address, connect(address, "udp") as client:
        assert client.request(b"hello") == b"hello"
'''

TEMPLATES = {
    "tcp": (TCP_HANDLER, TCP_TEST),
    "udp": (UDP_HANDLER, UDP_TEST),
}


def class_name(name):
    """``reverse`` -> ``ReverseHandler``; ``word_count`` -> ``WordCountHandler``."""
    return "".join(part.capitalize() for part in name.split("_")) + "Handler"


def check_module_name(name):
    """A NAME must be a module name, a handler name, and shadow nothing."""
    if not name.isidentifier() or keyword.iskeyword(name) or not name.isascii():
        raise UsageError(f"{name!r} cannot name a module; use letters, digits "
                         "and '_', starting with a letter (e.g. 'reverse')")
    if name in COMMAND_WORDS:
        raise UsageError(f"{name!r} is a classicnet command word; pick another "
                         f"name (reserved: {', '.join(sorted(COMMAND_WORDS))})")
    if is_standard_module(name) or name == "classicnet":
        raise UsageError(f"{name!r} would hide Python's own module {name!r}; "
                         f"pick another name, such as '{name}_server'")
    if name in names():
        raise UsageError(f"{name!r} is already a classicnet handler; a second one "
                         f"would clash with it: pick another name, such as 'my_{name}'")


def write_starter(name, transport="tcp", folder="."):
    """Write NAME.py and test_NAME.py in *folder*; return their paths."""
    check_module_name(name)
    handler_template, test_template = TEMPLATES[transport]
    values = {"name": name, "cls": class_name(name)}
    paths = [os.path.normpath(os.path.join(folder, f"{name}.py")),
             os.path.normpath(os.path.join(folder, f"test_{name}.py"))]
    for path in paths:
        if os.path.exists(path):
            raise UsageError(f"{path} already exists; classicnet new never "
                             "overwrites a file")
    for path, template in zip(paths, (handler_template, test_template)):
        with open(path, "x", encoding="utf-8") as file:
            file.write(template.format(**values))
    return paths
