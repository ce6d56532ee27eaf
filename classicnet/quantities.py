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
"""

import math

__all__ = [
    "Quantity", "byte_count", "count", "limit", "milliseconds", "port_number",
    "positive_seconds", "seconds",
]


class Quantity:
    """A kind of number: how to read it, and the values that make sense.

    *convert* reads the text (``int``, ``float``); the value must be at
    least *low* (more than *low*, if *low_excluded*) and at most *high*.
    *describe* says the valid values in words, for the error message.
    """

    def __init__(self, name, convert, describe, low, high=math.inf, low_excluded=False):
        self.__name__ = name            # argparse names the type by it
        self.convert = convert
        self.describe = describe
        self.low, self.high, self.low_excluded = low, high, low_excluded

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
        return value > self.low if self.low_excluded else value >= self.low


def _whole(text):
    """``int()`` for text and whole numbers, refusing fractions such as 2.5."""
    if isinstance(text, float) and not text.is_integer():
        raise ValueError(text)
    return int(text)


port_number = Quantity("port", _whole, "a port number from 0 to 65535", 0, 65535)
count = Quantity("count", _whole, "a whole number of at least 1", 1)
limit = Quantity("limit", _whole, "a whole number, 0 or more (0: no limit)", 0)
seconds = Quantity("seconds", float, "0 or more seconds", 0)
positive_seconds = Quantity("seconds", float, "more than 0 seconds", 0,
                            low_excluded=True)
milliseconds = Quantity("milliseconds", float, "0 or more milliseconds", 0)

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
                      "a number of bytes such as 1024, 512K, 10M or 2G", 0)
