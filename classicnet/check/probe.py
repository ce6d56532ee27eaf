"""A probe: where the server is, how long to wait, and every client a check opened.

Each check is given a fresh ``Probe``.  It is the only way a check reaches
the server: ``connect()`` asks the ``endpoints.Endpoint`` for a socket, so
traffic goes only to the address given, over whatever transport the
endpoint names, and a new transport needs no change in the checks.
"""

from ..endpoints import Endpoint
from .conversation import CannotConnect, Conversation, describe, socket_errors

__all__ = ["Probe"]


class Probe:
    """Where the server is and how long to wait: what every check is given.

    ``connect()`` opens a ``Conversation``; the probe remembers each one,
    so the report can show what every client of a check sent and received,
    and ``close_all()`` closes whatever a failed check left open.
    ``model_seen`` is set by the check that tells the models apart, which
    fails a plain server when ``needs_concurrency`` is true.
    """

    def __init__(self, endpoint, timeout, needs_concurrency=False):
        if not isinstance(endpoint, Endpoint):
            raise TypeError(f"expected an Endpoint, not {endpoint!r}")
        self.endpoint = endpoint
        self.timeout = timeout
        self.conversations = []
        self.needs_concurrency = needs_concurrency
        self.model_seen = None

    def connect(self):
        """A new ``Conversation`` with the server (a new client)."""
        where = f"cannot connect to {self.endpoint}"
        with socket_errors(CannotConnect(f"{where}: no answer within {self.timeout:g} s"),
                           lambda reason: CannotConnect(f"{where}: {reason}")):
            sock, _ = self.endpoint.connect(self.timeout)
        conversation = Conversation(sock, self.timeout)
        self.conversations.append(conversation)
        return conversation

    def close_all(self):
        for conversation in self.conversations:
            conversation.close()

    def transcript(self):
        """What each client sent and received, in one line."""
        parts = []
        many = len(self.conversations) > 1
        for number, conversation in enumerate(self.conversations, 1):
            who = f"client {number} " if many else ""
            parts.append(f"{who}sent {describe(conversation.sent)}, "
                         f"received {describe(conversation.received)}")
        return "; ".join(parts) or "no connection was made"
