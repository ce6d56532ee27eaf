"""The numbers people type: ports, counts, seconds, sizes, each checked once.

Every number on classicnet's command lines, and in a handler's options, is
read by one of the functions here.  Each takes the text a person typed (or
a number, from Python), and returns the value or raises ``ValueError``
with a message that says which values make sense::

    >>> seconds("2.5")
    2.5
    >>> seconds("-1")
    Traceback (most recent call last):
    ...
    ValueError: must be 0 or more seconds, not '-1'

The command line puts the flag in front (``argument --timeout: must be
...``); a handler's option gets its flag in front too
(``classicnet.contract``).  ``float("nan")`` and ``float("inf")`` are never
valid: a duration that never ends is written as 0 where "no limit" is meant.

Every kind has a ceiling as well as a floor, and says both in its message
(and so in ``--help``): a number too large for the kernel (a timeout of
1e19 seconds does not fit its ``struct timeval``) or for the machine (a
million threads) is a typing mistake, and is better refused at once than
met by the first client.  A timeout too small to be one (0.0000001 s is
zero microseconds, which the kernel reads as "no timeout") is refused too.
"""

import math

__all__ = [
    "DAY", "Quantity", "byte_count", "count", "descriptor", "limit",
    "milliseconds", "port_number", "positive_seconds", "seconds", "timeout",
    "workers",
]

# The longest duration any option takes: a day, in seconds.  Longer is a
# slip of the finger (and a timer's ceiling: threading.TIMEOUT_MAX).
DAY = 86400


class Quantity:
    """A kind of number: how to read it, and the values that make sense.

    *convert* reads the text (``int``, ``float``); the value must be at
    least *low* (more than *low*, if *low_excluded*) and at most *high*.
    *describe* says the valid values in words, for the error message and
    for ``--help``.  With *or_zero*, 0 is valid too, whatever *low* says
    (0 meaning "no limit").
    """

    def __init__(self, name, convert, describe, low, high=math.inf,
                 low_excluded=False, or_zero=False):
        self.__name__ = name            # argparse names the type by it
        self.convert = convert
        self.describe = describe
        self.low, self.high, self.low_excluded = low, high, low_excluded
        self.or_zero = or_zero

    def __call__(self, text):
        try:
            value = self.convert(text)
        except (TypeError, ValueError, OverflowError):
            value = None
        if value is None or isinstance(text, bool) or not self.in_range(value):
            raise ValueError(f"must be {self.describe}, not {text!r}")
        return value

    def in_range(self, value):
        if not math.isfinite(value) or value > self.high:
            return False
        if self.or_zero and value == 0:
            return True
        return value > self.low if self.low_excluded else value >= self.low


def _whole(text):
    """``int()`` for text and whole numbers, refusing fractions such as 2.5."""
    if isinstance(text, float) and not text.is_integer():
        raise ValueError(text)
    return int(text)


port_number = Quantity("port", _whole, "a port number from 0 to 65535", 0, 65535)
count = Quantity("count", _whole, "a whole number from 1 to 1000000", 1, 10**6)
# Threads or processes started at once: a thousand is already a lot.
workers = Quantity("count", _whole, "a whole number from 1 to 1000", 1, 1000)
limit = Quantity("limit", _whole,
                 "a whole number from 0 to 1000000 (0: no limit)", 0, 10**6)
seconds = Quantity("seconds", float, f"from 0 to {DAY} seconds", 0, DAY)
positive_seconds = Quantity("seconds", float, f"more than 0 and at most {DAY} seconds",
                            0, DAY, low_excluded=True)
# The kernel counts a socket's timeout in microseconds; below a millisecond
# it is no timeout a person means.
timeout = Quantity("seconds", float,
                   f"0 (no limit) or from 0.001 to {DAY} seconds", 0.001, DAY,
                   or_zero=True)
milliseconds = Quantity("milliseconds", float,
                        "from 0 to 60000 milliseconds (one minute)", 0, 60000)
descriptor = Quantity("file descriptor", _whole,
                      "a file descriptor number from 0 to 65535", 0, 65535)

# Powers of 1024, as ls -h and dd understand K, M and G.
BYTE_SUFFIXES = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def _bytes(text):
    if isinstance(text, int):
        return text
    number = str(text).strip()
    suffix = number[-1:].upper() if number[-1:].upper() in BYTE_SUFFIXES else ""
    digits = number[:-1] if suffix else number
    if not digits.isdigit():
        raise ValueError(text)
    return int(digits) * BYTE_SUFFIXES[suffix]


byte_count = Quantity("byte count", _bytes,
                      "a number of bytes from 0 to 1024T, such as 1024, 512K, "
                      "10M or 2G", 0, 1 << 50)
