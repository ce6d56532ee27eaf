"""Checks for an echo server: every byte comes back unchanged (RFC 862)."""

from .streams import stream_checks

__all__ = ["CHECKS"]

CHECKS = stream_checks(lambda data: data)
