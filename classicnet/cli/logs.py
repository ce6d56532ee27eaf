"""The server's log on standard error: how loud (-v, -q), and always safe.

Library code only logs; the command line decides where the log goes and
how much of it shows::

    -q     errors only
           warnings (the default: refusals, limits reached)
    -v     one line per client: who served it (the events of
           classicnet.events, made into text)
    -vv    everything, debug lines included
"""

import logging
import os
import sys

from ..errors import UsageError
from ..events import JsonLines
from ..text import printable

__all__ = ["EscapingFormatter", "configure_logging", "events_fd_listener"]


class EscapingFormatter(logging.Formatter):
    """A log formatter that shows control characters as escapes.

    Client bytes can reach a log line (in an error message, say); a raw
    ``\\x1b`` would then drive the reader's terminal.
    """

    def format(self, record):
        return printable(super().format(record), limit=None, keep_newlines=True)


def configure_logging(loudness):
    """-q: errors only; default: warnings; -v: one line per client; -vv: debug."""
    level = {-1: logging.ERROR, 0: logging.WARNING, 1: logging.INFO}.get(
        max(-1, min(loudness, 2)), logging.DEBUG)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(EscapingFormatter(
        "%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S"))
    root = logging.getLogger("classicnet")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False


def events_fd_listener(fd, starter):
    """The listener that writes events as JSON lines to *fd* (``--events-fd``),
    or a UsageError when *fd* is not open; *starter* names who passes it."""
    try:
        os.fstat(fd)
    except OSError:
        raise UsageError(f"--events-fd {fd} is not an open file descriptor "
                         f"({starter} passes it)") from None
    return JsonLines(fd)
