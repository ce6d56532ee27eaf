"""Checks for an upper server: every byte comes back, a-z upper-cased.

The course notes' server answers ``data.upper()``; on bytes that changes
the 26 ASCII letters and nothing else, so bytes that are not UTF-8 come
back as they went.
"""

from .streams import stream_checks

__all__ = ["CHECKS"]

CHECKS = stream_checks(bytes.upper)
