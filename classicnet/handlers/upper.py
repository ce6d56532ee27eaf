"""upper: echo with the ASCII letters a-z upper-cased, on TCP and UDP.

The course notes' first server answers ``data.upper()``.  On ``bytes`` that
changes only the 26 ASCII letters and leaves every other byte alone, so
UTF-8 text such as 你好 comes back intact.  Everything else is echo's.
"""

from ..registry import register
from .echo import EchoDatagramHandler, EchoHandler


@register("upper", "tcp")
class UpperHandler(EchoHandler):
    """Like echo, but ASCII letters a-z come back upper-cased."""

    def transform(self, data):
        return data.upper()


@register("upper", "udp")
class UpperDatagramHandler(EchoDatagramHandler):
    """Like echo, but ASCII letters a-z come back upper-cased."""

    def transform(self, data):
        return data.upper()
