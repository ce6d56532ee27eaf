"""Whom a UDP service may answer: the rules that keep it from being a weapon.

UDP has no handshake, so the sender's address in a datagram is whatever
the sender wrote there.  An attacker can send a small request "from" a
victim's address and let the server send its answer to the victim: a
*reflection* attack.  Two rules keep a classicnet UDP service out of that
game (``docs/classics.md`` has the history and the numbers):

1. Never answer an empty datagram, and never answer with more bytes than
   the request had, unless the answer is a few bytes (daytime, time).
   Then the attacker gains nothing by reflecting off classicnet instead of
   sending straight to the victim.
2. Never answer a datagram that comes *from* the port of another classic
   service.  Two services that both answer every datagram (echo and
   chargen, say) would otherwise answer each other forever after one forged
   datagram: the "UDP port loop" of CERT advisory CA-1996-01.  BSD's inetd
   refuses such datagrams for the same reason.

``should_answer()`` checks both the empty datagram and the source port; each
UDP classic calls it first.
"""

from ..text import format_address

__all__ = ["CLASSIC_PORTS", "should_answer"]

# The well-known ports of the services that answer any datagram:
# echo, discard, daytime, qotd, chargen, time.
CLASSIC_PORTS = frozenset({7, 9, 13, 17, 19, 37})


def should_answer(data, client_address):
    """True when a datagram deserves an answer: it is not empty and does not
    come from a classic service's port (which would start a loop)."""
    return bool(data) and client_address[1] not in CLASSIC_PORTS


def refusal_reason(data, client_address):
    """Why ``should_answer()`` said no, in words for the server's log."""
    if not data:
        return f"empty datagram from {format_address(client_address)}"
    return (f"datagram from {format_address(client_address)}, the port of a "
            "classic service: answering could start a loop")
