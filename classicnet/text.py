"""How classicnet shows what people typed: client bytes, safe on a terminal.

Whatever a client sends may contain terminal control characters.  Printed
raw into a log or a terminal, ``b"\\x1b[2J"`` clears the teacher's screen
and ``b"\\n"`` forges a whole log line.  So client bytes are made
``printable`` before they are shown: valid UTF-8 text stays readable
(Chinese included), and every control character or invalid byte becomes a
visible escape such as ``\\x1b``.
"""

import unicodedata

__all__ = ["printable"]


def printable(data, limit=80, keep_newlines=False):
    """Client bytes (or text) made safe to show on one line, cut at *limit* characters.

    >>> printable(b"hi\\x1b[2J\\xff")
    'hi\\\\x1b[2J\\\\xff'
    """
    if isinstance(data, bytes):
        text = data.decode("utf-8", errors="backslashreplace")
    else:
        text = data
    shown = "".join(_escape(char, keep_newlines) for char in text)
    if limit is not None and len(shown) > limit:
        shown = shown[:limit] + "..."
    return shown


def _escape(char, keep_newlines):
    if keep_newlines and char in "\n\t":
        return char
    if unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp"):
        code = ord(char)
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
    return char
